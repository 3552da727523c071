"""The shared setting of every check: a model, its free fixed point, its grid.

:func:`prepare` derives and compiles the model once, relaxes the free
dynamics (float64), polishes the fixed point s0 by Newton at the working
precision, evaluates H, M, C_s and C_theta there and checks the theorems'
hypotheses (MATH.md section 1). Every theorem module then works from the
same :class:`Problem`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath
import numpy as np

from eqprop.errors import EqpropError
from eqprop.numeric.highprec import GUARD_DPS, System, derivative, digits_of_agreement, newton
from eqprop.numeric.relax import relax
from eqprop.symbolic.codegen import compile_model
from eqprop.symbolic.derive import derive

from .report import Assumption, Check, fmt

__all__ = ["Problem", "prepare", "default_times"]


@dataclass
class Problem:
    """Everything the checks share. Numbers are mpmath at ``working_dps``."""

    model: object
    compiled: object
    system: System
    dps: int
    working_dps: int
    required_digits: float
    s0: list
    H: object
    M: object
    C_s: list
    C_theta: list
    eig_min: object
    times: list
    h: object            # complex step
    tol: object          # integrator tolerance per step
    holomorphic: bool
    seed: int

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

    def derivative(self, fn):
        return derivative(fn, holomorphic=self.holomorphic, h=self.h)

    def compare(self, id, equation, t, lhs, rhs, *, limit, scale=None):
        """A :class:`Check` of two independently computed sides."""
        digits, err, sc = digits_of_agreement(lhs, rhs, cap=self.dps)
        if scale is not None and scale > 0:
            sc = max([scale, mpmath.mpf(10) ** -self.dps] + [abs(v) for v in list(lhs) + list(rhs)])
            digits = float(min(self.dps, max(0, -mpmath.log10(err / sc)))) if err else float(self.dps)
        if digits >= self.dps:
            limit = f"reported precision (dps {self.dps})"
        elif digits < self.required_digits:
            limit = f"the two sides disagree beyond the error budget ({limit})"
        first = lambda v: fmt(v[0], 20) if len(v) else ""  # noqa: E731
        return Check(id=id, equation=equation, t=None if t is None else float(t),
                     max_abs_error=fmt(err, 6) if err else "0", scale=fmt(sc, 6), digits=digits,
                     required=self.required_digits, limit=limit, lhs=first(lhs), rhs=first(rhs))

    @property
    def limit_integrator(self):
        return f"integrator tolerance {mpmath.nstr(self.tol, 2)}/step"

    @property
    def limit_precision(self):
        return f"working precision 1e-{self.working_dps}"


def default_times(eig_min, *, points=6):
    """0, then t_max / 2^k up to t_max, where exp(-eig_min t_max) = 1e-6."""
    t_max = float(mpmath.log(10**6) / eig_min)
    grid = [0.0] + [t_max / 2 ** k for k in range(points - 2, -1, -1)]
    return [float(f"{t:.3g}") for t in grid]


def prepare(model, *, dps, times=None, initial_state=None, seed=0, required_digits=None,
            engine="gbs"):
    """Build the :class:`Problem` and the assumption list; see the module docstring.

    Returns ``(problem or None, assumptions, notes)``: ``None`` when no fixed
    point could be found (the assumptions then say why).
    """
    if not isinstance(dps, int) or isinstance(dps, bool) or dps < 8 or dps > 1000:
        raise EqpropError(f"dps: must be an integer between 8 and 1000, got {dps!r}")
    if not model.params:
        raise EqpropError("params: the model has no parameters theta; declare at least one, "
                          "the theorems are about dJ/dtheta")
    derivs = derive(model)
    compiled = compile_model(derivs)
    theta_vals, data_vals = model.values()
    system = System(compiled, theta_vals, data_vals, has_energy=model.has_energy,
                    engine=_pick_engine(engine, compiled, dps + GUARD_DPS, model))
    n = system.n
    if initial_state is None:
        initial_state = model.verify.get("initial_state", [0] * n)
    try:
        s_init = np.array([float(x) for x in initial_state], dtype=float)
    except (TypeError, ValueError):
        raise EqpropError(f"initial_state: expected {n} numbers, got {initial_state!r}") from None
    if s_init.shape != (n,):
        raise EqpropError(f"initial_state: has {s_init.size} values but the state has {n} "
                          f"variables ({', '.join(s.name for s in model.state)})")
    if not np.all(np.isfinite(s_init)):
        raise EqpropError("initial_state: values must be finite numbers")
    required = float(dps - 5 if required_digits is None else required_digits)
    if required > dps:
        raise EqpropError(f"required_digits: {required:g} is above dps = {dps}; digits are capped "
                          "at dps, so it could never pass")
    notes, assumptions = [], []
    smooth = not model.non_smooth
    assumptions.append(Assumption(
        "twice differentiable", smooth, "yes" if smooth else "no",
        "E and C are C^2" if smooth else
        f"uses {', '.join(model.non_smooth)}: not twice differentiable at its kinks"))
    if not smooth:
        notes.append("the model is not holomorphic, so complex-step differentiation is replaced "
                     "by Richardson-extrapolated central differences over real steps")

    th64 = np.array([float(v) for v in theta_vals])
    da64 = np.array([float(v) for v in data_vals])
    with np.errstate(all="ignore"):
        s_relaxed, res64, t_relax = relax(lambda s: compiled.dE_ds(s, th64, da64),
                                          lambda s: compiled.d2E_ds2(s, th64, da64), s_init)
    wdps = dps + GUARD_DPS
    with mpmath.workdps(wdps):
        try:
            s0, residual, iters = newton(system, [mpmath.mpf(float(x)) for x in s_relaxed])
        except (ArithmeticError, ValueError) as exc:
            assumptions.append(Assumption("fixed point", False, "not found",
                                          f"no fixed point reached from the initial state ({exc})"))
            return None, assumptions, notes
        H = system.hessian(s0)
        M = system.mixed(s0)
        if model.has_energy:
            eigs = mpmath.eigsy((H + H.T) / 2)[0]
            eig_min = min(eigs)
            pd = eig_min > mpmath.mpf(10) ** (-(wdps // 2))
            assumptions.append(Assumption(
                "positive definite", bool(pd), mpmath.nstr(eig_min, 4),
                "smallest eigenvalue of H(s0): s0 is a strict local minimum of E" if pd else
                "smallest eigenvalue of H(s0) is not positive: s0 is a saddle or degenerate, "
                "not a minimum of E"))
        else:
            eigs = mpmath.eig(H, left=False, right=False)
            eig_min = min(mpmath.re(e) for e in eigs)
            pd = eig_min > 0
            assumptions.append(Assumption(
                "stable fixed point", bool(pd), mpmath.nstr(eig_min, 4),
                "smallest real part of the eigenvalues of -dF/ds(s0): s0 attracts" if pd else
                "an eigenvalue of -dF/ds(s0) has non-positive real part: s0 does not attract"))
            asym = mpmath.mnorm(H - H.T, 1)
            assumptions.append(Assumption(
                "symmetric Jacobian", asym < mpmath.mpf(10) ** (-(dps - 5)), mpmath.nstr(asym, 4),
                "|J - J^T| at s0 (1-norm): a vector field is a gradient field only when its "
                "Jacobian is symmetric; Theorem 3 needs it", fatal=False))
        res_ok = residual < mpmath.mpf(10) ** (-(dps + 2))
        assumptions.insert(0, Assumption(
            "fixed point", bool(res_ok), mpmath.nstr(residual, 3),
            f"max |{'dE/ds' if model.has_energy else 'F'}(s0)| after float64 relaxation "
            f"(t = {t_relax:g}) and {iters} Newton steps"))
        C_s = system.dC_ds(s0)
        C_theta = system.dC_dtheta(s0)
        if times is None:
            times = model.verify.get("times")
        if times is None:
            if pd and eig_min > 0:
                times = default_times(eig_min)
            else:
                times = [0.0, 0.5, 1.0, 2.0]
        times = _check_times(times)
        problem = Problem(
            model=model, compiled=compiled, system=system, dps=dps, working_dps=wdps,
            required_digits=required, s0=s0, H=H, M=M, C_s=C_s, C_theta=C_theta,
            eig_min=eig_min, times=times, h=mpmath.mpf(10) ** (-wdps),
            tol=mpmath.mpf(10) ** (-(dps + GUARD_DPS // 2)), holomorphic=model.holomorphic,
            seed=seed)
    return problem, assumptions, notes


def _pick_engine(engine, compiled, wdps, model):
    """'auto' -> heyoka when installed and able to compile the model (smooth models), else gbs."""
    if engine == "gbs":
        return "gbs"
    from eqprop.symbolic.heyoka_gen import available
    if not available() or (engine == "auto" and model.non_smooth):
        return "gbs"
    try:
        with mpmath.workdps(wdps):
            compiled.taylor(mpmath.mp.prec, mpmath.mpf(10) ** -(wdps - GUARD_DPS // 2))
    except Exception as exc:  # noqa: BLE001 - heyoka cannot compile this model
        if engine == "heyoka":
            raise EqpropError(f"engine 'heyoka' cannot compile this model ({exc}); use engine='gbs'") from None
        return "gbs"
    return "heyoka"


def _check_times(times):
    try:
        ts = [float(t) for t in times]
    except (TypeError, ValueError):
        raise EqpropError(f"times: expected a list of numbers, got {times!r}") from None
    if not ts:
        raise EqpropError("times: empty; give at least one time, e.g. 0,1,5")
    if any(not np.isfinite(t) or t < 0 for t in ts):
        raise EqpropError(f"times: must be finite and >= 0, got {ts}")
    if ts != sorted(ts):
        raise EqpropError(f"times: must be increasing, got {ts}")
    return ts

