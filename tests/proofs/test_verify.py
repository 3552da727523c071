"""verify() on models where the theorems hold: every identity at near working precision."""

import json

import mpmath
import pytest
from problems import TWO

from eqprop import Model, Verdict, VerificationFailed, verify
from eqprop.proofs import REQUIRED_ROWS
from eqprop.proofs import quantities as q
from eqprop.proofs import theorem2
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare

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


def test_params_keep_their_declared_order_everywhere():
    """A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(energy="(a**2 + b**2)/2 - w1*tanh(a)*tanh(b) - w2*x*tanh(b) - v1*a - v2*b",
              cost="(a - y)**2/2", state=["a", "b"],
              params={"w1": "0.3", "w2": "0.5", "v1": "0.1", "v2": "-0.2"}, data={"x": "0.5", "y": "0.2"})
    r = verify(m, dps=15, times=[0, 1], engine="gbs")
    d = json.loads(r.to_json())
    assert [p["name"] for p in d["params"]] == ["w1", "w2", "v1", "v2"]
    assert [p["value"] for p in d["params"]] == ["3/10", "1/2", "1/10", "-1/5"]
    implicit = [mpmath.mpf(v) for v in d["dJ_dtheta"]["implicit"]]
    assert len(implicit) == 4 and len(d["series"]["theta_bar"][0]) == 4
    # v1, v2 push the state linearly (dE/ds gains -v): dJ/dv = H^-1 C_s, paired by position
    with mpmath.workdps(30):
        P, _, _ = prepare(m, resolve(m, dps=15, times=[0, 1], engine="gbs"))
        z = mpmath.lu_solve(P.H, mpmath.matrix(P.C_s))
        assert abs(implicit[2] - z[0]) < 1e-12 and abs(implicit[3] - z[1]) < 1e-12


def test_a_parameter_only_in_the_cost_declared_last(engine):
    """A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(**{**TWO, "cost": "(a - y)**2/2 + z*b**2/2", "params": {"w": "0.3", "z": "0.1"}})
    assert verify(m, dps=20, engine=engine).verdict is Verdict.VERIFIED


def test_a_grid_without_positive_times_is_incomplete():
    """A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    r = verify(Model(**TWO), dps=20, times=[0], engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE and r.exit_code == 1
    assert any("T3.S" in n and "t > 0" in n for n in r.notes), r.notes
    present = {c.id for c in r.checks}
    assert {"T3.S", "T3.Theta", "T1.S"}.isdisjoint(present) and present < set(REQUIRED_ROWS)


def test_a_computation_that_breaks_down_is_incomplete_not_a_failure(monkeypatch):
    """A number that could not be computed is no evidence that an identity fails.

    A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    from eqprop.numeric.highprec import ComputationBreakdown
    from eqprop.proofs import theorem2

    def broken(P, **_):
        raise ComputationBreakdown("Newton did not converge (a test)")
    monkeypatch.setattr(theorem2, "check", broken)
    r = verify(Model(**TWO), dps=15, engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE, r.table()
    assert any("T2 could not be computed" in n for n in r.notes), r.notes


def test_a_breakdown_keeps_the_rows_already_computed(monkeypatch):
    """IFT's Newton breaking down used to drop the whole Theorem 2 stage, a failing T2 row
    with it: 'incomplete' instead of 'not verified'.

    Found by a review of units, offsets and exact zeros (test_verdict_scales.py)."""
    from eqprop.numeric.highprec import ComputationBreakdown
    from eqprop.proofs import quantities

    def wrong_ep(P):
        value, err, sizes = q.ep_gradient(P)
        return [v * (1 + mpmath.mpf("1e-3")) for v in value], err, sizes

    def broken(P, directions=None):
        raise ComputationBreakdown("Newton did not converge (a test)")
    monkeypatch.setattr(quantities, "ift_gradient", broken)
    monkeypatch.setattr(theorem2.check, "__kwdefaults__",
                        {**theorem2.check.__kwdefaults__, "ep": wrong_ep, "ift": broken})
    r = verify(Model(**TWO), dps=15, engine="gbs")
    assert r.verdict is Verdict.NOT_VERIFIED, r.table()
    assert any("IFT.cs could not be computed" in n for n in r.notes), r.notes
