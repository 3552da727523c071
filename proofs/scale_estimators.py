"""``eqprop scale --estimators``: EP's estimators of dJ/dtheta at realistic size, each against
the exact gradient, with the radius of beta -> s^beta per example.

The stages of :func:`~.scale.scale` up to the hypotheses (arguments, network,
free phase, hypotheses at s0), then the family of :mod:`.scale_nudges` on the
batch, in float64. Rows (:class:`~.report.Check`, each able to fail), as at
high precision (:mod:`.estimators`):

``EST.N1+`` / ``EST.N1-`` / ``EST.N2`` / ``EST.N<k>``
    one-sided (beta > 0, beta < 0), centered, and k nudges on a circle: the
    fitted order of the relative error in beta or r at least 1, 1, 2, k (to
    10%), over five radii inside the radius, points at float64's rounding left out.
``EST.reach``
    the largest N's estimate where (r/R)^N is below 1e-14 equals dJ/dtheta to
    float64's rounding (as amplified by the division by N r).
``EST.break``
    the N = 32 estimator follows C (r/R)^32 to 0.9 R and no longer grows so
    between 1.1 R and 1.2 R, R the batch's radius (:mod:`.scale_radius`).
``EST.cs``
    ``Im g(i h) / h`` (h = 1e-8, Newton from s0) against dJ/dtheta, to 1e-12.
``EST.trunc``
    truncated RBP (= early-stopped EP, Theorem 3) after K Euler steps, at time
    t = K eps: the error's fitted decay rate in t against ``-ln(max |1 - eps
    lambda|) / eps`` over the Ritz values of every example (to 10%).
"""

from __future__ import annotations

import math
import time

import numpy as np

from eqprop.errors import EqpropError

from . import scale as stages
from . import scale_nudges as nudged
from .estimator_report import Series
from .estimator_inputs import checked_points as _points
from .report import Check
from .scale_arguments import MAX_FLOPS, MAX_MEMORY
from .scale_estimator_report import ScaleEstimatorReport
from .scale_gradients import implicit_gradient
from .scale_radius import RadiusAtScale
from .scale_radius import radius as find_radius

__all__ = ["scale_estimators", "check", "DEFAULT_POINTS"]

#: The holomorphic estimators' numbers of points by default.
DEFAULT_POINTS = (4, 8, 16, 32)
#: Radii per order row; the largest is at most TOP times the radius.
RADII, TOP = 5, 0.85
#: The size of (r/R)^N at an order row's largest radius, at most (where TOP allows).
ASYMPTOTIC = 0.05
#: The smallest relative error an order row aims for at its smallest radius.
AIM = 1e-10
#: Fewest decades an order is fitted over.
MIN_DECADES = 0.05
#: EST.cs and EST.reach: relative agreement with dJ/dtheta expected of float64.
ROUNDING = 1e-12
#: EST.reach is 'n/a' where float64's rounding over N r is above this.
REACH_LIMIT = 1e-6
#: The break row's points and where it samples r / R.
BREAK_POINTS = 32
BREAK_FIT, BREAK_INSIDE, BREAK_OUTSIDE = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85), 0.9, (1.1, 1.2)
#: Halvings of a continuation step at the break row's points beyond the radius.
OUTSIDE_HALVINGS = 4
#: Truncated RBP runs at most this many steps.
MAX_TRUNCATION_STEPS = 20000
EPS64 = 2.0 ** -53


def _slope_check(id, equation, slope, order, limit):
    dev = max(0.0, order - slope)
    digits = min(16.0, -math.log10(dev / order)) if dev else 16.0
    return Check(id=id, equation=equation, t=None, max_abs_error=dev, scale=order, digits=digits,
                 required=1.0, lhs=slope, rhs=order, kind="slope", limit=limit)


def _untestable(id, equation, why):
    return Check(id=id, equation=equation, t=None, max_abs_error=0, scale=1, digits=0.0,
                 required=1.0, kind="slope", testable=False, limit=why)


