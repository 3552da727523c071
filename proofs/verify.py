"""``verify``: every identity of MATH.md on one model, and a verdict.

The verdict is 'verified' only when the hypotheses hold, EVERY identity of
:data:`~eqprop.proofs.report.REQUIRED_ROWS` produced its rows (Theorem 1 and 3
at one or more t > 0), and every row reached the required digits. A row
that could not be computed (Newton not converging, say) is missing, and a
missing row makes the verdict 'incomplete', as does a hypothesis this tool
could not decide; a bug propagates.
"""

from __future__ import annotations

import time

import mpmath

from eqprop.errors import EqpropError
from eqprop.numeric.highprec import ComputationBreakdown
from eqprop.numeric.integrate import BudgetExhausted, position, time_budget

from . import kbe, quantities, theorem1, theorem2, theorem3
from .kbe_sides import Prefetch
from .options import ENGINES, resolve
from .problem import prepare
from .report import REQUIRED_ROWS, Report, TheoremResult, Verdict, VerificationFailed

__all__ = ["verify", "ENGINES"]


def _model(model):
    from eqprop.symbolic.arrays import ArrayModel
    from eqprop.symbolic.builtins import load_model
    from eqprop.symbolic.model import Model
    if isinstance(model, ArrayModel):  # written out entry by entry at its (small) sizes
        return model.to_model()
    if isinstance(model, Model):
        return model
    if model is None:
        return load_model("paper")
    if isinstance(model, str):
        return _model(load_model(model))
    raise EqpropError(f"model: expected a Model, a TOML path or a built-in name, got {type(model).__name__}")


