"""The first stages of a verification: build the model, relax the free phase, find s0.

Each stage is a function of the previous stages' frozen results that returns
its own. A hypothesis that must hold to go on and fails raises
:class:`~.outcomes.Stop` with its :class:`~.report.Assumption`; :func:`.prepare`
catches it, in one place. See docs/ARCHITECTURE.md for the whole pipeline.

- :func:`build`: derive and compile E, C and their derivatives once; the
  parameters' and data's values inside every function's real domain
  (hypothesis: E and C twice differentiable, MATH.md section 1).
- :func:`free_phase`: the free dynamics ds/dt = -dE/ds relaxed in float64
  from the initial state (paper section 2, the free phase).
- :func:`fixed_point`: Newton polishes the relaxed state to s0 at the
  working precision (dE/ds(s0) = 0, paper 2.1), real and inside the domain.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from eqprop.errors import EqpropError
from eqprop.numeric.highprec import GUARD_DPS, ComputationBreakdown, System, newton
from eqprop.numeric.integrate import BudgetExhausted, SingularJacobian
from eqprop.numeric.relax import relax
from eqprop.symbolic.codegen import compile_model
from eqprop.symbolic.derive import derive
from eqprop.symbolic.domain import complex_point, domain_violations
from eqprop.symbolic.precision import working

from .engine import pick_engine
from .hypotheses import degenerate
from .outcomes import Stop
from .report import Assumption

__all__ = ["Built", "Relaxed", "FixedPoint", "build", "free_phase", "fixed_point",
           "MAX_MAGNITUDE", "domain_assumption", "real_finite"]

#: Largest magnitude of s0, H, M, C_s, C_theta and of the model's values: the free phase, the
#: time grid and the integrators' step control work in float64 (range 1.8e308).
MAX_MAGNITUDE = 1e300


@dataclass(frozen=True)
class Built:
    """The model derived and compiled once, with its numeric values."""

    model: object
    compiled: object
    system: System
    theta: list             # the parameters' values (exact)
    data: list              # the data's values (exact)
    fixed: dict             # {Symbol: value} of parameters and data
    dps: int                # reported digits
    working_dps: int        # computed digits: dps + GUARD_DPS
    assumptions: tuple      # 'twice differentiable'
    notes: tuple

    def at(self, state):
        """Parameter and data values with the state's ``{Symbol: value}`` added."""
        return {**self.fixed, **dict(zip(self.model.state, state))}


@dataclass(frozen=True)
class Relaxed:
    """Where the float64 free phase stopped."""

    start: np.ndarray       # the initial state
    state: np.ndarray       # where Newton starts (the start again if the flow blew up)
    time: float             # how long the free flow ran
    stopped: str | None     # which budget stopped it ("time", "evaluations"), if one did
    escaped: bool           # the flow left float64's range


@dataclass(frozen=True)
class FixedPoint:
    """s0 at the working precision, and how Newton got there."""

    s0: list
    residual: object
    iterations: int


def domain_assumption(model, values, where, digits=30, *, free_phase=False):
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


def real_finite(values):
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


def _energy_violations(built, state):
    """What the energy (or field) alone violates at ``state`` (the free phase never sees C)."""
    model = built.model
    return domain_violations(model.expressions[:-1], built.at(float(x) for x in state),
                             fixed=frozenset(model.data))


def build(model, options) -> Built:
    """Derive and compile the model; its values inside every function's domain and within
    float64's range. Raises :class:`Stop` (values outside the domain) or :class:`EqpropError`."""
    if not model.params:
        raise EqpropError("params: the model has no parameters theta; declare at least one, "
                          "the theorems are about dJ/dtheta")
    fixed = {**model.params, **model.data}
    bad = domain_assumption(model, fixed, "at the model's parameter and data values")
    if bad:
        raise Stop(bad)
    compiled = compile_model(derive(model))
    theta_vals, data_vals = model.values()
    for name, value in fixed.items():
        v = mpmath.mpf(value.p) / value.q if hasattr(value, "p") else mpmath.mpmathify(value)
        if abs(v) > MAX_MAGNITUDE or 0 < abs(v) < 1 / MAX_MAGNITUDE:
            raise EqpropError(f"{name} = {mpmath.nstr(v, 3)} is outside the magnitudes "
                              f"[{1 / MAX_MAGNITUDE:g}, {MAX_MAGNITUDE:g}] that the float64 "
                              "free phase can hold; rescale the model's values")
    wdps = options.dps + GUARD_DPS
    system = System(compiled, theta_vals, data_vals, has_energy=model.has_energy,
                    engine=pick_engine(options.engine, compiled, wdps, model))
    smooth = not model.non_smooth
    smoothness = Assumption(
        "twice differentiable", smooth, "yes" if smooth else "no",
        "E and C are C^2" if smooth and model.has_energy else
        "the vector field and C are C^1 and C^2" if smooth else
        f"uses {', '.join(model.non_smooth)}: not twice differentiable at its kinks")
    notes = () if smooth else (
        "the model is not holomorphic, so complex-step differentiation is replaced "
        "by Richardson-extrapolated central differences over real steps",)
    return Built(model=model, compiled=compiled, system=system, theta=theta_vals, data=data_vals,
                 fixed=fixed, dps=options.dps, working_dps=wdps, assumptions=(smoothness,),
                 notes=notes)


