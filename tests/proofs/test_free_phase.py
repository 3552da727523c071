"""The first stages (proofs/free_phase.py): build, the float64 free phase, the fixed point s0.

The model real where the flow starts and at s0 (the function named when not), the free phase
reaching the minimum whatever the units, and a phase that has not settled never taken for a
missing minimum.
"""

import pytest
from problems import TWO_E
from problems import TWO_PARTS as TWO

from eqprop import Model, Verdict, verify


def test_a_complex_energy_is_an_assumption_violation():
    """A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(energy="a**2/2 + b**2/2 + sqrt(x)*b - w*a*b", cost="(a - y)**2/2", state=["a", "b"],
              params={"w": "0.3"}, data={"x": "-1", "y": "0.1"})
    for required in (None, 1):
        r = verify(m, dps=20, required_digits=required)
        assert r.verdict is Verdict.ASSUMPTION_VIOLATED, r.table()
        bad = [a for a in r.assumptions if not a.holds]
        assert bad and "sqrt(x)" in bad[0].message and "-1" in bad[0].message


def test_a_function_outside_its_domain_is_named():
    """log(b - x) with x = 1 is not real where the flow starts: say which function and value.
    The start is the tool's, not a hypothesis: 'incomplete', with another start to give.

    A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(energy="a**2/2 + b**2/2 - w*a*b + log(b - x)", cost="(a - y)**2/2",
              state=["a", "b"], params={"w": "0.3"}, data={"x": "1", "y": "0.1"})
    r = verify(m, dps=20)
    assert r.verdict is Verdict.INCOMPLETE
    assert "log(b - x)" in " ".join(a.message for a in r.assumptions if not a.holds)


@pytest.mark.parametrize("energy,function", [
    ("(a**2 + b**2)/2 - w*atanh(a)*atanh(b) - x*atanh(b)", "atanh(b)"),   # no real fixed point
    ("a**2/2 + b**2/2 + log(b - x) - w*a*b", "log(b - x)"),                  # not real at the start
])
def test_leaving_the_real_domain_is_an_assumption_naming_the_function(energy, function, engine):
    """A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(energy=energy, cost="(a - y)**2/2", state=["a", "b"], params={"w": "0.3"},
              data={"x": "0.5" if "atanh" in energy else "1", "y": "0.2"})
    r = verify(m, dps=20, engine=engine)
    # outside the domain at the tool's start: 'incomplete'; at the fixed point: a violation
    assert r.verdict is (Verdict.INCOMPLETE if "log" in energy else Verdict.ASSUMPTION_VIOLATED)
    message = " ".join(a.message for a in r.assumptions if not a.holds)
    assert function in message and "needs" in message, message


def test_a_start_outside_the_domain_is_incomplete_not_a_violation():
    """The hypotheses are about s0, not about where the tool starts its free phase.

    Found by the third hostile review and the math review of the verdict (issue 9)."""
    m = Model(state=["a", "b"], energy="-log(a) + w*a + (b - a)**2/2", cost="(a - y)**2/2",
              params={"w": "2"}, data={"y": "0.3"})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE
    assert "initial state inside the domain" in [a for a in r.assumptions if not a.holds][0].message
    assert verify(m, dps=20, engine="gbs", initial_state=[1, 1]).verdict is Verdict.VERIFIED


def test_the_cost_is_not_a_hypothesis_at_the_initial_state():
    """-log(a - y) is not real at the default start a = 0, but the free phase never
    evaluates the cost: only its value at s0 is a hypothesis.

    Found by a review of units, offsets and exact zeros (test_verdict_scales.py)."""
    m = Model(energy=TWO_E, **{**TWO, "cost": "-log(a - y)",
                               "data": {"x": "0.5", "y": "0.1231085"}})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.VERIFIED, r.table()


def test_a_pole_of_the_force_at_the_start_is_incomplete_not_a_crash():
    """acos'(-1) is infinite at the default start: Newton cannot evaluate it (it was a
    ZeroDivisionError, exit 3); no fixed point was looked for, so no verdict.

    Found by a review of units, offsets and exact zeros (test_verdict_scales.py)."""
    m = Model(state=["a"], energy="a**2/2 + acos(a - 1) - w*a", cost="(a - y)**2/2",
              params={"w": "0.1"}, data={"y": "0.3"})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE, r.table()
    assert verify(m, dps=20, engine="gbs", initial_state=[0.5]).verdict is Verdict.VERIFIED


def test_a_large_scale_energy_passes_the_fixed_point_test():
    """A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(energy="k*(a**2/2 - w*tanh(a))", cost="(a - y)**2/2", state=["a"],
              params={"w": "2"}, data={"k": "1e9", "y": "0.2"})
    assert verify(m, dps=50, engine="gbs", times=[0, 1e-9]).verdict is Verdict.VERIFIED


