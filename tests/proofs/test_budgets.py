"""Runaway computations end with a verdict or an error that names the cause, never a hang.

Each case runs in process under an alarm: a hang fails the test instead of
blocking the suite (no timing is asserted).
"""

import signal

import pytest

from eqprop import EqpropError, Model, Verdict, verify

KW = dict(state=["a", "b"], params={"w": "0.3"}, data={"x": "0.5", "y": "0.2"})


@pytest.fixture(autouse=True)
def alarm():
    def hang(*_):
        raise TimeoutError("a budget did not stop this computation")
    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_a_stiff_energy_is_refused_with_its_condition_number():
    m = Model(energy="10**8*(a - w)**2 + b**2/2 - x*b", cost="(a - y)**2/2", **KW)
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE  # a limit of this tool, not of the theorems
    bad = [a for a in r.assumptions if not a.holds]
    assert bad[0].id == "well conditioned" and bad[0].tool_limit and float(bad[0].value) > 1e8
    assert any("too stiff" in n for n in r.notes)


def test_a_curvature_ratio_beyond_the_working_digits_is_singular_to_that_precision():
    """cond 2e30 at 30 working digits: H's smallest eigenvalue is within rounding of |H|, so the
    tool cannot tell a singular H from a stiff one; both ways out are named."""
    m = Model(energy="10**30*(a - w)**2 + b**2/2 - x*b", cost="(a - y)**2/2", **KW)
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE
    bad = [a for a in r.assumptions if not a.holds]
    assert bad[0].id == "isolated minimum" and bad[0].tool_limit
    assert "too ill-conditioned to tell" in bad[0].message and "rescale" in bad[0].message


def test_a_near_singular_hessian_is_not_integrated_for_ever():
    m = Model(energy="(a + b)**2/2 + 1e-14*(a - b)**2/2 - w*a - x*b", cost="(a - y)**2/2", **KW)
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is not Verdict.VERIFIED


def test_an_energy_unbounded_below_does_not_hang_the_free_phase():
    m = Model(energy="-exp(a) + b**2/2 - w*a*b - x*b", cost="(a - y)**2/2", **KW)
    assert verify(m, dps=20, engine="gbs").verdict is Verdict.ASSUMPTION_VIOLATED


def test_an_ill_conditioned_limit_is_still_checked():
    """lambda_min = 1e-3, lambda_max = 1: Thetabar's limit (t_inf ~ 5e4) is beyond the
    integration budget of the grid (it was skipped: 'incomplete'); the adjoint gets there by
    doubling steps, and T1.limit is a row."""
    m = Model(energy="1e-3*(a + b)**2/4 + (a - b)**2/4 - w*a", cost="(a - y)**2/2",
              state=["a", "b"], params={"w": "0.5"}, data={"y": "1"})
    r = verify(m, dps=12, engine="gbs", times=[0, 1])
    assert r.verdict is Verdict.VERIFIED, r.notes
    limit = [c for c in r.checks if c.id == "T1.limit"]
    assert limit and limit[0].t > 4e4 and limit[0].passed


def test_times_beyond_the_budget_are_refused_before_the_work():
    m = Model(energy="(a**2 + b**2)/2 - w*a*b - x*b", cost="(a - y)**2/2", **KW)
    with pytest.raises(EqpropError, match="at most"):
        verify(m, dps=12, engine="gbs", times=[0, 1e5])


def test_a_run_out_of_time_is_incomplete_never_not_verified():
    """The wall-time budget stops the stage that runs; its rows are missing, the verdict
    'incomplete', and the note says which budget ran out and what to change."""
    r = verify(Model(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b)", cost="(a - y)**2/2", **KW), dps=20, engine="gbs", time_limit=0.05)
    assert r.verdict is Verdict.INCOMPLETE
    assert any("time limit of 0.05 s ran out" in n and "--time-limit" in n for n in r.notes)
    assert not any(not c.passed for c in r.checks)


def test_an_exhausted_step_budget_is_incomplete_never_not_verified(monkeypatch):
    """More integration steps than the budget: a limit of the tool, not a failed identity."""
    import importlib
    monkeypatch.setattr(importlib.import_module("eqprop.numeric.integrate"), "MAX_STEPS", 3)
    r = verify(Model(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b)", cost="(a - y)**2/2", **KW), dps=20, engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE, r.table()
    assert any("more than 3 steps" in n for n in r.notes)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "soon", 1e9, True])
