"""Theorem 2's rows (proofs/theorem2.py): T2 and its slope rows, in the model's own units."""

import mpmath
import pytest
from problems import TWO_E
from problems import TWO_PARTS as TWO
from problems import failures as _failures
from problems import failures as _rows

from eqprop import Model, Verdict, verify
from eqprop.proofs import quantities as q
from eqprop.proofs import theorem2
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare


def test_the_slope_rows_are_fitted_in_the_models_own_units():
    """E and C x 1e-30: an absolute 1 in the rounding floor dropped every beta, both slope
    rows read 'bias below the working precision', and a first-order estimator passed as the
    symmetric one. Now the slopes are fitted, and the wrong estimator fails T2.bias2.

    Found by the third hostile review and the math review of the verdict (issue 9)."""
    m = Model(energy=f"k*({TWO_E})", **{**TWO, "cost": "k*(a - y)**2/2",
                                        "data": {**TWO["data"], "k": "1e-30"}})
    P, assumptions, _ = prepare(m, resolve(m, dps=20, engine="gbs"))
    assert P is not None
    with mpmath.workdps(P.working_dps):
        rows = {c.id: c for c in theorem2.check(P).checks if c.kind == "slope"}
        assert all("fitted slope" in c.limit and c.passed for c in rows.values()), rows

        def first_order_twice(P):
            one, _sym, betas = q.finite_beta_estimates(P)
            return one, one, betas
        bad = {c.id: c for c in theorem2.check(P, estimates=first_order_twice).checks
               if c.kind == "slope"}
    assert not bad["T2.bias2"].passed and bad["T2.bias1"].passed


def test_t2_is_undecided_when_its_own_extrapolation_error_explains_the_disagreement():
    """cosh^2 - sinh^2 at a = 10 cancels 8 digits; at dps 15 the Richardson extrapolation of
    the EP route carried an error estimate of 1.3e-9 and T2 'failed' with an error of 1e-9:
    a false 'not verified'. A wrong EP side converges to a wrong value and still fails (the
    mutation tests).

    Found by round 3 of the third hostile review (issue 9)."""
    m = Model(state=["a", "b"], vector_field=[
        "-(w*b*(cosh(a)**2 - sinh(a)**2)*(cosh(b)**2 - sinh(b)**2) + a - m)",
        "-(w*(a - m) + b - x)"], cost="(a - y)**2/2 + (b - y)**2/2", params={"w": "0.5"},
        data={"m": "10", "x": "0.5", "y": "0.3"})
    r = verify(m, dps=15, engine="gbs", initial_state=[10, 0])
    assert r.verdict in (Verdict.VERIFIED, Verdict.INCOMPLETE), _failures(r)


def test_a_gradient_field_in_fast_units_verifies():
    """k = 1e8: s^beta - s0 ~ beta / k, 8 digits below |s0|, which T2 now carries.

    Found by a review of units, offsets and exact zeros (test_verdict_scales.py)."""
    m = Model(vector_field=[
        "-k*(a - w*(1 - tanh(a)**2)*tanh(b))",
        "-k*(b - w*tanh(a)*(1 - tanh(b)**2) - x*(1 - tanh(b)**2))"],
        **{**TWO, "data": {**TWO["data"], "k": "1e8"}})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.VERIFIED, _rows(r)


@pytest.mark.parametrize("c", ["1e30", "1e200"])
def test_a_stiff_quadratic_is_verified_at_low_dps(c):
    """c (a - w)^2 / 2 with c = 1e30: the nudged fixed point moves by 1e-34 of s0, below the
    working precision at dps 15, so EP's route measured no motion, carried no extra digits,
    and T2 failed on rounding ('not verified' for a correct model). The rate of s^beta is now
    measured between s^+beta and s^-beta, with more digits until they differ (s0's own
    rounding is larger than the motion at c = 1e200).

    Found by the hostile review of issue 24 (older than it)."""
    m = Model(energy="c*(a - w)**2/2", cost="(a - y)**2/2", state=["a"], params={"w": "0.3"},
              data={"c": c, "y": "0.2"})
    r = verify(m, dps=15, engine="gbs")
    assert r.verdict is Verdict.VERIFIED, r.table()
