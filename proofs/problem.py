"""The shared setting of every check: a model, its free fixed point, its grid.

:func:`prepare` derives and compiles the model once, relaxes the free
dynamics (float64), polishes the fixed point s0 by Newton at the working
precision, evaluates H, M, C_s and C_theta there and checks the theorems'
hypotheses (MATH.md section 1): s0 real and finite with every function in
its real domain, a fixed point, a strict minimum. Every theorem module then
works from the same :class:`Problem`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import mpmath
import numpy as np

from eqprop.errors import EqpropError
from eqprop.numeric.highprec import (GUARD_DPS, ComputationBreakdown, System, derivative,
                                     digits_of_agreement, newton)
from eqprop.numeric import linalg
from eqprop.numeric.integrate import BudgetExhausted, SingularJacobian
from eqprop.numeric.relax import relax
from eqprop.symbolic.codegen import compile_model
from eqprop.symbolic.derive import derive
from eqprop.symbolic.domain import domain_violations

from . import noise
from .radius import radius_at_s0
from .grid import default_times, largest_rate, sbar_decay, t_infinity
from .hypotheses import definiteness, degenerate, null_direction, symmetric_nearby
from .engine import pick_engine
from .options import MAX_TIME, Options
from .report import Assumption, Check

__all__ = ["Problem", "prepare", "default_times", "t_infinity"]

#: Most "time x fastest rate" a flow may integrate (about the GBS steps it costs).
INTEGRATION_BUDGET = 5e3
#: Largest condition number lambda_max / lambda_min of H(s0) the flows are integrated at.
MAX_CONDITION = 1e6


@dataclass
class Problem:
    """Everything the checks share. Numbers are mpmath at ``working_dps``."""

    model: object           # eqprop.Model
    compiled: object        # eqprop.symbolic.codegen.Compiled
    system: System
    dps: int
    working_dps: int
    required_digits: float
    s0: list                # (n,) free fixed point
    H: object               # mpmath.matrix (n, n): d2E_ds2 at s0
    M: object               # mpmath.matrix (p, n): d2E_dtheta_ds at s0
    C_s: list               # (n,) dC_ds at s0
    C_theta: list           # (p,) dC_dtheta at s0
    eig_min: object         # smallest eigenvalue of H (real part, vector fields)
    times: list             # the grid, absolute times of each phase
    h: object               # complex step
    tol: object             # integrator tolerance per step
    holomorphic: bool
    seed: int
    h_divisor: object = None  # a deliberately wrong complex-step divisor (negative controls)
    t_infinity: float | None = None
    beta_step: object = mpmath.mpf("1e-3")  # largest real beta, inside beta -> s^beta's radius
    beta_radius: object = mpmath.mpf(1)     # estimated radius of convergence of beta -> s^beta
    dJ_dtheta: list = field(default_factory=list)    # implicit gradient (2.3), for the report
    edge_distance: object = None  # how far s may move from s0 inside every function's domain
    spreads: dict = field(default_factory=dict)  # s0's rounding in H, M, C_s, C_theta, in eps
    rest: object = None  # |force| at which s0 counts as at rest: 10^-(w-5) of its terms; holomorphic only
    memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def size(self, name):
        """Entry-wise size of ingredient ``name`` (H, M, C_s, C_theta) as computed: its value,
        or the rounding that s0's own rounding puts into it if larger (:mod:`.noise`)."""
        return self.kept(("size", name),
                         lambda: noise.size(getattr(self, name), self.spreads.get(name), self.rounding))

    def kept(self, key, compute):
        """``compute()``, once per problem and working precision (its result must not be
        modified). A problem made by ``dataclasses.replace`` (a mutation, another grid)
        starts with nothing kept: nothing computed for one problem serves another."""
        key = (key, mpmath.mp.prec)
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    @property
    def rounding(self):
        """10^(dps - w): an entry's size is at least this times its rounding spread (.noise)."""
        return mpmath.mpf(10) ** (self.dps - self.working_dps)

    @property
    def betas(self):
        """The real betas of the finite-beta estimators (bias rows): three decades down from
        beta_step, at half-decade steps (seven points for each fitted slope)."""
        from .quantities import BETAS
        return [self.beta_step * mpmath.mpf(b) for b in BETAS]

    @property
    def flow_level(self):
        """10^-(dps/2 + 5): the fraction of its cross scale below which a quantity read off an
        integrated flow counts as zero (quantities.term_sizes)."""
        return mpmath.mpf(10) ** -(self.dps / 2 + 5)

    @property
    def n(self):
        return self.system.n

    @property
    def p(self):
        return self.system.p

    def rng(self, salt):
        return random.Random(f"{self.seed}:{salt}")

    def random_direction(self, size, salt):
        """A reproducible random unit vector with exact decimal entries."""
        rng = self.rng(salt)
        v = [mpmath.mpf(rng.randint(-1000, 1000)) / 1000 for _ in range(size)]
        norm = mpmath.sqrt(sum(x * x for x in v)) or 1
        return [x / norm for x in v]

    def derivative(self, fn, response=None):
        """d/de fn(e) at 0 (:func:`~eqprop.numeric.differences.derivative`).

        ``response``: how far the state moves per unit of e (a size, an
        estimate is enough). The complex step is then scaled so that it
        moves the state by h times the state's own size (|s0|, or 1): at a
        state of size 1e-35 an unscaled step on beta moved it by 1e-45, and
        the step's square (1e-20 relative) showed in Theorem 3's rows.
        """
        c = 1
        if response and self.holomorphic and mpmath.isfinite(response):
            c = (max(abs(x) for x in self.s0) or mpmath.mpf(1)) / response
        return derivative(fn, holomorphic=self.holomorphic, h=self.h * c,
                          divisor=None if self.h_divisor is None else self.h_divisor * c)

    def response(self, forcing):
        """How far a constant force ``forcing`` moves the fixed point: |forcing| / lambda_min,
        an estimate for :meth:`derivative` (None where s0 is not a strict minimum)."""
        top = max([abs(x) for x in forcing] + [mpmath.mpf(0)])
        return top / self.eig_min if self.eig_min > 0 and top else None

    def compare(self, id, equation, t, lhs, rhs, *, scale, limit, sides=("", ""), terms=None):
        """A :class:`Check` of two independently computed sides.

        ``scale``: per entry, the size of the terms that form the quantity, at
        least 10^dps times the rounding they carry (see
        :func:`~eqprop.numeric.highprec.digits_of_agreement`, :mod:`.noise`);
        ``terms``: the same sizes from the computed values alone. An entry whose
        terms make up less than half its scale is rounding: no evidence. A row
        with no entry of evidence is untestable ('n/a': it neither passes nor
        fails, and the verdict is incomplete, never verified).
        """
        digits, err, sc = digits_of_agreement(lhs, rhs, cap=self.dps, scale=scale)
        if terms is None:
            testable = any(x != 0 for x in scale)
        else:
            testable = any(p > 0 and 2 * p >= x for p, x in zip(terms, scale))
        if not testable:
            limit = "every term of this quantity is zero here: nothing to compare"
        elif digits >= self.dps:
            limit = f"reported precision (dps {self.dps})"
        elif digits < self.required_digits:
            limit = f"below the required digits ({limit})"
        return Check(id=id, equation=equation, t=None if t is None else float(t),
                     max_abs_error=err, scale=sc, digits=digits, required=self.required_digits,
                     limit=limit, lhs=lhs[0] if len(lhs) else None,
                     rhs=rhs[0] if len(rhs) else None, sides=sides, testable=testable)

    @property
    def limit_integrator(self):
        return f"integrator tolerance {mpmath.nstr(self.tol, 2)}/step"

    @property
    def limit_precision(self):
        return f"working precision 1e-{self.working_dps}"


