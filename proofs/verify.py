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

from eqprop.errors import EqpropError
from eqprop.numeric.highprec import ComputationBreakdown
from eqprop.numeric.integrate import BudgetExhausted, position, time_budget

from . import kbe, quantities, theorem1, theorem2, theorem3
from .kbe_sides import Prefetch
from .options import ENGINES, flag, resolve
from .outcomes import Finding, Outcome, worst
from .problem import prepare
from .report import REQUIRED_ROWS, Report, TheoremResult, Verdict, VerificationFailed

__all__ = ["verify", "ENGINES", "as_model", "Record", "decide", "assumption_findings", "completeness",
           "VERDICTS"]


def as_model(model):
    """A :class:`~eqprop.Model` from what the entry points accept: a Model, an ArrayModel
    (written out entry by entry at its sizes), a TOML path or built-in name, or None (the
    paper's example)."""
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
        return as_model(load_model(model))
    raise EqpropError(f"model: expected a Model, a TOML path or a built-in name, got {type(model).__name__}")


def verify(model=None, *, dps=None, times=None, engine=None, initial_state=None, seed=None,
           required_digits=None, time_limit=None, throw=False, progress=None,
           parallel=True) -> Report:
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
    parallel : bool
        Integrate KBE's trajectories in a forked child process while the other
        checks run (engine gbs, more than one core, a platform that forks);
        ``False``: in turn, in this process. The rows are the same either way.

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
    flag(throw, "throw")
    model = as_model(model)
    opts = resolve(model, dps=dps, times=times, required_digits=required_digits,
                   initial_state=initial_state, engine=engine, seed=seed, time_limit=time_limit,
                   parallel=parallel)
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


class Record:
    """What one run says as it goes: notes for the reader, and the typed findings of the
    stages that stopped (a finding's reason is also shown, as an 'incomplete:' note)."""

    def __init__(self, notes=()):
        self.notes = list(notes)
        self.stopped = []

    def incomplete(self, reason):
        self.notes.append(f"incomplete: {reason}")


def _run(model, opts, say, started):
    say("derive, compile, free phase")
    try:
        P, assumptions, notes = prepare(model, opts)
        stopped = None
    except BudgetExhausted as exc:
        P, assumptions, notes = None, [], []
        stopped = Finding(Outcome.MISSING, f"the free phase stopped: {exc}")
    except OverflowError as exc:  # exp(exp(exp(1000))): a value no arithmetic here can hold
        raise EqpropError(f"the model's numbers overflow while evaluating it at the start ({exc}): "
                          "a function of a huge argument, or a huge value; rescale the model") from None
    base = dict(model=model.name, dps=opts.dps, state=[s.name for s in model.state],
                params=[(s.name, v) for s, v in model.params.items()],
                kind="energy" if model.has_energy else "vector field",
                layers=list(model.layers) if model.layers else None)
    record = Record(notes)
    if P is None:
        if stopped is not None:
            record.incomplete(stopped.reason)
        # no rows ran: a hypothesis that stopped the pipeline decides, else 'incomplete'
        findings = [Finding(Outcome.MISSING, "the checks did not run")] + \
            ([stopped] if stopped else []) + assumption_findings(assumptions, rows_ran=False)
        verdict = decide(findings, record)
        return Report(**base, working_dps=opts.dps, s_free=[], hessian_min_eigenvalue=None,
                      dJ_dtheta={}, times=[], series={}, checks=[], assumptions=assumptions,
                      verdict=verdict, notes=record.notes, seconds=time.perf_counter() - started)
    with P.precision.working():
        prefetch = Prefetch.start(P)  # KBE's trajectory, integrated beside the other checks
        try:
            checks, t1, t2, t3 = _stages(P, _runner(record), say, prefetch)
        finally:
            if prefetch is not None:
                prefetch.close()
        dJ = {"implicit": _attempt(lambda: quantities.implicit_gradient(P)),
              "rbp_limit": t1.extra.get("rbp_limit"), "ep_limit": t2.extra.get("ep_limit"),
              "finite_difference": t2.extra.get("finite_difference")}
    if t1.extra.get("t_infinity") is not None:
        record.notes.append(f"T1.limit compares Thetabar at t = {t1.extra['t_infinity']:.4g}, "
                            "where expm(-t H) is below the working precision")
    elif not record.stopped and P.t_infinity is None:
        record.notes.append("T1.limit skipped: s0 does not attract, Thetabar_t has no limit")
    findings = assumption_findings(assumptions, rows_ran=True) + \
        [Finding(c.outcome, c.id) for c in checks]
    verdict = decide(findings, record, pending=completeness(checks, P.times))
    return Report(**base, working_dps=P.working_dps, s_free=P.s0,
                  hessian_min_eigenvalue=P.eig_min, dJ_dtheta=dJ, times=P.times,
                  series={**t1.series, **t3.series}, checks=checks, assumptions=assumptions,
                  verdict=verdict, notes=record.notes, seconds=time.perf_counter() - started,
                  engine=P.system.engine, bias=t2.extra.get("bias", {}))


def _attempt(compute):
    """``compute()``, or None where it breaks down (reported by the stage that needs it)."""
    try:
        return compute()
    except ComputationBreakdown:
        return None