def test_a_state_starting_at_zero_with_a_quartic_does_not_crash(engine):
    """A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(energy="a**2/2 + w*a**4 + b**2/2 - x*b", cost="(b - y)**2/2", state=["a", "b"],
              params={"w": "0.3"}, data={"x": "0.5", "y": "0.2"})
    assert verify(m, dps=20, engine=engine).verdict in (Verdict.VERIFIED, Verdict.INCOMPLETE)


def test_a_stiff_flow_next_to_a_domain_edge_is_not_said_to_leave_it():
    """-log(log(a)) + c a from a = 1.5 flows down to a* = 1 + 1/c, never below 1, but LSODA's
    trial stages did; the free phase took that for the flow leaving the domain (a false
    'assumption violated'), and the default grid could not resolve a decay in 1e-15.

    A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(state=["a"], energy="-log(log(a)) + c*a", cost="(a - y)**2/2",
              params={"c": "100000000"}, data={"y": "3"})
    r = verify(m, dps=20, engine="gbs", initial_state=[1.5])
    assert r.verdict is Verdict.VERIFIED, r.table()


def test_the_free_phase_of_a_small_energy_goes_to_the_minimum():
    """k = 1e-12: the float64 relaxation stopped at once (|grad| <= 1e-10 absolute) and
    Newton went to the barrier top; the flow from 0.2 goes to the well near a = 1.

    Found by a review of units, offsets and exact zeros (test_verdict_scales.py)."""
    m = Model(state=["a"], energy="k*((a**2 - 1)**2/4 + w*a)", cost="(a - y)**2/2",
              params={"w": "0.01"}, data={"y": "0.5", "k": "1e-12"})
    r = verify(m, dps=20, engine="gbs", initial_state=[0.2])
    assert r.verdict is Verdict.VERIFIED, r.table()
    assert abs(float(r.s_free[0]) - 0.995) < 0.01


def test_a_free_phase_that_has_not_settled_is_incomplete_not_a_violation():
    """log(cosh(a - w))/1e4 from a = 9: the float64 phase ran out of time before the slow
    direction settled, Newton failed from there, and the run said 'assumption violated' (no
    fixed point) for a strictly convex energy with a unique minimum.

    Found by round 2 of the third hostile review (issue 9)."""
    m = Model(state=["a", "b"], energy="log(cosh(a - w))/10000 + (b - x)**2/2 + w*b/10",
              cost="(a - y)**2/2 + (b - y)**2/2", params={"w": "1"}, data={"x": "0.5", "y": "0.2"})
    r = verify(m, dps=20, engine="gbs", initial_state=[9, 1])
    assert r.verdict in (Verdict.INCOMPLETE, Verdict.VERIFIED)
    assert verify(m, dps=20, engine="gbs", initial_state=[1.5, 1]).verdict is Verdict.VERIFIED


@pytest.mark.parametrize("energy,data,start", [
    ("w*a**2/2 + e*sin(k*a)", {"e": "1e-6", "k": "1e4", "y": "0.3"}, [1]),          # ripples
    ("c*sqrt(1 + (a - L)**2) + w*log(1 + a**2)/2", {"c": "150", "L": "1e7", "y": "0.3"}, [0]),
])
def test_a_free_phase_that_did_not_settle_is_never_a_violation(energy, data, start):
    """Ripples e sin(k a) took LSODA's evaluations without moving; a minimum 1e7 away was still
    being approached at 1.5e6. Both were 'no fixed point': assumption violated. Each has a
    strict minimum; from there on the tool cannot decide: incomplete.

    Found by round 3 of the third hostile review (issue 9)."""
    m = Model(state=["a"], energy=energy, cost="(a - y)**2/2", params={"w": "1"}, data=data)
    r = verify(m, dps=15, engine="gbs", initial_state=start)
    assert r.verdict is Verdict.INCOMPLETE, [a.message for a in r.assumptions if not a.holds]


def test_a_start_where_the_curvature_underflows_is_not_a_runaway():
    """E = w a + a^4/4 from a = 1e-160: the float64 phase measured time in units of the
    start's curvature, 3e-320, and -g / rate overflowed: 'no fixed point' (violated).

    Found by round 3 of the third hostile review (issue 9)."""
    m = Model(state=["a"], energy="w*a + a**4/4", cost="(a - y)**2/2", params={"w": "1"},
              data={"y": "0.3"})
    r = verify(m, dps=15, engine="gbs", initial_state=["1e-160"])
    assert r.verdict is Verdict.VERIFIED, [a.message for a in r.assumptions if not a.holds]