def free_phase(built, options) -> Relaxed:
    """The free flow ds/dt = -dE/ds (or F) in float64 from the initial state, to near rest.

    Stops (:class:`Stop`) where the start or the flow leaves the energy's real domain, or
    where float64 steps jumped a barrier the exact flow never crosses."""
    model, compiled = built.model, built.compiled
    start = np.array(options.initial_state or [0.0] * built.system.n, dtype=float)
    bad = domain_assumption(model, built.at(float(x) for x in start), "at the initial state",
                            free_phase=True)
    if bad:
        raise Stop(bad)
    th64 = np.array([float(v) for v in built.theta])
    da64 = np.array([float(v) for v in built.data])
    with np.errstate(all="ignore"):
        info = {}
        state, res64, t_relax = relax(lambda s: compiled.dE_ds(s, th64, da64),
                                      lambda s: compiled.d2E_ds2(s, th64, da64), start, info=info)
    if not np.isfinite(res64):  # the free flow left the real domain of a function
        bad = _energy_violations(built, state)
        if bad:
            shown = ", ".join(f"{v:.6g}" for v in state)
            raise Stop(Assumption(
                "real domain", False, "no",
                f"the free flow from the initial state reaches s = ({shown}), where {bad[0]}: "
                "E and C must be real along the free phase; change the values, the formula or "
                "initial_state"))
    elif np.all(np.isfinite(state)):
        # the force is finite across the edge (u - m/u of a log barrier) but E is not: float64
        # steps jumped a barrier that the exact flow never crosses; Newton would then find a
        # mirror root outside the domain
        bad = _energy_violations(built, state)
        if bad:
            shown = ", ".join(f"{v:.6g}" for v in state)
            raise Stop(Assumption.limit(
                "free phase", False, "crossed an edge",
                f"the float64 free phase stepped to s = ({shown}), where {bad[0]}, with a "
                "finite force: it jumped the edge of a function's domain (a barrier the exact "
                "flow does not cross); give an initial_state nearer the minimum"))
    escaped = not np.all(np.isfinite(state))  # the free flow blew up
    return Relaxed(start=start, state=start if escaped else state, time=t_relax,
                   stopped=info.get("stopped"), escaped=escaped)


def fixed_point(built, relaxed) -> FixedPoint:
    """Newton from the relaxed state to s0 at the working precision: real, finite, inside
    the domain (paper 2.1: dE/ds(s0) = 0)."""
    model, system = built.model, built.system
    with working(built.working_dps):
        try:
            s0, residual, iters = newton(system, [mpmath.mpf(float(x)) for x in relaxed.state])
        except BudgetExhausted:  # the run's time is up: not a breakdown of Newton's
            raise
        except SingularJacobian as exc:  # a degenerate minimum, or a start of zero curvature
            at = ", ".join(f"{x.name} = {mpmath.nstr(mpmath.re(v), 4)}"
                           for x, v in zip(model.state, exc.point))
            raise Stop(degenerate(
                system.d2Ebeta_ds2(exc.point), [x.name for x in model.state], "singular",
                f"where Newton's way to s0 met it ({at})")) from None
        except ComputationBreakdown as exc:
            raise Stop(_not_found(built, relaxed, exc)) from None
        real = real_finite(s0)
        if real is None:
            raise Stop(_complex_fixed_point(built, s0))
        bad = domain_assumption(model, built.at(real), "at the fixed point",
                                digits=built.working_dps)
        if bad:
            raise Stop(bad)
    return FixedPoint(s0=real, residual=residual, iterations=iters)


def _not_found(built, relaxed, exc):
    """The 'fixed point' assumption when Newton broke down: a violation only where the free
    flow left float64's range (evidence that no minimum is reached), else a limit."""
    bad = _energy_violations(built, relaxed.state)
    why = f"; where Newton started, {bad[0]}: give an initial_state inside the domain" \
        if bad else ""
    # only a free flow that left float64's range is evidence that no minimum is
    # reached; one that spent its time or its evaluations first (a slow direction,
    # log(cosh(a))/1e4; a minimum 1e7 away; ripples e sin(k a) that take LSODA's
    # evaluations; a finite-time blow-up, -a^4, looks the same) leaves Newton too far
    # away: a limit of this tool, 'incomplete', never a violated hypothesis
    if not relaxed.escaped and not why:
        spent = {"time": "its time", "evaluations": "its evaluations"}.get(
            relaxed.stopped, "its budget")
        why = (f"; the float64 free phase spent {spent} before it settled (the energy "
               "may have no minimum reachable from there, or a slow or rippled one): "
               "give an initial_state nearer the minimum")
    return Assumption("fixed point", False, "not found",
                      f"no fixed point reached from the initial state ({exc}){why}",
                      fatal=True, tool_limit=not relaxed.escaped or bool(bad))


def _complex_fixed_point(built, s0):
    """The 'real domain' assumption for a Newton fixed point that is complex or infinite."""
    model = built.model
    values = {**built.fixed, **{s: mpmath.nstr(mpmath.re(v), built.working_dps)
                                for s, v in zip(model.state, s0) if mpmath.isfinite(v)}}
    bad = domain_assumption(model, values, "at the fixed point")
    if bad is None:  # inside at the real parts: name the arguments made complex
        values = {**built.fixed, **complex_point(
            {s: (mpmath.nstr(mpmath.re(v), 20), mpmath.nstr(mpmath.im(v), 20))
             for s, v in zip(model.state, s0) if mpmath.isfinite(v)})}
        bad = domain_assumption(model, values, "at Newton's complex fixed point")
    return bad or Assumption(
        "real domain", False, "no", "Newton's fixed point is complex or infinite "
        f"({mpmath.nstr(s0[0], 5)}, ...): a function of E or C left its real domain")