#: Largest magnitude of s0, H, M, C_s, C_theta and of the model's values: the free phase, the
#: time grid and the integrators' step control work in float64 (range 1.8e308).
MAX_MAGNITUDE = 1e300


def _check_magnitudes(named):
    """Refuse (bad input) numbers beyond float64's range, where float64 parts would overflow."""
    for name, values in named.items():
        top = max([abs(mpmath.mpmathify(v)) for v in values] + [mpmath.mpf(0)])
        if top > MAX_MAGNITUDE:
            raise EqpropError(
                f"{name} reaches about 10^{mpmath.nstr(mpmath.log10(top), 3)} at the fixed point, beyond "
                f"{MAX_MAGNITUDE:g}: parts of the verification (the free phase, the time grid, "
                "step control) run in float64; rescale the energy's terms or values")


def _entries(A):
    """The non-zero entries of an mpmath matrix (:func:`~eqprop.numeric.linalg.nonzeros`)."""
    return [v for _, v in linalg.nonzeros(A)]


def _real_finite(values):
    """The values as real mpf, or None if any is complex (non-zero imaginary part) or not finite."""
    out = []
    for v in values:
        if isinstance(v, mpmath.mpc):
            if v.imag != 0:
                return None
            v = v.real
        if not mpmath.isfinite(v):
            return None
        out.append(v)
    return out