def test_a_bad_time_limit_is_refused(bad):
    with pytest.raises(EqpropError, match="time_limit"):
        verify(Model(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b)", cost="(a - y)**2/2", **KW), dps=20, time_limit=bad)


def test_the_time_limit_comes_from_the_model_file_too(tmp_path):
    from eqprop import load_model
    path = tmp_path / "m.toml"
    path.write_text('state = ["a", "b"]\nenergy = "(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b)"\n'
                    'cost = "(a - y)**2/2"\n[params]\nw = "0.3"\n[data]\nx = "0.5"\ny = "0.2"\n'
                    '[verify]\ntime_limit = 0.05\n')
    r = verify(load_model(str(path)), dps=20, engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE
    assert any("time limit of 0.05 s" in n for n in r.notes)


def test_long_stages_say_they_are_still_running_with_real_counts(monkeypatch):
    """Progress on a long run: plain lines with the stage, the time used of the budget and
    the work done so far (counted where it is done, not estimated)."""
    import importlib
    monkeypatch.setattr(importlib.import_module("eqprop.numeric.integrate"), "HEARTBEAT_SECONDS", 0)
    lines = []
    verify(Model(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b)", cost="(a - y)**2/2", **KW),
           dps=20, engine="gbs", progress=lines.append)
    beats = [s for s in lines if "still running" in s]
    assert beats and all("of 600 s" in s for s in beats)
    assert any(s.startswith("Theorem 2") and "Newton iterations" in s for s in beats)
    assert any("integration steps" in s and "trajectories" in s for s in beats)


@pytest.mark.parametrize("energy", ["cosh(50*a) + b**2/2 - w*b", "exp(1000*a**2) + b**2 - w*b"])
def test_a_step_far_beyond_a_stiff_flows_stability_is_cut_short(energy):
    """The KBE point sits where the curvature is 1e10 times that at s0: an extrapolation
    step there grew the state to magnitudes whose sine MPFR computes for minutes, between
    two checks of the time limit. A substep beyond 10^30 times the start now fails the step."""
    r = verify(Model(energy=energy, cost="(a - y)**2/2", **KW), dps=15, engine="gbs",
               time_limit=40)
    assert r.verdict in (Verdict.VERIFIED, Verdict.INCOMPLETE), r.table()
    assert not any(not c.passed for c in r.checks), r.table()


def test_a_budget_that_runs_out_in_ep_is_not_retried_into_a_failed_row():
    """ep_gradient shrinks its step on a breakdown; a budget that ran out must not be taken for
    one (six instant retries, then a 'could not be solved' row: 'not verified')."""
    import importlib
    import mpmath
    from eqprop.proofs import quantities as q
    from eqprop.proofs.options import resolve
    from eqprop.proofs.problem import prepare
    integrate = importlib.import_module("eqprop.numeric.integrate")
    m = Model(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b)", cost="(a - y)**2/2", **KW)
    P, _, _ = prepare(m, resolve(m, dps=20, engine="gbs"))
    with mpmath.workdps(P.working_dps), integrate.time_budget(0):
        for side in (q.ep_gradient, q.finite_beta_estimates):
            with pytest.raises(integrate.BudgetExhausted):
                side(P)


def test_a_cut_default_grid_and_user_times_beyond_the_budget_agree_with_the_readme():
    """cond 1000 with the cost along the slow direction: the default grid would reach
    t lambda_max ~ 14000 and is cut at 5000 with a note, and the run is verified at the times
    of the cut grid; the same times asked for beyond the budget are refused, exit 2."""
    m = Model(energy="500*a**2 + b**2/2 - w*a*b - x*b - x*a", cost="(b - y)**2/2", **KW)
    r = verify(m, dps=20, engine="gbs")
    assert any("default grid stops" in n for n in r.notes), r.notes
    assert r.verdict is Verdict.VERIFIED, r.table()
    assert max(r.times) * 1000 <= 5000 * 1.01
    with pytest.raises(EqpropError, match="at most 5000 are allowed"):
        verify(m, dps=20, engine="gbs", times=[0, 1, 20])