class _Sides:
    """What the rows share: the nudges, dJ/dtheta, each estimate's rounding floor, the
    estimator side (replaceable), and the rows and series so far."""

    def __init__(self, nudges, exact, holomorphic, say=None):
        self.nudges, self.exact, self.holomorphic = nudges, exact, holomorphic
        self.say = say or (lambda msg: None)
        norm = float(np.linalg.norm(nudged._flat(exact)))
        self.norm = norm
        terms = float(np.linalg.norm(nudged._flat(nudges.g0))) + norm
        self.rounding = 10 * EPS64 * terms / norm if norm else math.inf
        self.rows, self.series = [], []

    def floor(self, x):
        """The relative error that float64's rounding explains at nudge size x."""
        return self.rounding / abs(x)

    def measure(self, id, name, parameter, xs, N, order):
        self.say(f"estimators: {name}, {len(xs)} values of {parameter}")
        kept, values = [], []
        for x in xs:
            try:
                values.append(self.holomorphic(self.nudges, x, N))
                kept.append(x)
            except nudged.NoNudgedFixedPoint:  # beyond the radius: that point is left out
                pass
        errs = [nudged.errors(v, self.exact) for v in values]
        self.series.append(Series(name, parameter, list(zip(kept, values, errs)), row=id))
        self.rows.append(self._order(id, kept, [e.relative for e in errs], order))

    def _order(self, id, xs, errs, order):
        pts = [(abs(x), e) for x, e in zip(xs, errs) if e > 100 * self.floor(x)]
        if xs and all(e <= 100 * self.floor(x) for x, e in zip(xs, errs)):
            # float64 cannot tell an exact estimator from radii too small to show its error
            return _untestable(id, "4.4", "the error is at float64's rounding at every radius: "
                                          "nothing to fit (radii too small, or the estimator "
                                          "exact here)")
        if len(pts) < 3 or math.log10(max(pts)[0] / min(pts)[0]) < MIN_DECADES:
            return _untestable(id, "4.4", f"{len(pts)} of {len(xs)} radii with a nudged fixed "
                               "point and an error above float64's rounding: too few to fit an "
                               "order (a radius nearer the true one, or a smaller N)")
        x, e = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
        slope = float(np.polyfit(x, e, 1)[0])
        return _slope_check(id, "4.4", slope, order,
                            f"fitted order {slope:.4g} (at least {order} expected) over "
                            f"{pts[0][0]:.2g}..{pts[-1][0]:.2g}")


def _radii(N, R):
    """RADII radii from ``top R`` down to where C (r/R)^N reaches :data:`AIM` (at most 2
    decades). ``top`` = min(TOP, ASYMPTOTIC^(1/N)): the next term of the error, a_(2N+1)
    r^(2N), is about (r/R)^N of the leading one, and a fit of the order wants it small (for
    N = 1 at 0.7 R it would bend the slope by a tenth)."""
    top = min(TOP, ASYMPTOTIC ** (1 / N))
    decades = min(2.0, max(MIN_DECADES, math.log10(1 / AIM) / N + math.log10(top)))
    return [top * R * 10 ** (-decades * k / (RADII - 1)) for k in range(RADII)]


def _reach(sides, N, R):
    """EST.reach: the N-point estimate at r = R 10^(-14/N), against dJ/dtheta; 'n/a' where
    float64's rounding over N r exceeds :data:`REACH_LIMIT` (a radius too small for float64)
    or the nudges cannot be solved."""
    r = R * 10 ** (-14 / N)
    bound = max(ROUNDING, 10 * sides.floor(r))
    if bound > REACH_LIMIT:
        sides.rows.append(_untestable("EST.reach", "4.4", f"at r = {r:.3g} float64's rounding "
                                      f"over N r is {bound:.1e}: the radius is too small for "
                                      "float64 to show the working precision"))
        return
    try:
        rel = nudged.errors(sides.holomorphic(sides.nudges, r, N), sides.exact).relative
    except nudged.NoNudgedFixedPoint as exc:
        sides.rows.append(_untestable("EST.reach", "4.4", str(exc)))
        return
    digits = min(16.0, -math.log10(rel)) if rel else 16.0
    sides.rows.append(Check(
        id="EST.reach", equation="4.4", t=None, max_abs_error=rel, scale=1.0, digits=digits,
        required=-math.log10(bound), lhs=rel, rhs=bound, sides=(
            f"holomorphic estimator, N = {N}, r = {r:.3g}", "implicit gradient"),
        limit=f"relative error {rel:.2e} at r = {r:.3g} (float64's rounding over N r: {bound:.1e})"))