def verify(model=None, *, dps=None, times=None, engine=None, initial_state=None, seed=None,
           required_digits=None, time_limit=None, throw=False, progress=None) -> Report:
    """Check Theorems 1-3 (and the lemma A.3) on ``model`` at ``dps`` digits.

    Parameters
    ----------
    model : Model, ArrayModel, str or None
        A :class:`~eqprop.Model`, an :class:`~eqprop.ArrayModel` (written out
        entry by entry at its declared sizes), a TOML file, or a built-in
        name; ``None`` is the paper's example.
    dps : int
        Decimal digits to report at, 8 to 120 (default: the model file's
        ``[verify]`` value, else 50). Computation runs with ``GUARD_DPS`` = 10 more.
    times : list of float
        The time grid: absolute times (each phase starts at t = 0),
        strictly increasing, at most 200. Default: 0 and up to where
        |Sbar_t| has decayed by 1e-6.
    engine : {"auto", "gbs", "heyoka"}
        The high-precision integrator for the nonlinear flows: "gbs" (built-in
        adaptive Gragg-Bulirsch-Stoer) or "heyoka" (Taylor's method through
        heyoka.py, ``pip install 'eqprop[heyoka]'``); "auto" takes heyoka when
        installed and able to compile the model, if its force has at most
        2,000 terms (:data:`~eqprop.proofs.engine.HEYOKA_AUTO_TERMS`), else gbs. Default: the model
        file's ``[verify] engine``, else "auto" (a value given here wins).
    initial_state : list
        Where the free phase starts (default: zeros, or the model file's).
    required_digits : float
        Digits every identity must reach, 1 to dps (default ``dps - 5``).
    time_limit : float
        Wall-time budget of the whole run in seconds, in (0, 86400] (default:
        the model file's ``[verify]`` value, else 600). A check still running
        when it ends stops, its rows are missing and the verdict is
        'incomplete', never 'not verified'.
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
    if progress is not None and not callable(progress):
        from eqprop.errors import EqpropError
        raise EqpropError(f"progress: expected a function of one message, such as print; got "
                          f"{type(progress).__name__}")
    say = progress or (lambda msg: None)
    model = _model(model)
    opts = resolve(model, dps=dps, times=times, required_digits=required_digits,
                   initial_state=initial_state, engine=engine, seed=seed, time_limit=time_limit)
    stage = ["start"]

    def announce(msg):
        stage[0] = msg
        say(msg)

    def heartbeat(elapsed, counts):
        done = ", ".join(f"{v:,} {k}" for k, v in counts.items() if v)
        where = position()
        say(f"{stage[0]}: still running, {elapsed:.0f} s of {opts.time_limit:g} s; "
            f"so far {done or 'setting up'}" + (f"; now {where}" if where else ""))
    with time_budget(opts.time_limit, heartbeat=heartbeat if progress else None):
        return _finish(_run(model, opts, announce, started), throw)


def _run(model, opts, say, started):
    say("derive, compile, free phase")
    try:
        P, assumptions, notes = prepare(model, opts)
    except BudgetExhausted as exc:
        P, assumptions, notes = None, [], [f"incomplete: the free phase stopped: {exc}"]
    except OverflowError as exc:  # exp(exp(exp(1000))): a value no arithmetic here can hold
        raise EqpropError(f"the model's numbers overflow while evaluating it at the start ({exc}): "
                          "a function of a huge argument, or a huge value; rescale the model") from None
    base = dict(model=model.name, dps=opts.dps, state=[s.name for s in model.state],
                params=[(s.name, v) for s, v in model.params.items()],
                kind="energy" if model.has_energy else "vector field",
                layers=list(model.layers) if model.layers else None)
    if P is None:
        failed = [a for a in assumptions if not a.holds and a.fatal]
        limited = not failed or all(a.tool_limit for a in failed)
        if failed and limited:
            notes.append(f"incomplete: {failed[0].message}")
        report = Report(**base, working_dps=opts.dps, s_free=[], hessian_min_eigenvalue=None,
                        dJ_dtheta={}, times=[], series={}, checks=[], assumptions=assumptions,
                        verdict=Verdict.INCOMPLETE if limited else Verdict.ASSUMPTION_VIOLATED,
                        notes=notes,
                        seconds=time.perf_counter() - started)
        return report
    checks, stopped = [], []
    with mpmath.workdps(P.working_dps):
        def run(name, equation, fn, **sides):
            """A budget that runs out (time, integration steps) stops the run; a computation
            that breaks down (Newton not converging, a singular solve) leaves this stage's rows
            out. Either way the rows are missing and the verdict incomplete (or assumption
            violated, at a kink): a number that could not be computed is no evidence that an
            identity fails.
            """
            if stopped:
                return TheoremResult(checks=[])
            try:
                result = fn(P, **sides)
                for ids, why in getattr(result, "missing", []):
                    notes.append(f"incomplete: {', '.join(ids)} could not be computed: {why}")
                return result
            except BudgetExhausted as exc:
                notes.append(f"incomplete: {name} stopped: {exc}")
                stopped.append(name)
                return TheoremResult(checks=[])
            except ComputationBreakdown as exc:
                notes.append(f"incomplete: {name} could not be computed: {exc}")
                return TheoremResult(checks=[])
        # KBE's trajectory, the one nonlinear flow to integrate, beside the other checks
        prefetch = Prefetch.start(P)
        try:
            checks, t1, t2, t3 = _stages(P, run, say, prefetch)
        finally:
            if prefetch is not None:
                prefetch.close()
        dJ = {"implicit": P.dJ_dtheta or None, "rbp_limit": t1.extra.get("rbp_limit"),
              "ep_limit": t2.extra.get("ep_limit"), "finite_difference": t2.extra.get("finite_difference")}
    if t1.extra.get("t_infinity") is not None:
        notes.append(f"T1.limit compares Thetabar at t = {t1.extra['t_infinity']:.4g}, where "
                     "expm(-t H) is below the working precision")
    elif not stopped and not any(n.startswith("T1.limit") for n in notes):
        notes.append("T1.limit skipped: s0 does not attract, Thetabar_t has no limit")
    verdict = _verdict(assumptions, checks, P.times, notes)
    report = Report(**base, working_dps=P.working_dps, s_free=P.s0,
                    hessian_min_eigenvalue=P.eig_min, dJ_dtheta=dJ, times=P.times,
                    series={**t1.series, **t3.series}, checks=checks, assumptions=assumptions,
                    verdict=verdict, notes=notes, seconds=time.perf_counter() - started,
                    engine=P.system.engine, bias=t2.extra.get("bias", {}))
    return report


def _stages(P, run, say, prefetch):
    """The checks in turn; KBE's last, so that its trajectory integrates beside the others
    (its rows still come first in the report). Returns ``(checks, t1, t2, t3)``."""
    checks = []
    implicit = run("IFT", "2.3", quantities.implicit_gradient)
    P.dJ_dtheta = implicit if isinstance(implicit, list) else []
    say("RBP's adjoint ODE integrated (3.5-3.8, used by Theorems 1 and 3)")
    rbp = run("T1", "3.5-3.8", quantities.rbp_adjoint)
    t1 = t3 = TheoremResult(checks=[])
    if isinstance(rbp, quantities.RBPSeries):
        say("Theorem 1: RBP adjoint, closed form, definition 3.3")
        t1 = run("T1", "3.5-3.8", theorem1.check, adjoint=lambda _: rbp)
        checks += t1.checks
    say("Theorem 2: EP gradient from real betas, finite-beta bias")
    t2 = run("T2", "4.4", theorem2.check)
    checks += t2.checks
    if isinstance(rbp, quantities.RBPSeries):
        say("Theorem 3: nudged phase with complex beta")
        t3 = run("T3", "5.4-5.5", theorem3.check, rbp=lambda _: rbp)
        checks += t3.checks
    say("Kolmogorov backward equation (A.3)" +
        (", its trajectory integrated beside the checks above" if prefetch else ""))

    def kbe_check(P):
        if prefetch is not None:
            prefetch.collect()
        return kbe.check(P)
    return run("KBE", "A.3", kbe_check).checks + checks, t1, t2, t3


def _verdict(assumptions, checks, times, notes):
    """Assumptions first, then any failed row, then completeness (every required row present).

    A hypothesis that fails is 'assumption violated'; one this tool could not decide (a
    limit: an eigenvalue within rounding of zero) makes the run 'incomplete' before any row
    is read: a failed row could be the undecided hypothesis failing."""
    if any(not a.holds and a.fatal and not a.tool_limit for a in assumptions):
        return Verdict.ASSUMPTION_VIOLATED
    undecided = [a for a in assumptions if not a.holds and a.fatal and a.tool_limit]
    if undecided:
        notes.append(f"incomplete: {undecided[0].message}")
        return Verdict.INCOMPLETE
    if not all(c.passed for c in checks):
        return Verdict.NOT_VERIFIED
    soft = [a for a in assumptions if not a.holds]
    if soft:  # a hypothesis that failed without failing a row (an asymmetric block the cost
        # never sees, say): agreement outside the hypotheses is not a verification
        notes.append(f"every row passed, but the hypothesis '{soft[0].id}' does not hold")
        return Verdict.ASSUMPTION_VIOLATED
    produced = {c.id for c in checks}
    tested = {c.id for c in checks if c.testable}
    missing = [r for r in REQUIRED_ROWS if r not in produced]
    if missing:
        why = ("the time grid has no t > 0; give one, e.g. times 0,1,5" if not any(times) else
               "see the notes and assumptions")
        notes.append(f"incomplete: no row for {', '.join(missing)} ({why})")
    untested = [r for r in REQUIRED_ROWS if r in produced and r not in tested]
    if untested:
        notes.append(f"incomplete: {', '.join(untested)} had nothing to compare: every term of "
                     "the quantity is zero at s0 (a cost stationary there, or a parameter that "
                     "does not reach it); change the data or the target")
    if missing or untested:
        return Verdict.INCOMPLETE
    return Verdict.VERIFIED


def _finish(report, throw):
    if throw and report.verdict is not Verdict.VERIFIED:
        raise VerificationFailed(f"{report.model}: {report.verdict.value}")
    return report
