"""``verify``: every identity of MATH.md on one model, and a verdict."""

from __future__ import annotations

import time

import mpmath

from eqprop.errors import EqpropError

from . import kbe, theorem1, theorem2, theorem3
from .problem import prepare
from .report import Report, Verdict, VerificationFailed, fmt

__all__ = ["verify", "ENGINES"]

#: Integrators for the high-precision path. "auto" picks the best installed.
ENGINES = ("auto", "gbs")


def _model(model):
    from eqprop.symbolic.builtins import load_model
    from eqprop.symbolic.model import Model
    if isinstance(model, Model):
        return model
    if model is None:
        return load_model("paper")
    if isinstance(model, str):
        return load_model(model)
    raise EqpropError(f"model: expected a Model, a TOML path or a built-in name, got {type(model).__name__}")


def verify(model=None, *, dps=None, times=None, engine="auto", initial_state=None, seed=0,
           required_digits=None, throw=False, progress=None) -> Report:
    """Check Theorems 1-3 (and the lemma A.3) on ``model`` at ``dps`` digits.

    Parameters
    ----------
    model : Model, str or None
        A :class:`~eqprop.Model`, a TOML file, or a built-in name; ``None``
        is the paper's example.
    dps : int
        Decimal digits to report at (default: the model file's ``[verify]``
        value, else 50). Computation runs with ``GUARD_DPS`` = 10 more.
    times : list of float
        The time grid; default 0 and up to where Sbar_t has decayed by 1e-6.
    engine : {"auto", "gbs"}
        The high-precision integrator: adaptive Gragg-Bulirsch-Stoer.
    initial_state : list
        Where the free phase starts (default: zeros, or the model file's).
    required_digits : float
        Digits every identity must reach (default ``dps - 5``).
    throw : bool
        Raise :class:`VerificationFailed` unless the verdict is 'verified'.
    progress : callable, optional
        Called with a short message as each stage starts.

    Returns
    -------
    Report
        Rows of checks, assumptions, time series and ``verdict``.
    """
    started = time.perf_counter()
    say = progress or (lambda msg: None)
    model = _model(model)
    if engine not in ENGINES:
        raise EqpropError(f"engine: unknown {engine!r}; choose one of {', '.join(ENGINES)}")
    if dps is None:
        dps = model.verify.get("dps", 50)
    say("derive, compile, free phase")
    problem, assumptions, notes = prepare(model, dps=dps, times=times, initial_state=initial_state,
                                          seed=seed, required_digits=required_digits)
    state = [s.name for s in model.state]
    params = {s.name: str(v) for s, v in model.params.items()}
    kind = "energy" if model.has_energy else "vector field"
    if problem is None:
        report = Report(model=model.name, dps=dps, working_dps=dps, state=state, params=params,
                        s_free=[], hessian_min_eigenvalue="", dJ_dtheta={}, times=[], series={},
                        checks=[], assumptions=assumptions, verdict=Verdict.ASSUMPTION_VIOLATED,
                        notes=notes, seconds=time.perf_counter() - started, kind=kind)
        return _finish(report, throw)
    checks = []
    with mpmath.workdps(problem.working_dps):
        say("Kolmogorov backward equation (A.3)")
        checks += kbe.check(problem).checks
        say("Theorem 1: RBP adjoint, closed form, definition 3.3")
        t1 = theorem1.check(problem)
        checks += t1.checks
        say("Theorem 2: EP gradient and finite-beta bias")
        t2 = theorem2.check(problem)
        checks += t2.checks
        say("Theorem 3: nudged phase with complex beta")
        t3 = theorem3.check(problem, t1.series["s_bar"], t1.series["theta_bar"])
        checks += t3.checks
        series = {k: [fmt(row) for row in v] for k, v in {**t1.series, **t3.series}.items()}
        rbp_limit = t1.extra["rbp_limit"]
        dJ = {"implicit": fmt(t1.extra["implicit"]),
              "rbp_limit": fmt(rbp_limit) if rbp_limit is not None else None,
              "ep_limit": fmt(t2.extra["ep_limit"]),
              "finite_difference": fmt(t2.extra["finite_difference"])}
        s_free = fmt(problem.s0)
        eig = fmt(problem.eig_min)
    if t1.extra["t_infinity"] is not None:
        notes = notes + [f"T1.limit compares Thetabar at t = {t1.extra['t_infinity']:.4g}, where "
                         "expm(-t H) is below the working precision"]
    else:
        notes = notes + ["T1.limit skipped: s0 does not attract, Thetabar_t has no limit"]
    if any(not a.holds and a.fatal for a in assumptions):
        verdict = Verdict.ASSUMPTION_VIOLATED
    elif all(c.passed for c in checks):
        verdict = Verdict.VERIFIED
    else:
        verdict = Verdict.NOT_VERIFIED
    report = Report(model=model.name, dps=dps, working_dps=problem.working_dps, state=state,
                    params=params, s_free=s_free, hessian_min_eigenvalue=eig, dJ_dtheta=dJ,
                    times=problem.times, series=series, checks=checks, assumptions=assumptions,
                    verdict=verdict, notes=notes, seconds=time.perf_counter() - started,
                    engine="gbs", kind=kind)
    return _finish(report, throw)


def _finish(report, throw):
    if throw and report.verdict is not Verdict.VERIFIED:
        raise VerificationFailed(f"{report.model}: {report.verdict.value}")
    return report
