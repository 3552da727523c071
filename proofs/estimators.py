"""``eqprop estimators``: every EP estimator of dJ/dtheta measured against the exact gradient.

For one model on the high-precision path (the stages of :func:`.problem.prepare`),
each estimator of :mod:`.ep_estimators` is evaluated over a range of its
parameter, measured against the implicit gradient (2.3) by :func:`.ep_estimators.errors`,
and its leading order fitted. Rows (:class:`~.report.Check`, each able to fail):

``EST.N1+`` / ``EST.N1-`` / ``EST.N2``
    the one-sided estimators (beta > 0, beta < 0) and the centered one: fitted
    order of the error in beta at least 1, 1 and 2 (to within 10%).
``EST.N<k>``
    the holomorphic estimator with k points on a circle of radius r: error
    falling like r^k (fitted order at least 0.9 k), on radii inside the
    estimated radius of beta -> s^beta.
(no row)
    the holomorphic estimator at the one radius r = R / 2 for N = 1, 2 and every
    checked N: its error against N, for the figure of :mod:`eqprop.figures.estimators`.
``EST.reach``
    the largest N's estimate at a small radius equals dJ/dtheta to the
    required digits: the discrete Cauchy integral reaches the working precision.
``EST.cs``
    the complex-step limit ``Im g(i h) / h`` equals dJ/dtheta.
``EST.trunc``
    truncated RBP (equal to early-stopped EP, Theorem 3): the fitted decay rate
    of its error in t equals the smallest eigenvalue of H that C_s and M excite
    (to 10%; an energy only).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass, field

import mpmath

from eqprop.numeric.highprec import ComputationBreakdown
from eqprop.numeric.integrate import BudgetExhausted, time_budget
from eqprop.symbolic.precision import working

from . import ep_estimators as est
from . import quantities as q
from .asymmetry import check as asymmetry_check
from .estimator_inputs import asymmetry_input, checked_points
from .estimator_report import EstimatorReport, Series
from .options import resolve
from .outcomes import Finding, Outcome
from .problem import prepare
from .report import Check, Verdict
from .theorem2 import fit_slope
from .verify import decide, as_model, Record, assumption_findings

__all__ = ["estimators", "check", "EstimatorReport", "DEFAULT_POINTS"]

#: The holomorphic estimators' numbers of points checked by default.
DEFAULT_POINTS = (4, 8, 16, 32)
#: Radii per fitted order, and the fraction of the radius the largest one takes (its error,
#: 0.7^N, stays measurable for N up to 64; the radius is good to a few per cent).
RADII, TOP = 5, mpmath.mpf("0.7")
#: Fewest decades an order is fitted over; fewer (too few digits for N points) is 'n/a'.
MIN_DECADES = mpmath.mpf("0.05")


def _order_row(P, id, xs, errs, order, floor_of):
    """A slope row: the error's fitted order in the parameter, at least ``order`` (to 10%).

    Points whose error lies below their rounding floor (``floor_of(x)``, relative to the
    gradient's size) are left out. Where every point is below it, the estimator is exact to
    the working precision (a readout linear in beta): consistent with any order, passed.
    Fewer than three points left otherwise, or parameters too close to fit a slope over,
    is 'n/a' (nothing to fit)."""
    if all(e <= 100 * floor_of(x) for x, e in zip(xs, errs)):
        return Check(id=id, equation="4.4", t=None, max_abs_error=0, scale=order,
                     digits=float(P.dps), required=1.0, kind="slope",
                     limit="the error is below the rounding at every point: the estimator is "
                           "exact here")
    pts = [(abs(x), e) for x, e in zip(xs, errs) if e > 100 * floor_of(x)]
    if len(pts) < 3 or mpmath.log10(max(x for x, _ in pts) / min(x for x, _ in pts)) < MIN_DECADES:
        return Check(id=id, equation="4.4", t=None, max_abs_error=0, scale=order, digits=0.0,
                     required=1.0, limit="too few points above the rounding to fit an order "
                     "(raise --dps, or fewer --points)", kind="slope", testable=False)
    # O(x^order) is an upper bound: a vanishing leading coefficient (a symmetric model) gives
    # a steeper slope, never a shallower one
    slope = fit_slope(*zip(*pts))
    dev = max(mpmath.mpf(0), order - slope)
    digits = float(min(P.dps, -mpmath.log10(dev / order))) if dev else float(P.dps)
    return Check(id=id, equation="4.4", t=None, max_abs_error=dev, scale=order, digits=digits,
                 required=1.0, lhs=slope, rhs=order, kind="slope",
                 limit=f"fitted order {mpmath.nstr(slope, 4)} (at least {order} expected) over "
                       f"{mpmath.nstr(pts[0][0], 2)}..{mpmath.nstr(pts[-1][0], 2)}")


@dataclass
class _Sides:
    """What the rows share while they are built: the problem, the exact gradient, its norm,
    each estimate's rounding floor, the estimator side, and the rows and series so far."""

    P: object
    exact: list
    norm: object
    floor_of: object
    holomorphic: object
    rows: list = field(default_factory=list)
    series: list = field(default_factory=list)
    radius: object = None   # ep_estimators.Radius, where complex nudges apply

    def errors(self, values):
        """Each estimate's largest error, relative to the gradient's scale."""
        return [max(abs(mpmath.re(x) - y) for x, y in zip(v, self.exact)) / self.norm
                for v in values]

    def measure(self, id, name, parameter, xs, N, order, fixed=None):
        """The estimates at ``xs``, their series and their order row."""
        values = [self.holomorphic(self.P, x, N) for x in xs]
        self.series.append(Series(name, parameter, [(x, v, est.errors(v, self.exact))
                                                    for x, v in zip(xs, values)],
                                  row=id, fixed=fixed or {"N": N}))
        self.rows.append(_order_row(self.P, id, xs, self.errors(values), order, self.floor_of))


def _finite_beta(sides):
    """One-sided (both signs) and centered, on the betas of the bias rows (4.4)."""
    betas = sides.P.betas
    sides.measure("EST.N1+", "one-sided, beta > 0", "beta", betas, 1, 1)
    sides.measure("EST.N1-", "one-sided, beta < 0", "beta", [-b for b in betas], 1, 1)
    sides.measure("EST.N2", "centered", "beta", betas, 2, 2)


def _radii(P, N, R):
    """RADII radii from TOP times the radius R down over as many decades as the working
    digits let (r/R)^N stay above the rounding (at most one; at least :data:`MIN_DECADES`,
    else the row says there are too few digits)."""
    decades = min(mpmath.mpf(1), (P.working_dps - 15) / mpmath.mpf(N) + mpmath.log10(TOP))
    decades = max(decades, MIN_DECADES / 2)
    return [TOP * R * mpmath.mpf(10) ** (-decades * k / (RADII - 1)) for k in range(RADII)]


def _circle(sides, N, R):
    """The N-point estimator on radii inside the radius R: error O(r^N)."""
    sides.measure(f"EST.N{N}", f"holomorphic, N = {N}", "r", _radii(sides.P, N, R), N, N,
                  fixed={"N": N, "R": R})


def _against_points(sides, R, points):
    """The N-point estimator at the one radius r = R / 2, for N = 1, 2 and ``points``: its
    error against N (falling like 2^-N until the rounding; no row: the EST.N rows fit the
    orders). A nudge whose fixed point cannot be solved leaves its N out."""
    r, shown = R / 2, []
    for N in (1, 2) + tuple(points):
        try:
            value = sides.holomorphic(sides.P, r, N)
        except BudgetExhausted:
            raise
        except ComputationBreakdown:
            continue
        shown.append((mpmath.mpf(N), value, est.errors(value, sides.exact)))
    sides.series.append(Series(f"holomorphic at r = 0.5 R, N = 1..{max(points)}", "N", shown,
                               fixed={"r": r, "R": R}))


def _reach(sides, scale, N, R):
    """The N-point estimate at a radius where (r/R)^N is below the reported digits, computed
    with the digits that the division by N r costs added (about (dps + 5) / N)."""
    P = sides.P
    lost = int(mpmath.ceil((P.dps + 5) / mpmath.mpf(N)))
    r = R * TOP * mpmath.mpf(10) ** -lost
    with working(P.working_dps + lost + 2):
        value = [+mpmath.re(x) for x in sides.holomorphic(P, r, N)]
    return P.compare("EST.reach", "4.4", None, value, sides.exact, scale=scale,
                     limit=P.limit_precision, sides=(f"holomorphic estimator, N = {N}, r = "
                                                     f"{mpmath.nstr(r, 3)}", "implicit gradient"))


#: The break row's number of points (at least): many points make the break sharp.
BREAK_POINTS = 32
#: Where the break row samples r / R: the power law's fit, just inside, and just beyond.
BREAK_FIT, BREAK_INSIDE, BREAK_OUTSIDE = ("0.5", "0.6", "0.7", "0.8"), "0.9", "1.2"


def _break(sides, R, N):
    """EST.break: the N-point estimator follows its law C (r/R)^N up to the radius R and
    departs from it beyond. C is fitted on r/R = 0.5..0.8; at 0.9 R the error must be within
    a factor 3 of the law; at 1.2 R it must have left it: below half the law, or an estimate
    with no digit left (relative error above 1/2). The radius is an estimate
    (:func:`~.ep_radius.radius`, within 0.2% of the fold on the examples); one 20% too
    large puts 0.9 R beyond the true radius, one 20% too small puts 1.2 R inside it, and the
    row fails. Where the nudged fixed points cannot be solved at 1.2 R the row is 'n/a': a
    Newton that fails there is no evidence of where g stops being analytic."""
    P = sides.P
    fracs = [mpmath.mpf(f) for f in BREAK_FIT + (BREAK_INSIDE, BREAK_OUTSIDE)]
    errs, shown = [], []
    for f in fracs:
        try:
            value = sides.holomorphic(P, f * R, N)
        except BudgetExhausted:
            raise
        except ComputationBreakdown:
            value = None
        errs.append(None if value is None else (sides.errors([value])[0],
                                                est.errors(value, sides.exact).relative))
        if value is not None:
            shown.append((f * R, value, est.errors(value, sides.exact)))
    sides.series.append(Series(f"holomorphic, N = {N}, across the radius R = "
                               f"{mpmath.nstr(R, 4)}", "r", shown, row="EST.break",
                               fixed={"N": N, "R": R}))
    fit = [(f, e[0]) for f, e in zip(fracs[:4], errs[:4]) if e and e[0]]
    if len(fit) < 3 or not errs[4] or errs[5] is None:
        sides.rows.append(Check(id="EST.break", equation="4.4", t=None, max_abs_error=0,
                                scale=1, digits=0.0, required=1.0, kind="slope", testable=False,
                                limit="the estimator could not be evaluated at every radius "
                                      "(inside, or at 1.2 R)"))
        return
    C = mpmath.exp(mpmath.fsum(mpmath.log(e / f ** N) for f, e in fit) / len(fit))
    inside = errs[4][0] / (C * fracs[4] ** N)
    outside = errs[5][0] / (C * fracs[5] ** N)
    lost = errs[5][1] > mpmath.mpf(1) / 2
    holds = mpmath.mpf(1) / 3 <= inside <= 3 and (outside < mpmath.mpf(1) / 2 or lost)
    sides.rows.append(Check(
        id="EST.break", equation="4.4", t=None, max_abs_error=0 if holds else 1, scale=1,
        digits=float(P.dps) if holds else 0.0, required=1.0, lhs=inside, rhs=outside,
        kind="slope", limit=f"error / C (r/R)^{N}: {mpmath.nstr(inside, 3)} at 0.9 R (1 expected), "
                            f"{mpmath.nstr(outside, 3)} at 1.2 R (below 1/2 expected, or no digit "
                            f"left), R = {mpmath.nstr(R, 5)}"))


def _truncated(sides, truncated, rate_of):
    """Truncated RBP (= early-stopped EP, Theorem 3) out to where its error has fallen by
    10^-(dps/2); the fitted decay rate against the slowest mode C_s and M excite."""
    P = sides.P
    rate = rate_of(P)
    if rate is None or not rate > 0:  # a vector field, or nothing excited
        return
    end = mpmath.log(mpmath.mpf(10)) * (P.dps / 2) / rate
    times = [end * k / 8 for k in range(1, 9)]
    values = truncated(P, times)
    sides.series.append(Series("truncated RBP = early-stopped EP", "t",
                               [(t, v, est.errors(v, sides.exact)) for t, v in zip(times, values)],
                               row="EST.trunc"))
    pts = [(t, mpmath.log(e)) for t, e in zip(times, sides.errors(values))
           if e > mpmath.mpf(10) ** -(P.dps - 2)]
    if len(pts) < 3:
        sides.rows.append(Check(id="EST.trunc", equation="3.8, 5.5", t=None, max_abs_error=0,
                                scale=rate, digits=0.0, required=1.0, kind="slope",
                                testable=False, limit="truncation's error is below the rounding: "
                                "nothing to fit"))
        return
    (t0, l0), (t1, l1) = pts[-2], pts[-1]  # the slowest mode dominates at the last times
    fitted = -(l1 - l0) / (t1 - t0)
    dev = abs(fitted - rate) / rate
    digits = float(min(P.dps, -mpmath.log10(dev))) if dev else float(P.dps)
    sides.rows.append(Check(
        id="EST.trunc", equation="3.8, 5.5", t=None, max_abs_error=dev, scale=rate,
        digits=digits, required=1.0, lhs=fitted, rhs=rate, kind="slope",
        limit=f"fitted decay rate {mpmath.nstr(fitted, 4)} against lambda = "
              f"{mpmath.nstr(rate, 4)} (the slowest mode C_s and M excite)"))


def check(P, points=DEFAULT_POINTS, *, exact=q.implicit_gradient, holomorphic=None,
          complex_step=est.complex_step, truncated=est.truncated, rate=est.truncation_rate,
          radius=est.radius):
    """Every estimator and row on a prepared problem: ``(series, rows)``.

    Each side can be replaced, as in the theorem modules: ``exact`` (dJ/dtheta),
    ``holomorphic(P, r, N)`` (every nudged estimator, N = 1 and 2 included; by default
    :func:`~.ep_estimators.holomorphic` with one :class:`~.ep_estimators.Nudges` for every
    row, so that a nudge two rows share is solved once),
    ``complex_step(P)``, ``truncated(P, times)`` and ``rate(P)`` (truncation's
    predicted decay rate); the mutation tests hand a corrupted one in and watch
    its row fail.
    """
    with P.precision.working():
        g = exact(P)
        scale = q.gradient_scale(P)
        norm = max(scale + [mpmath.mpf(10) ** -P.working_dps])
        base = q.ep_readout(P, P.s0, 0)
        state_terms = max([abs(x) for x in P.M] + [mpmath.mpf(0)]) * \
            max([abs(x) for x in P.s0] + [mpmath.mpf(0)])
        e_scale = max([state_terms] + [abs(v) for v in base]) or norm
        rounding = mpmath.mpf(10) ** -P.working_dps * e_scale / norm
        if holomorphic is None:
            holomorphic = functools.partial(est.holomorphic, nudges=est.Nudges(P))
        sides = _Sides(P, g, norm, lambda x: rounding / abs(x), holomorphic)
        _finite_beta(sides)
        if P.holomorphic and points:
            found = radius(P)
            R = found.value if mpmath.isfinite(found.value) else P.beta_radius
            sides.radius = found
            for N in points:
                _circle(sides, N, R)
            _against_points(sides, R, points)
            sides.rows.append(_reach(sides, scale, max(points), R))
            if mpmath.isfinite(found.value):
                _break(sides, found.value, max(BREAK_POINTS, max(points)))
            cs = complex_step(P)
            sides.rows.append(P.compare("EST.cs", "4.4", None, cs, g, scale=scale,
                                        limit=P.limit_precision,
                                        sides=("Im g(i h) / h", "implicit gradient")))
            sides.series.append(Series("complex step", "h", [(P.h, cs, est.errors(cs, g))],
                                       row="EST.cs"))
        _truncated(sides, truncated, rate)
        return sides.series, sides.rows, sides.radius


def estimators(model=None, *, dps=30, points=DEFAULT_POINTS, engine=None, seed=None,
               time_limit=None, initial_state=None, asymmetry=None,
               alpha_max="1e-2") -> EstimatorReport:
    """Every EP estimator of dJ/dtheta on ``model``, against the exact gradient (2.3).

    Parameters
    ----------
    model : Model, ArrayModel, str or None
        As for :func:`eqprop.verify` (``None``: the paper's example).
    dps : int
        Digits the rows are measured at (computation: 10 more).
    points : sequence of int
        The holomorphic estimators' numbers of points on the circle, each 3 to
        :data:`~.ep_estimators.MAX_POINTS` (the one-sided and centered
        estimators, N = 1 and 2, always run).
    engine, seed, time_limit, initial_state
        As for :func:`eqprop.verify`; engine 'auto' (the default) is gbs here: no
        estimator integrates a flow, and compiling heyoka's integrator would cost
        more than a second on the paper's network for nothing.
    asymmetry : str, optional
        A vector-field model's data value that makes the field asymmetric (0: a
        gradient field): EP's gradient against the true one at strengths from
        ``alpha_max`` down over three decades, the fitted order of their
        difference and its first-order formula (:mod:`.asymmetry`).

    Returns
    -------
    EstimatorReport
        Per estimator, its estimates and errors over its parameter; the rows;
        a verdict ('verified' when every row holds).
    """
    started = time.perf_counter()
    points = checked_points(points)
    model = as_model(model)
    if asymmetry is not None:
        asymmetry_input(model, asymmetry, alpha_max)
    opts = resolve(model, dps=dps, engine=engine, seed=seed, time_limit=time_limit,
                   initial_state=initial_state, times=[0, 1])
    if opts.engine == "auto":  # no estimator integrates a flow: heyoka's compile buys nothing
        opts = dataclasses.replace(opts, engine="gbs")
    notes = []
    with time_budget(opts.time_limit):
        try:
            P, assumptions, notes = prepare(model, opts)
        except BudgetExhausted as exc:
            P, assumptions, notes = None, [], [f"incomplete: the free phase stopped: {exc}"]
        series, rows, findings = [], [], assumption_findings(assumptions, rows_ran=P is not None)
        exact, found = [], None
        if P is None:
            findings.append(Finding(Outcome.MISSING, "the estimators did not run"))
        else:
            try:
                series, rows, found = check(P, points)
                with P.precision.working():
                    exact = q.implicit_gradient(P)
                if asymmetry is not None:
                    asym, asym_rows = asymmetry_check(model, asymmetry, opts, alpha_max=alpha_max)
                    series.append(Series(f"EP against the true gradient, field asymmetric by "
                                         f"{asymmetry}", asymmetry, asym.points,
                                         row="ASYM.order"))
                    rows += asym_rows
            except (BudgetExhausted, ComputationBreakdown) as exc:
                notes.append(f"incomplete: the estimators stopped: {exc}")
                findings.append(Finding(Outcome.MISSING, str(exc)))
        findings += [Finding(c.outcome, c.id) for c in rows]
        pending = [Finding(Outcome.MISSING, f"{c.id}: {c.limit}") for c in rows if not c.testable]
    record = Record(notes)
    verdict = decide(findings, record, pending=pending)
    notes = record.notes
    return EstimatorReport(model=model.name, dps=opts.dps, exact=exact, radius=found,
                           series=series, checks=rows, assumptions=assumptions, verdict=verdict,
                           notes=list(notes), seconds=time.perf_counter() - started)
