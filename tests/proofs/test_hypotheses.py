"""The hypotheses at s0 (proofs/hypotheses.py): a strict minimum, a symmetric Jacobian around s0.

Thresholds relative to the model's own sizes; an asymmetry found wherever it is (a block the
cost never sees, high order at s0, inside a small domain), and rounding never taken for one.
"""

import pytest
from problems import TWO_E
from problems import TWO_PARTS as TWO

from eqprop import Model, Verdict, verify


@pytest.mark.parametrize("k", ["1e-16", "1e-12"])
def test_an_energy_in_small_units_is_still_a_minimum(k):
    """eig_min = 9e-17 was 'not positive': the thresholds are relative to H's size now.

    Found by a review of units, offsets and exact zeros (test_verdict_scales.py)."""
    m = Model(energy=f"k*({TWO_E})", **{**TWO, "data": {**TWO["data"], "k": k}})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.VERIFIED, r.table()


def test_an_asymmetric_block_the_cost_never_sees_is_not_verified():
    """A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(vector_field=["-a + 2*b", "-b", "-c + u*tanh(x) - c**3"], cost="(c - y)**2/2",
              state=["a", "b", "c"], params={"u": "0.5"}, data={"x": "0.3", "y": "0.1"})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.ASSUMPTION_VIOLATED, r.table()


def test_a_slow_asymmetric_field_is_not_a_gradient_field():
    """|J - J^T| = 1e-17 passed an absolute threshold; relative to |J| it is 2/3.

    Found by a review of units, offsets and exact zeros (test_verdict_scales.py)."""
    m = Model(state=["a", "b", "c"], vector_field=["k*(-a + w*x)", "k*(-b + c/2 + x)",
                                                   "k*(-c - b/2)"],
              cost="(a - y)**2/2", params={"w": "0.5"},
              data={"x": "0.2", "y": "0.1", "k": "1e-17"})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.ASSUMPTION_VIOLATED, r.table()
    assert not [a for a in r.assumptions if a.id == "symmetric Jacobian"][0].holds


def test_a_field_symmetric_only_at_s0_is_not_a_gradient_field():
    """F = (-a + w b^2 + x, -2 b): dF1/db - dF2/da = 2 w b vanishes at s0 (b = 0) only. Every
    row is first-order at s0 and passed: 'verified'. The Jacobian near s0 says otherwise.

    Found by the third hostile review and the math review of the verdict (issue 9)."""
    m = Model(state=["a", "b"], vector_field=["-a + w*b**2 + x", "-2*b + u*a"],
              cost="(a - y)**2/2 + (b - y)**2/2", params={"w": "0.5", "u": "0"},
              data={"x": "0.2", "y": "0.1"})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.ASSUMPTION_VIOLATED
    sym = [a for a in r.assumptions if a.id == "symmetric Jacobian"][0]
    assert not sym.holds and "around s0" in sym.message
    gradient = Model(state=["a", "b"], vector_field=["-a + w*b + x", "-2*b + w*a"],
                     cost="(a - y)**2/2 + (b - y)**2/2", params={"w": "0.5"},
                     data={"x": "0.2", "y": "0.1"})
    assert verify(gradient, dps=20, engine="gbs").verdict is Verdict.VERIFIED


def test_a_field_whose_asymmetry_is_of_high_order_at_s0():
    """dF1/db - dF2/da = -41 (a - x)^40: below 1e-10 within 0.5 of s0, 41 one unit away.

    Found by round 2 of the third hostile review (issue 9)."""
    m = Model(state=["a", "b"], vector_field=["-a + x + w*(b - w)", "-b + w + w*(a - x) + (a - x)**41"],
              cost="(a - y)**2/2 + (b - y)**2/2", params={"w": "0.3"}, data={"x": "0.2", "y": "0.1"})
    r = verify(m, dps=15, engine="gbs")
    assert r.verdict is Verdict.ASSUMPTION_VIOLATED
    assert [a.id for a in r.assumptions if not a.holds] == ["symmetric Jacobian"]


def test_a_gradient_field_with_cancellation_far_away_is_still_a_gradient_field():
    """cosh(a)^2 - sinh(a)^2 = 1 evaluated 40 from the origin loses 35 digits: the rounding
    read as an asymmetry of 4.5e-21 at dps 30 ('assumption violated').

    Found by round 3 of the third hostile review (issue 9)."""
    m = Model(state=["a", "b"], vector_field=[
        "-(w*b*(cosh(a)**2 - sinh(a)**2)*(cosh(b)**2 - sinh(b)**2) + a - m)",
        "-(w*(a - m) + b - x)"], cost="(a - y)**2/2 + (b - y)**2/2", params={"w": "0.5"},
        data={"m": "10", "x": "0.5", "y": "0.3"})
    r = verify(m, dps=30, engine="gbs", initial_state=[10, 0])
    assert r.verdict is Verdict.VERIFIED, [a.message for a in r.assumptions if not a.holds]


def test_an_asymmetry_inside_a_small_domain_is_found():
    """sqrt(R2 - a^2 - b^2) with R2 = 0.25: the far states (1 and 4 away) fall outside the
    domain and were skipped, and a curl 6e21 a^60 passed as a gradient field.

    Found by round 3 of the third hostile review (issue 9)."""
    m = Model(state=["a", "b"], vector_field=[
        "-a + w*b + x + 3*e*a*sqrt(R2 - a**2 - b**2)",
        "-b + w*a + 3*e*b*sqrt(R2 - a**2 - b**2) + c*a**61"],
        cost="(a - y)**2/2 + (b - y)**2/2", params={"w": "0.3"},
        data={"x": "0.01", "e": "0.1", "R2": "0.25", "c": "1e20", "y": "0.3"})
    r = verify(m, dps=30, engine="gbs")
    assert r.verdict is Verdict.ASSUMPTION_VIOLATED