def _runner(record):
    """``run(name, fn, P, **sides)``: one stage's rows. A budget that runs out (time,
    integration steps) stops the run; a computation that breaks down (Newton not converging,
    a singular solve) leaves this stage's rows out. Either way the rows are missing and the
    verdict incomplete (or assumption violated, at a kink): a number that could not be
    computed is no evidence that an identity fails. Returns the stage's result, or None."""
    def run(name, fn, P, **sides):
        if record.stopped:
            return None
        try:
            result = fn(P, **sides)
        except BudgetExhausted as exc:
            record.incomplete(f"{name} stopped: {exc}")
            record.stopped.append(name)
            return None
        except ComputationBreakdown as exc:
            record.incomplete(f"{name} could not be computed: {exc}")
            return None
        for ids, why in getattr(result, "missing", []):
            record.incomplete(f"{', '.join(ids)} could not be computed: {why}")
        return result
    return run


def _stages(P, run, say, prefetch):
    """The checks in turn; KBE's last, so that its trajectory integrates beside the others
    (its rows still come first in the report). Returns ``(checks, t1, t2, t3)``."""
    none = TheoremResult(checks=[])
    run("IFT", quantities.implicit_gradient, P)  # 2.3, kept on P for the rows that use it
    say("RBP's adjoint ODE integrated (3.5-3.8, used by Theorems 1 and 3)")
    rbp = run("T1", quantities.rbp_adjoint, P)
    t1 = t3 = none
    if rbp is not None:
        say("Theorem 1: RBP adjoint, closed form, definition 3.3")
        t1 = run("T1", theorem1.check, P, adjoint=lambda _: rbp) or none
    say("Theorem 2: EP gradient from real betas, finite-beta bias")
    t2 = run("T2", theorem2.check, P) or none
    if rbp is not None:
        say("Theorem 3: nudged phase with complex beta")
        t3 = run("T3", theorem3.check, P, rbp=lambda _: rbp) or none
    say("Kolmogorov backward equation (A.3)" +
        (", its trajectory integrated beside the checks above" if prefetch else ""))

    def kbe_check(P):
        if prefetch is not None:
            prefetch.collect()
        return kbe.check(P)
    kbe_rows = run("KBE", kbe_check, P) or none
    return kbe_rows.checks + t1.checks + t2.checks + t3.checks, t1, t2, t3


def assumption_findings(assumptions, *, rows_ran):
    """Each assumption's outcome: a violated hypothesis, one this tool could not decide (an
    eigenvalue within rounding of zero: a failed row could be it failing), or, where rows
    ran, a hypothesis outside the rows' sight (agreement then is not a verification)."""
    out = []
    for a in assumptions:
        if a.holds:
            continue
        if a.fatal:
            out.append(Finding(Outcome.UNDECIDED if a.tool_limit else Outcome.VIOLATED, a.message))
        elif rows_ran:
            out.append(Finding(Outcome.OUTSIDE, f"every row passed, but the hypothesis '{a.id}' "
                                                "does not hold"))
    return out


def completeness(checks, times):
    """A ``MISSING`` finding for each required row not produced, and for rows produced with
    nothing to compare (every term of the quantity zero at s0)."""
    produced = {c.id for c in checks}
    tested = {c.id for c in checks if c.testable}
    missing = [r for r in REQUIRED_ROWS if r not in produced]
    untested = [r for r in REQUIRED_ROWS if r in produced and r not in tested]
    out = []
    if missing:
        why = ("the time grid has no t > 0; give one, e.g. times 0,1,5" if not any(times) else
               "see the notes and assumptions")
        out.append(Finding(Outcome.MISSING, f"no row for {', '.join(missing)} ({why})"))
    if untested:
        out.append(Finding(Outcome.MISSING, f"{', '.join(untested)} had nothing to compare: every "
                           "term of the quantity is zero at s0 (a cost stationary there, or a "
                           "parameter that does not reach it); change the data or the target"))
    return out


#: The verdict of each decisive outcome (:mod:`.outcomes`).
VERDICTS = {Outcome.PASSED: Verdict.VERIFIED, Outcome.MISSING: Verdict.INCOMPLETE,
            Outcome.OUTSIDE: Verdict.ASSUMPTION_VIOLATED, Outcome.FAILED: Verdict.NOT_VERIFIED,
            Outcome.UNDECIDED: Verdict.INCOMPLETE, Outcome.VIOLATED: Verdict.ASSUMPTION_VIOLATED}


def decide(findings, record, pending=()):
    """The verdict of the worst of ``findings`` and ``pending``; the reason joins the notes
    where it decides (for missing rows, each of ``pending``'s; none for failed rows, which
    the table marks). ``findings``' stage stops were noted as they happened."""
    decisive = worst([*findings, *pending])
    if decisive is None:
        return Verdict.VERIFIED
    kind = decisive.outcome
    if kind is Outcome.UNDECIDED:
        record.incomplete(decisive.reason)
    elif kind is Outcome.OUTSIDE:
        record.notes.append(decisive.reason)
    elif kind is Outcome.MISSING:
        for f in pending:
            record.incomplete(f.reason)
    return VERDICTS[kind]


def _finish(report, throw):
    if throw and report.verdict is not Verdict.VERIFIED:
        raise VerificationFailed(f"{report.model}: {report.verdict.value}")
    return report