def _break(sides, R, N):
    """EST.break: the N-point estimator follows its law C (r/R)^N up to the radius R and
    departs from it beyond. C is fitted on the points of r/R = 0.6..0.85 above float64's
    floor (at least three; (r/R)^32 spans 1e-7..5e-3 there), each point within a factor 3
    of the fit; at 0.9 R the error must be within a factor 3 of the law. Beyond: at 1.1 R the continuation from
    beta = 0 along the circle (steps down to 1/16) loses the nudged fixed point of some
    example, or, where it does not, the growth of the error from 1.1 R to 1.2 R differs
    from the law's (1.2/1.1)^N (about 16 for N = 32) by more than a factor 3 either way
    (beyond R the discrete Cauchy sum no longer converges to g'(0): its error levels off,
    or jumps where the circle passes the singularity). A radius more than about 11% too
    large puts 0.9 R beyond the true one; one more than about 17% too small puts 1.1 R and
    1.2 R on the power law, with every nudged fixed point found; the row fails for both
    (within that band it passes: docs/MATH.md section 10). 'n/a' where a point inside cannot
    be solved."""
    errs, shown = [], []
    for f in BREAK_FIT + (BREAK_INSIDE,):
        try:
            value = sides.holomorphic(sides.nudges, f * R, N)
        except nudged.NoNudgedFixedPoint:
            errs.append(None)
            continue
        e = nudged.errors(value, sides.exact)
        errs.append(e.relative)
        shown.append((f * R, value, e))
    lost, beyond = _beyond(sides, R, N, shown)
    sides.series.append(Series(f"holomorphic, N = {N}, across the radius R = {R:.4g}", "r", shown,
                               row="EST.break", fixed={"N": N, "R": R}))
    fit = [(f, e) for f, e in zip(BREAK_FIT, errs[:-1]) if e and e > 100 * sides.floor(f * R)]
    if len(fit) < 3 or errs[-1] is None:
        sides.rows.append(_untestable("EST.break", "4.4", "the estimator could not be evaluated "
                                      "at every radius inside (0.6..0.9 R), or its error is at "
                                      "the rounding at all but two of 0.6..0.85 R"))
        return
    C = math.exp(sum(math.log(e / f ** N) for f, e in fit) / len(fit))
    off = max(abs(math.log(e / (C * f ** N))) for f, e in fit)  # the fit itself: a power law?
    inside = errs[-1] / (C * BREAK_INSIDE ** N)
    law = (BREAK_OUTSIDE[1] / BREAK_OUTSIDE[0]) ** N
    growth = beyond[1] / beyond[0] / law if not lost and beyond[0] else None
    departed = lost or growth is not None and not 1 / 3 <= growth <= 3
    holds = off <= math.log(3) and 1 / 3 <= inside <= 3 and departed
    there = (f"the continuation lost {lost} example(s) at 1.1 R" if lost else
             f"growth from 1.1 R to 1.2 R over the law's {law:.3g}: {growth:.3g} (outside 1/3..3 "
             "expected)" if growth is not None else "no error at 1.1 R to compare")
    sides.rows.append(Check(
        id="EST.break", equation="4.4", t=None, max_abs_error=0 if holds else 1, scale=1,
        digits=16.0 if holds else 0.0, required=1.0, lhs=inside, rhs=growth, kind="slope",
        limit=f"error / C (r/R)^{N}: within {math.exp(off):.3g}x on {len(fit)} radii in 0.6..0.85 R, "
              f"{inside:.3g} at "
              f"0.9 R (1 expected, within 3x); {there}; R = {R:.5g}"))


def _beyond(sides, R, N, shown):
    """The errors at 1.1 R and 1.2 R, or the number of examples the continuation lost at
    1.1 R (then 1.2 R is not tried): ``(lost, [err 1.1 R, err 1.2 R])``."""
    errs = []
    for f in BREAK_OUTSIDE:
        states, worst = sides.nudges.half_circle(f * R, N, strict=False,
                                                 halvings=OUTSIDE_HALVINGS)
        lost = int(np.sum(~(worst <= nudged.CONVERGED)))
        if lost:
            return lost, errs
        value = sides.holomorphic(sides.nudges, f * R, N, halvings=OUTSIDE_HALVINGS)
        e = nudged.errors(value, sides.exact)
        errs.append(e.relative)
        shown.append((f * R, value, e))
    return 0, errs


