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
    m = Model(energy="10**30*(a - w)**2 + b**2/2 - x*b", cost="(a - y)**2/2", **KW)
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE  # a limit of this tool, not of the theorems
    bad = [a for a in r.assumptions if not a.holds]
    assert bad[0].id == "well conditioned" and bad[0].tool_limit and float(bad[0].value) > 1e29
    assert any("too stiff" in n for n in r.notes)


def test_a_near_singular_hessian_is_not_integrated_for_ever():
    m = Model(energy="(a + b)**2/2 + 1e-14*(a - b)**2/2 - w*a - x*b", cost="(a - y)**2/2", **KW)
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is not Verdict.VERIFIED


def test_an_energy_unbounded_below_does_not_hang_the_free_phase():
    m = Model(energy="-exp(a) + b**2/2 - w*a*b - x*b", cost="(a - y)**2/2", **KW)
    assert verify(m, dps=20, engine="gbs").verdict is Verdict.ASSUMPTION_VIOLATED


def test_an_ill_conditioned_limit_is_skipped_and_said():
    """lambda_min = 1e-3, lambda_max = 1: Thetabar's limit is beyond the integration budget."""
    m = Model(energy="1e-3*(a + b)**2/4 + (a - b)**2/4 - w*a", cost="(a - y)**2/2",
              state=["a", "b"], params={"w": "0.5"}, data={"y": "1"})
    r = verify(m, dps=12, engine="gbs", times=[0, 1])
    assert r.verdict is Verdict.INCOMPLETE
    assert any(n.startswith("T1.limit skipped") for n in r.notes), r.notes


def test_times_beyond_the_budget_are_refused_before_the_work():
    m = Model(energy="(a**2 + b**2)/2 - w*a*b - x*b", cost="(a - y)**2/2", **KW)
    with pytest.raises(EqpropError, match="at most"):
        verify(m, dps=12, engine="gbs", times=[0, 1e5])