def _domain_assumption(model, values, where, digits=30, *, free_phase=False):
    """The 'real domain' assumption failing at ``values``, or None. ``free_phase``: only the
    energy (or vector field) matters there: the free phase never evaluates the cost; it starts
    at the tool's initial state, which no hypothesis is about (a start outside the domain is
    a limit of the run, 'incomplete', not a violation by the model)."""
    exprs = model.expressions[:-1] if free_phase else model.expressions
    problems = domain_violations(exprs, values, digits=digits, fixed=frozenset(model.data))
    if not problems:
        return None
    if free_phase:
        return Assumption.limit("real domain", False, "no",
                                f"{'; '.join(problems[:3])} {where}: the free phase cannot start "
                                "there; give an initial state inside the domain")
    return Assumption("real domain", False, "no",
                      f"{'; '.join(problems[:3])} {where}: E and C must be real there; "
                      "change the values or the formula")


def prepare(model, options: Options):
    """Build the :class:`Problem` and the assumption list; see the module docstring.

    Returns ``(problem or None, assumptions, notes)``: ``None`` when a
    hypothesis needed to go on fails (the assumptions then say why).
    """
    if not model.params:
        raise EqpropError("params: the model has no parameters theta; declare at least one, "
                          "the theorems are about dJ/dtheta")
    dps = options.dps
    notes, assumptions = [], []
    fixed = {**model.params, **model.data}
    bad = _domain_assumption(model, fixed, "at the model's parameter and data values")
    if bad:
        return None, [bad], notes
    derivs = derive(model)
    compiled = compile_model(derivs)
    theta_vals, data_vals = model.values()
    for name, value in {**model.params, **model.data}.items():
        v = mpmath.mpf(value.p) / value.q if hasattr(value, "p") else mpmath.mpmathify(value)
        if abs(v) > MAX_MAGNITUDE or 0 < abs(v) < 1 / MAX_MAGNITUDE:
            raise EqpropError(f"{name} = {mpmath.nstr(v, 3)} is outside the magnitudes "
                              f"[{1 / MAX_MAGNITUDE:g}, {MAX_MAGNITUDE:g}] that the float64 "
                              "free phase can hold; rescale the model's values")
    wdps = dps + GUARD_DPS
    system = System(compiled, theta_vals, data_vals, has_energy=model.has_energy,
                    engine=pick_engine(options.engine, compiled, wdps, model))
    n = system.n
    s_init = np.array(options.initial_state or [0.0] * n, dtype=float)
    smooth = not model.non_smooth
    assumptions.append(Assumption(
        "twice differentiable", smooth, "yes" if smooth else "no",
        "E and C are C^2" if smooth and model.has_energy else
        "the vector field and C are C^1 and C^2" if smooth else
        f"uses {', '.join(model.non_smooth)}: not twice differentiable at its kinks"))
    if not smooth:
        notes.append("the model is not holomorphic, so complex-step differentiation is replaced "
                      "by Richardson-extrapolated central differences over real steps")

    bad = _domain_assumption(model, {**fixed, **dict(zip(model.state, (float(x) for x in s_init)))},
                             "at the initial state", free_phase=True)
    if bad:
        return None, [bad] + assumptions, notes
    th64 = np.array([float(v) for v in theta_vals])
    da64 = np.array([float(v) for v in data_vals])
    with np.errstate(all="ignore"):
        relaxed = {}
        s_relaxed, _res64, t_relax = relax(lambda s: compiled.dE_ds(s, th64, da64),
                                           lambda s: compiled.d2E_ds2(s, th64, da64), s_init,
                                           info=relaxed)
    if not np.isfinite(_res64):  # the free flow left the real domain of a function
        where = {**fixed, **dict(zip(model.state, (float(x) for x in s_relaxed)))}
        # the energy (or field) alone
        bad = domain_violations(model.expressions[:-1], where, fixed=frozenset(model.data))
        if bad:
            state = ", ".join(f"{v:.6g}" for v in s_relaxed)
            return None, [Assumption(
                "real domain", False, "no",
                f"the free flow from the initial state reaches s = ({state}), where {bad[0]}: "
                "E and C must be real along the free phase; change the values, the formula or "
                "initial_state")] + assumptions, notes
    elif np.all(np.isfinite(s_relaxed)):
        # the force is finite across the edge (u - m/u of a log barrier) but E is not: float64
        # steps jumped a barrier that the exact flow never crosses; Newton would then find a
        # mirror root outside the domain
        where = {**fixed, **dict(zip(model.state, (float(x) for x in s_relaxed)))}
        bad = domain_violations(model.expressions[:-1], where, fixed=frozenset(model.data))
        if bad:
            state = ", ".join(f"{v:.6g}" for v in s_relaxed)
            return None, [Assumption.limit(
                "free phase", False, "crossed an edge",
                f"the float64 free phase stepped to s = ({state}), where {bad[0]}, with a "
                "finite force: it jumped the edge of a function's domain (a barrier the exact "
                "flow does not cross); give an initial_state nearer the minimum")] \
                + assumptions, notes
    escaped = not np.all(np.isfinite(s_relaxed))  # the free flow blew up
    if escaped:
        s_relaxed = s_init
    with mpmath.workdps(wdps):
        try:
            s0, residual, iters = newton(system, [mpmath.mpf(float(x)) for x in s_relaxed])
        except BudgetExhausted:
            raise
        except SingularJacobian as exc:  # a degenerate minimum, or a start of zero curvature
            at = ", ".join(f"{x.name} = {mpmath.nstr(mpmath.re(v), 4)}"
                           for x, v in zip(model.state, exc.point))
            assumptions.insert(0, degenerate(
                system.d2Ebeta_ds2(exc.point), [x.name for x in model.state], "singular",
                f"where Newton's way to s0 met it ({at})"))
            return None, assumptions, notes
        except ComputationBreakdown as exc:
            start = {**fixed, **dict(zip(model.state, (float(x) for x in s_relaxed)))}
            bad = domain_violations(model.expressions[:-1], start, fixed=frozenset(model.data))
            why = f"; where Newton started, {bad[0]}: give an initial_state inside the domain" \
                if bad else ""
            # only a free flow that left float64's range is evidence that no minimum is
            # reached; one that spent its time or its evaluations first (a slow direction,
            # log(cosh(a))/1e4; a minimum 1e7 away; ripples e sin(k a) that take LSODA's
            # evaluations; a finite-time blow-up, -a^4, looks the same) leaves Newton too far
            # away: a limit of this tool, 'incomplete', never a violated hypothesis
            ran_away = escaped
            if not ran_away and not why:
                spent = {"time": "its time", "evaluations": "its evaluations"}.get(
                    relaxed.get("stopped"), "its budget")
                why = (f"; the float64 free phase spent {spent} before it settled (the energy "
                       "may have no minimum reachable from there, or a slow or rippled one): "
                       "give an initial_state nearer the minimum")
            assumptions.insert(0, Assumption(
                "fixed point", False, "not found",
                f"no fixed point reached from the initial state ({exc}){why}",
                fatal=True, tool_limit=not ran_away or bool(bad)))
            return None, assumptions, notes
        real = _real_finite(s0)
        if real is None:
            values = {**fixed, **{s: mpmath.nstr(mpmath.re(v), wdps) for s, v in
                                  zip(model.state, s0) if mpmath.isfinite(v)}}
            bad = _domain_assumption(model, values, "at the fixed point")
            if bad is None:  # inside at the real parts: name the arguments made complex
                import sympy as sp
                values = {**fixed, **{s: sp.Float(mpmath.nstr(mpmath.re(v), 20), 20) + sp.I *
                                      sp.Float(mpmath.nstr(mpmath.im(v), 20), 20)
                                      for s, v in zip(model.state, s0) if mpmath.isfinite(v)}}
                bad = _domain_assumption(model, values, "at Newton's complex fixed point")
            assumptions.insert(0, bad or Assumption(
                "real domain", False, "no", "Newton's fixed point is complex or infinite "
                f"({mpmath.nstr(s0[0], 5)}, ...): a function of E or C left its real domain"))
            return None, assumptions, notes
        s0 = real
        bad = _domain_assumption(model, {**fixed, **dict(zip(model.state, s0))}, "at the fixed point",
                                 digits=wdps)
        if bad:
            assumptions.insert(0, bad)
            return None, assumptions, notes
        H = system.d2Ebeta_ds2(s0)
        M = system.d2E_dtheta_ds(s0)
        C_s = system.dC_ds(s0)
        C_theta = system.dC_dtheta(s0)
        if _real_finite(_entries(H) + _entries(M) + list(C_s) + list(C_theta)) is None:
            assumptions.insert(0, Assumption("real domain", False, "no",
                                             "H, M, C_s or C_theta is complex or infinite at s0"))
            return None, assumptions, notes
        _check_magnitudes({"H": _entries(H), "M": _entries(M), "C_s": C_s, "C_theta": C_theta,
                           "s0": s0})
        eig_min, pd = definiteness(model, H, wdps, dps, assumptions)
        # the force is a sum of terms of sizes T (.noise: |dg/dz| |z| over every input z), and
        # Newton converges relative to its start (terms |H| |s_start| on its way): the residual
        # is measured against the larger (a fixed point of E and of 1e-12 E alike; s0 = 0 by
        # symmetry, reached as 1e-70 with terms of that size, against the start's)
        measured = noise.evaluation_rounding({"g": system.dEbeta_ds(s0)},
                                             lambda: {"g": system.dEbeta_ds(s0)}, wdps)["g"]
        carried, terms = noise.state_rounding(compiled, s0, theta_vals, data_vals, measured)
        # and Newton's own truncation: the step it would take next, |H^-1 dE/ds(s0)| (a
        # component that should be 0 by symmetry, left at 1e-89 by a converged iteration)
        rest = [abs(x) for x in linalg.solve(H, system.dEbeta_ds(s0))]
        if carried is not None:
            carried = carried + np.array([float(x * mpmath.mpf(10) ** wdps) for x in rest])
        start_terms = max([abs(x) for x in H] + [mpmath.mpf(0)]) * mpmath.mpf(
            float(np.max(np.abs(s_relaxed))) if s_relaxed.size else 0.0)
        force_scale = max(start_terms, mpmath.mpf(float(np.max(terms)))) \
            if terms is not None and terms.size and np.all(np.isfinite(terms)) else mpmath.mpf(1)
        res_ok = residual <= mpmath.mpf(10) ** (-(dps + 2)) * force_scale
        # the propagator's rest (numeric/propagator.py): the force's terms at s0 alone, not the
        # relaxed start's (an unstable field's float64 phase wandered to 1e250)
        rest_scale = mpmath.mpf(float(np.max(terms))) \
            if terms is not None and terms.size and np.all(np.isfinite(terms)) else force_scale
        name = "dE/ds" if model.has_energy else "F"
        assumptions.insert(0, Assumption(
            "fixed point", bool(res_ok), mpmath.nstr(residual, 3),
            f"max |{name}(s0)| after float64 relaxation (t = {t_relax:g}) and {iters} Newton "
            f"steps, against the size of its terms {mpmath.nstr(force_scale, 3)}" if res_ok else
            f"Newton stopped at max |{name}(s0)| = {mpmath.nstr(residual, 3)}, above 10^-(dps+2) "
            f"of the size of its terms ({mpmath.nstr(force_scale, 3)}): give another "
            "initial_state or raise --dps", fatal=True, tool_limit=True))
        if not res_ok:
            return None, assumptions, notes
        lam_max = largest_rate(H)
        horizon = float(INTEGRATION_BUDGET / lam_max) if lam_max else MAX_TIME
        if pd and lam_max / eig_min > MAX_CONDITION:
            softest = null_direction(H, [x.name for x in model.state])
            assumptions.append(Assumption.limit(
                "well conditioned", False, mpmath.nstr(lam_max / eig_min, 3),
                f"lambda_max / lambda_min of H(s0) is above {MAX_CONDITION:g}: H is nearly "
                f"singular along ({softest}), and the flows are too stiff for this tool's "
                "explicit integrators (the time to decay takes about that many steps); if a "
                "symmetry or a flat bottom makes that direction soft, pin it (a field term, a "
                "constraint, one state fixed as data), else rescale the energy's terms to "
                "comparable curvatures"))
            return None, assumptions, notes
        times = options.times
        if times is None:
            if pd:
                times = default_times(sbar_decay(H, C_s, model.has_energy, eig_min))
            else:
                times = [0.0, 0.5, 1.0, 2.0]
            if times[-1] > horizon:
                notes.append(f"the default grid stops at t = {horizon:.3g} (the integration budget "
                             f"at lambda_max = {mpmath.nstr(lam_max, 3)}), before Sbar has decayed "
                             "by 1e-6: H is ill-conditioned")
                times = [0.0] + [horizon / 2 ** k for k in range(4, -1, -1)]
        if times[-1] > horizon:
            raise EqpropError(
                f"times: t = {times[-1]:g} needs about {times[-1] * float(lam_max):.3g} times the "
                f"fastest rate of H (lambda_max = {mpmath.nstr(lam_max, 3)}) in integration "
                f"steps; at most {INTEGRATION_BUDGET:g} are allowed: give times up to "
                f"{horizon:.3g}")
        # a row at t sees H only through t H: a relative error e in H moves it by about
        # e t lambda_max, so a grid ending before t lambda_max = 10^-(required/2) cannot show
        # an error of half the required digits (t = 1e-200 is t = 0 to every row)
        reach = float(times[-1] * lam_max) if times else 0.0
        if times and any(times) and reach < 10 ** (-options.required_digits / 2):
            assumptions.append(Assumption.limit(
                "informative grid", False, f"t lambda_max = {reach:.3g}",
                f"the grid ends at t = {times[-1]:.3g}, where the flows have not moved from their "
                f"start by 10^-{options.required_digits / 2:g} (lambda_max = "
                f"{mpmath.nstr(lam_max, 3)}): its rows could not tell a wrong H from the right "
                f"one; give times up to at least "
                f"{mpmath.nstr(mpmath.mpf(10) ** (-options.required_digits / 2) / lam_max, 3)}"
                " (or leave the default grid)"))
            return None, assumptions, notes
        # T1.limit's adjoint reaches t_inf by doubling steps, beyond the grid's budget
        t_inf = t_infinity(eig_min, wdps) if pd else None
        edge, where, radius = radius_at_s0(model, system, s0, H, C_s, eig_min, fixed)
        if edge is not None and pd:
            # Newton-Kantorovich (to first order; its Lipschitz condition is not checked): the
            # exact fixed point lies within about 2 |H^-1 dE/ds(s0)| of s0, and the force is
            # known only to the rounding of its terms (.noise): if the edge is nearer, whether
            # the minimum lies inside the domain is undecided at this dps
            known = 2 * max(rest + [mpmath.mpf(10) ** -wdps * max(
                [mpmath.mpf(float(x)) for x in carried] if carried is not None else [0])])
            if edge <= known:
                assumptions.append(Assumption.limit(
                    "inside the domain", False, mpmath.nstr(edge, 3),
                    (f"s0 is {mpmath.nstr(edge, 3)} from the edge of the domain of {where}, "
                     f"within its own uncertainty {mpmath.nstr(known, 3)}" if edge else
                     f"no neighbourhood of s0 could be proved inside the domain of {where}") +
                    ": a minimum on the edge "
                    "violates the hypotheses (E twice differentiable around s0), one inside "
                    "needs more digits to tell; raise --dps, or move the minimum off the edge"))
                return None, assumptions, notes
        spreads = noise.state_spreads(compiled, s0, theta_vals, data_vals, carried, edge=edge)
        own = noise.evaluation_rounding(
            {"H": H, "M": M, "C_s": C_s, "C_theta": C_theta},
            lambda: {"H": system.d2Ebeta_ds2(s0), "M": system.d2E_dtheta_ds(s0),
                     "C_s": system.dC_ds(s0), "C_theta": system.dC_dtheta(s0)}, wdps)
        spreads = {k: v + spreads[k] if k in spreads else v for k, v in own.items()}
        blur = 10 ** float(dps - wdps) * float(np.max(spreads["H"])) if "H" in spreads else 0.0
        h_size = float(max(abs(x) for x in H))
        if blur > h_size:  # s0's rounding moves H(s0) by more than 10^-dps of itself
            lost = math.log10(blur / h_size)
            assumptions.append(Assumption.limit(
                "resolved", False, f"{lost:.1f} digits short",
                f"s0 is known only to about {10.0 ** -wdps * float(np.max(carried)):.3g} (the "
                f"force's terms reach {float(np.max(terms)):.3g}), too coarse to fix H(s0) to "
                f"{dps} digits: the computation would check another system; raise --dps by at "
                f"least {math.ceil(lost)}, or shift the state variables to comparable sizes"))
            return None, assumptions, notes
        beta_step = min(mpmath.mpf("1e-3"), radius / 100)
        problem = Problem(
            model=model, compiled=compiled, system=system, dps=dps, working_dps=wdps,
            required_digits=options.required_digits, s0=s0, H=H, M=M, C_s=C_s, C_theta=C_theta,
            eig_min=eig_min, times=list(times), h=mpmath.mpf(10) ** (-2 * wdps),
            tol=mpmath.mpf(10) ** (-(dps + GUARD_DPS // 2)), holomorphic=model.holomorphic,
            seed=options.seed, t_infinity=t_inf, beta_step=beta_step,
            beta_radius=min(radius, mpmath.mpf(1)), edge_distance=edge, spreads=spreads,
            rest=mpmath.mpf(10) ** (-(wdps - 5)) * rest_scale if model.holomorphic else None)
        if not model.has_energy:
            symmetric_nearby(problem, assumptions)
    return problem, assumptions, notes