def _truncation(sides, eps, hyp, truncated):
    """EST.trunc: truncated RBP's error per step against the slowest contraction."""
    per = hyp["per_example"]
    lo, hi = np.asarray(per["lambda_min"], float), np.asarray(per["lambda_max"], float)
    rho = float(np.max(np.maximum(np.abs(1 - eps * lo), np.abs(1 - eps * hi)))) if lo.size else 1
    if not 0 < rho < 1:
        sides.rows.append(_untestable("EST.trunc", "3.8, 5.5", f"RBP does not contract (max |1 - "
                                      f"eps lambda| = {rho:.4g}): nothing to fit"))
        return
    end = min(MAX_TRUNCATION_STEPS, int(math.ceil(10 * math.log(10) / -math.log(rho))))
    steps = sorted({max(1, end * j // 8) for j in range(1, 9)})
    values = truncated(sides.nudges, eps, steps)
    errs = [nudged.errors(v, sides.exact) for v in values]
    sides.series.append(Series("truncated RBP = early-stopped EP (t = steps x eps)", "t",
                               [(k * eps, v, e) for k, v, e in zip(steps, values, errs)],
                               row="EST.trunc", fixed={"eps": eps}))
    pts = [(k, math.log(e.relative)) for k, e in zip(steps, errs) if e.relative > 1e-12]
    if len(pts) < 2:
        sides.rows.append(_untestable("EST.trunc", "3.8, 5.5", "truncation's error is at the "
                                      "rounding: nothing to fit"))
        return
    (k0, l0), (k1, l1) = pts[-2], pts[-1]  # the slowest mode dominates at the last steps
    fitted, rate = -(l1 - l0) / (k1 - k0) / eps, -math.log(rho) / eps  # per unit time
    dev = abs(fitted - rate) / rate
    sides.rows.append(Check(
        id="EST.trunc", equation="3.8, 5.5", t=None, max_abs_error=dev, scale=rate,
        digits=min(16.0, -math.log10(dev)) if dev else 16.0, required=1.0, lhs=fitted, rhs=rate,
        kind="slope", limit=f"fitted decay rate {fitted:.4g} in t against -ln(max|1 - eps "
                            f"lambda|) / eps = {rate:.4g} (Lanczos' Ritz values, every example)"))


def _against_n(sides, points, R):
    """The error against N at r = R/2, N = 1, 2 and each of ``points`` (no row: the orders
    are the order rows'; this is the figure's series)."""
    r = R / 2
    shown = []
    for N in (1, 2, *points):
        try:
            value = sides.holomorphic(sides.nudges, r, N)
        except nudged.NoNudgedFixedPoint:
            continue
        shown.append((N, value, nudged.errors(value, sides.exact)))
    sides.series.append(Series(f"holomorphic at r = R/2 = {r:.4g}, N = 1..{max(points)}", "N",
                               shown, fixed={"r": r, "R": R}))


def check(nudges, hyp, eps, points=DEFAULT_POINTS, *, radius=True, exact=None,
          holomorphic=nudged.holomorphic, complex_step=nudged.complex_step,
          truncated=nudged.truncated, say=None):
    """Every estimator and row at the free fixed point of ``nudges``: ``(series, rows,
    radius)``. ``radius``: True (search it), a number (the radius to take the rows' radii
    from, no search and no break row) or a :class:`~.scale_radius.RadiusAtScale` found
    before. Each side can be replaced (the
    mutation tests hand a corrupted one in)."""
    g = exact if exact is not None else implicit_gradient(nudges.net, nudges.s0)
    sides = _Sides(nudges, g, holomorphic, say)
    if not sides.norm:
        return [], [_untestable("EST", "4.4", "dJ/dtheta is exactly zero here: nothing to "
                                "compare")], None
    if radius is True:
        sides.say("estimators: the radius of beta -> s^beta, per example (circles of 64 nudges)")
        found = find_radius(nudges)
    else:
        found = radius if isinstance(radius, RadiusAtScale) else None
    if found is not None:
        R = found.value if math.isfinite(found.value) else \
            float(np.nanmin(found.circles)) / TOP if np.isfinite(found.circles).any() else 0.1
    else:  # the caller's radius, taken as it is
        R = _given_radius(radius)
    sides.measure("EST.N1+", "one-sided, beta > 0", "beta", _radii(1, R), 1, 1)
    sides.measure("EST.N1-", "one-sided, beta < 0", "beta", [-x for x in _radii(1, R)], 1, 1)
    sides.measure("EST.N2", "centered", "beta", _radii(2, R), 2, 2)
    for N in points:
        sides.measure(f"EST.N{N}", f"holomorphic, N = {N}", "r", _radii(N, R), N, N)
    if points:
        _reach(sides, max(points), R)
        _against_n(sides, points, R)
    if found is not None and found.below:
        sides.rows.append(_untestable("EST.break", "4.4", f"the radius of example(s) "
                                      f"{found.below[:5]} is below {found.value:.2g} (no circle "
                                      "of nudges held down to it): not located"))
    elif found is not None and math.isfinite(found.value):
        sides.say("estimators: N = 32 across the radius")
        _break(sides, found.value, max(BREAK_POINTS, *points))
    _complex_step(sides, complex_step, R)
    sides.say("estimators: truncated RBP")
    _truncation(sides, eps, hyp, truncated)
    return sides.series, sides.rows, found


def _complex_step(sides, complex_step, R):
    """EST.cs: ``Im g(i h) / h`` with h = 1e-8 min(1, R) (its error O((h/R)^2))."""
    h = nudged.COMPLEX_STEP * min(1.0, R)
    try:
        cs = complex_step(sides.nudges, h)
    except nudged.NoNudgedFixedPoint as exc:
        sides.rows.append(_untestable("EST.cs", "4.4", str(exc)))
        return
    g = sides.exact
    e = nudged.errors(cs, g)
    sides.rows.append(Check(id="EST.cs", equation="4.4", t=None, max_abs_error=e.relative,
                            scale=1.0, digits=min(16.0, -math.log10(e.relative)) if e.relative
                            else 16.0, required=-math.log10(ROUNDING), lhs=e.relative,
                            rhs=ROUNDING, sides=("Im g(i h) / h", "implicit gradient"),
                            limit=f"relative error {e.relative:.2e} (float64: {ROUNDING:g})"))
    sides.series.append(Series("complex step", "h", [(h, cs, e)]))


def scale_estimators(model=(10, 512, 512, 784), *, points=DEFAULT_POINTS, radius=None,
                     batch=None, data="random", rho="sigmoid", cost="squared", eps=None,
                     seed=None, init=None, dims=None, backend="numpy", device=None,
                     progress=None, max_memory=MAX_MEMORY, max_flops=MAX_FLOPS):
    """EP's estimators of dJ/dtheta on ``model`` at realistic size; a
    :class:`~.scale_estimator_report.ScaleEstimatorReport`.

    ``model``, ``batch``, ``data``, ``rho``, ``cost``, ``eps``, ``seed``,
    ``init``, ``dims``, ``backend``, ``device``: as for :func:`~.scale.scale`.
    ``points``: the holomorphic estimators' numbers of nudges, each 3 to 64
    (N = 1 and 2 always run). ``radius``: None (default) finds the radius of
    beta -> s^beta per example (the rows' radii are fractions of it, and
    EST.break tests it); a number is taken as the radius instead (no search, no
    break row: the search costs hundreds of nudged fixed points at scale).
    """
    points = _points(points)
    if radius is not None:
        _given_radius(radius)
    args = stages.arguments(model, batch=batch, data=data, rho=rho, eps=eps, steps=None, h=1e-20,
                            beta=None, seed=seed, cost=cost, continuous=False, asymmetry=0.0,
                            init=init, plain_layers=(), biases=False, dims=dims, backend=backend,
                            device=device, progress=progress, max_memory=max_memory,
                            max_flops=max_flops)
    built = stages.build_network(args)
    with np.errstate(all="ignore"):
        fixed = stages.free_fixed_points(built)
        checked = stages.hypotheses(fixed)
        t = time.perf_counter()
        nudges = nudged.Nudges(built.net, fixed.s0)
        series, rows, found = check(nudges, checked.checks, args.eps, points,
                                    radius=True if radius is None else radius,
                                    say=args.say)
    m = args.model
    seconds = {"model": built.seconds, "free phase": fixed.seconds,
               "hypotheses": checked.seconds, "estimators": time.perf_counter() - t,
               "total": time.perf_counter() - args.started}
    return ScaleEstimatorReport(model=m.name, dims=dict(m.dims), batch=args.batch, data=args.data,
                                eps=args.eps, n_state=m.n_state, n_params=m.n_params,
                                series=series, checks=rows, radius=found,
                                hypotheses=checked.checks, solved=nudges.solved, seconds=seconds)


def _given_radius(radius):
    """A radius given by the caller, checked (bad input is an EqpropError, one line)."""
    try:
        R = float(radius)
    except (TypeError, ValueError):
        R = math.nan
    if isinstance(radius, bool) or not (math.isfinite(R) and R > 0):
        raise EqpropError(f"radius: expected a positive number (the radius of beta -> s^beta to "
                          f"take the estimators' radii from), got {radius!r}")
    return R
