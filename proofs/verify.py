"""``verify``: every identity of MATH.md on one model, and a verdict."""

from __future__ import annotations

import time

import mpmath

from eqprop.errors import EqpropError

from . import kbe, theorem1, theorem2, theorem3
from .problem import prepare
from eqprop.numeric.integrate import IntegrationError

from .report import Check, Report, TheoremResult, Verdict, VerificationFailed, fmt

__all__ = ["verify", "ENGINES"]

#: Integrators for the high-precision path: "gbs" (built in, adaptive
#: Gragg-Bulirsch-Stoer), "heyoka" (optional Taylor integrator, eqprop[heyoka]);
#: "auto" takes heyoka when it is installed and can compile the model.
ENGINES = ("auto", "gbs", "heyoka")


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
    engine : {"auto", "gbs", "heyoka"}
        The high-precision integrator for the nonlinear flows: "gbs" (built-in
        adaptive Gragg-Bulirsch-Stoer) or "heyoka" (Taylor's method through
        heyoka.py, ``pip install 'eqprop[heyoka]'``); "auto" takes heyoka when
        installed and able to compile the model, else gbs.
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
    from eqprop.symbolic.heyoka_gen import available
    if engine == "heyoka" and not available():
        raise EqpropError("engine 'heyoka' needs heyoka.py: pip install 'eqprop[heyoka]'")
    if dps is None:
        dps = model.verify.get("dps", 50)
    say("derive, compile, free phase")
    problem, assumptions, notes = prepare(model, dps=dps, times=times, initial_state=initial_state,
                                          seed=seed, required_digits=required_digits, engine=engine)
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
        def run(name, equation, fn, *args):
            """A computation that breaks down (Newton diverging at a kink, say) is a failed row."""
            try:
                return fn(problem, *args)
            except (ArithmeticError, IntegrationError, ValueError) as exc:
                notes.append(f"{name} could not be computed: {exc}")
                checks.append(Check(id=name, equation=equation, t=None, max_abs_error="nan",
                                    scale="nan", digits=0.0, required=problem.required_digits,
                                    limit=f"computation failed: {exc}", lhs="", rhs=""))
                return TheoremResult(checks=[], series={}, extra={})
        say("Kolmogorov backward equation (A.3)")
        checks += run("KBE", "A.3", kbe.check).checks
        say("Theorem 1: RBP adjoint, closed form, definition 3.3")
        t1 = run("T1", "3.5-3.8", theorem1.check)
        checks += t1.checks
        say("Theorem 2: EP gradient and finite-beta bias")
        t2 = run("T2", "4.4", theorem2.check)
        checks += t2.checks
        say("Theorem 3: nudged phase with complex beta")
        if "s_bar" in t1.series:
            t3 = run("T3", "5.4-5.5", theorem3.check, t1.series["s_bar"], t1.series["theta_bar"])
            checks += t3.checks
        else:
            t3 = TheoremResult(checks=[])
        series = {k: [fmt(row) for row in v] for k, v in {**t1.series, **t3.series}.items()}
        dJ = {}
        for key, source in (("implicit", t1), ("rbp_limit", t1), ("ep_limit", t2),
                            ("finite_difference", t2)):
            value = source.extra.get(key)
            dJ[key] = fmt(value) if value is not None else None
        s_free = fmt(problem.s0)
        eig = fmt(problem.eig_min)
    if t1.extra.get("t_infinity") is not None:
        notes = notes + [f"T1.limit compares Thetabar at t = {t1.extra['t_infinity']:.4g}, where "
                         "expm(-t H) is below the working precision"]
    elif "t_infinity" in t1.extra:
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
                    engine=problem.system.engine, kind=kind, bias=t2.extra.get("bias", {}),
                    layers=list(model.layers) if model.layers else None)
    return _finish(report, throw)


def _finish(report, throw):
    if throw and report.verdict is not Verdict.VERIFIED:
        raise VerificationFailed(f"{report.model}: {report.verdict.value}")
    return report
