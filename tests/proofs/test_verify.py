"""verify() on models where the theorems hold: every identity at near working precision."""

import json

import mpmath
import pytest

from eqprop import Model, Verdict, VerificationFailed, verify

EXPECTED_IDS = {"KBE", "T1.S", "T1.Theta", "T1.S.def", "T1.Theta.def", "T1.limit", "T2", "IFT.cs",
                "T2.bias1", "T2.bias2", "T3.S", "T3.Theta"}


@pytest.fixture(scope="module")
def paper30():
    return verify("paper", dps=30)


def test_paper_example_verified(paper30):
    r = paper30
    assert r.verdict is Verdict.VERIFIED, r.table()
    assert {c.id for c in r.checks} == EXPECTED_IDS
    assert r.min_digits >= 25
    assert all(c.digits <= 30 for c in r.checks)
    assert float(r.hessian_min_eigenvalue) > 0
    # every method for dJ/dtheta agrees with the implicit-function gradient
    imp = [mpmath.mpf(x) for x in r.dJ_dtheta["implicit"]]
    # the paper's 15 parameters are more than IFT_ALL_COORDINATES: IFT.cs went by directions
    # (its row compares u . dJ/dtheta), so there is no complex-step gradient to compare here
    assert r.dJ_dtheta["finite_difference"] is None
    for method in ("rbp_limit", "ep_limit"):
        got = [mpmath.mpf(x) for x in r.dJ_dtheta[method]]
        assert max(abs(a - b) for a, b in zip(got, imp)) < mpmath.mpf(10) ** -25, method


def test_report_json_has_the_documented_fields(paper30):
    d = json.loads(paper30.to_json())
    for key in ("model", "dps", "state", "params", "s_free", "hessian_min_eigenvalue", "dJ_dtheta",
                "times", "series", "checks", "assumptions", "verdict"):
        assert key in d
    assert set(d["series"]) == {"s_bar", "s_tilde", "theta_bar", "theta_tilde"}
    assert len(d["series"]["s_bar"]) == len(d["times"])
    assert len(d["series"]["theta_tilde"][0]) == len(d["params"])
    names = [p["name"] for p in d["params"]]
    assert names[0] == "W01_0_0" and names == paper30.param_names  # declared order kept
    assert set(d["checks"][0]) >= {"id", "t", "max_abs_error", "digits", "passed"}
    # high-precision numbers carry the working digits
    assert len(d["s_free"][0].replace("-", "").replace(".", "").split("e")[0]) >= 30


def test_series_rbp_and_ep_agree_in_json(paper30):
    """The saved EP and RBP series are the ones the checks compared."""
    s = paper30.series
    for sb_row, st_row in zip(s["s_bar"], s["s_tilde"]):
        for a, b in zip(sb_row, st_row):
            assert abs(mpmath.mpf(a) - mpmath.mpf(b)) <= mpmath.mpf(10) ** -24 * (1 + abs(mpmath.mpf(a)))


def test_cost_depending_on_theta_and_custom_times():
    m = Model(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b) + u*a",
              cost="(a - y)**2/2 + u**2*b", state=["a", "b"],
              params={"w": "0.3", "u": "-0.2"}, data={"x": "0.5", "y": "0.2"})
    r = verify(m, dps=25, times=[0, 0.5, 3])
    assert r.verdict is Verdict.VERIFIED, r.table()
    assert r.times == [0.0, 0.5, 3.0]
    assert r.min_digits >= 20


def test_throw_raises_on_failure():
    m = Model(energy="(a**2 - b**2)/2 + w*a*b**2", cost="(a - y)**2/2", state=["a", "b"],
              params={"w": "0.5"}, data={"y": "1"})
    with pytest.raises(VerificationFailed, match="assumption violated"):
        verify(m, dps=20, throw=True)
