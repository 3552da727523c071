"""Negative controls: each must FAIL the checks it targets (MATH.md section 5)."""

import mpmath
import pytest

from eqprop import Model, Verdict, verify
from eqprop.proofs import problem as problem_module

TWO = dict(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b)", cost="(a - y)**2/2",
           state=["a", "b"], params={"w": "0.3"}, data={"x": "0.5", "y": "0.2"})


def test_one_side_perturbed_by_1e_30_is_not_verified(monkeypatch):
    """At dps 50, a perturbation of 1e-30 on one side of every identity is caught."""
    original = problem_module.Problem.compare

    def perturbed(self, id, equation, t, lhs, rhs, **kw):
        lhs = [x + mpmath.mpf(10) ** -30 for x in lhs]
        return original(self, id, equation, t, lhs, rhs, **kw)
    monkeypatch.setattr(problem_module.Problem, "compare", perturbed)
    r = verify(Model(**TWO), dps=50, times=[0, 1, 4])
    assert r.verdict is Verdict.NOT_VERIFIED
    identity_rows = [c for c in r.checks if "bias" not in c.id]
    assert identity_rows and all(not c.passed for c in identity_rows), r.table()
    assert all(c.digits < 32 for c in identity_rows)


def test_unperturbed_control_passes():
    """The same run without the perturbation passes: the control above is meaningful."""
    r = verify(Model(**TWO), dps=50, times=[0, 1, 4])
    assert r.verdict is Verdict.VERIFIED, r.table()
    assert r.min_digits >= 45


def test_saddle_point_is_an_assumption_violation():
    m = Model(energy="(a**2 - b**2)/2 + w*a*b**2", cost="(a - y)**2/2", state=["a", "b"],
              params={"w": "0.5"}, data={"y": "1"})
    r = verify(m, dps=20)
    assert r.verdict is Verdict.ASSUMPTION_VIOLATED
    pd = {a.id: a for a in r.assumptions}["positive definite"]
    assert not pd.holds and float(pd.value) < 0


def test_asymmetric_vector_field_breaks_theorem_3_only():
    m = Model(vector_field=["-a + w*tanh(b)", "-b + u*tanh(a) + x"], cost="(a - y)**2/2",
              state=["a", "b"], params={"w": "0.5", "u": "-0.3"}, data={"x": "0.2", "y": "0.1"})
    r = verify(m, dps=30)
    by = {}
    for c in r.checks:
        by.setdefault(c.id, []).append(c.passed)
    assert all(by["KBE"]) and all(by["T1.S"]) and all(by["T1.Theta"]) and all(by["T1.S.def"])
    assert all(by["T1.limit"]) and all(by["IFT.cs"])
    assert not all(by["T3.S"]) and not all(by["T2"])
    assert r.verdict is Verdict.NOT_VERIFIED
    asym = {a.id: a for a in r.assumptions}["symmetric Jacobian"]
    assert not asym.holds and float(asym.value) > 0.1


def test_symmetric_vector_field_passes():
    """Control for the above: a gradient field written as a vector field satisfies Theorem 3."""
    m = Model(vector_field=["-a + w*(1 - tanh(a)**2)*tanh(b)",
                            "-b + w*(1 - tanh(b)**2)*tanh(a) + x*(1 - tanh(b)**2)"],
              cost="(a - y)**2/2", state=["a", "b"], params={"w": "0.3"},
              data={"x": "0.5", "y": "0.2"})
    r = verify(m, dps=30)
    assert r.verdict is Verdict.VERIFIED, r.table()


def test_non_smooth_rho_at_a_kink_is_flagged():
    m = Model(energy="(a**2 + b**2)/2 - w*Abs(a)*b - x*b", cost="(b - y)**2/2",
              state=["a", "b"], params={"w": "0.3"}, data={"x": "0", "y": "0.2"})
    r = verify(m, dps=20)
    smooth = {a.id: a for a in r.assumptions}["twice differentiable"]
    assert not smooth.holds and "Abs" in smooth.message
    assert r.verdict is Verdict.ASSUMPTION_VIOLATED


@pytest.mark.parametrize("dps", [15])
def test_low_precision_reports_low_digits(dps):
    r = verify(Model(**TWO), dps=dps)
    assert max(c.digits for c in r.checks) <= dps
    assert r.working_dps == dps + 10


def test_biased_estimator_fails_the_slope_rows(monkeypatch):
    """An EP readout biased like sign(beta) sqrt(|beta|) breaks the O(beta) and O(beta^2)
    laws: the slope rows must fail."""
    from eqprop.proofs import theorem2
    original = theorem2.ep_side

    def offset(P, beta, s_beta):
        b = mpmath.re(beta)
        bias = mpmath.sign(b) * mpmath.sqrt(abs(b)) * mpmath.mpf(10) ** -4
        return [v + bias for v in original(P, beta, s_beta)]
    monkeypatch.setattr(theorem2, "ep_side", offset)
    r = verify(Model(**TWO), dps=30, times=[0, 1])
    bias = [c for c in r.checks if "bias" in c.id]
    assert bias and not any(c.passed for c in bias), r.table()
    assert r.verdict is Verdict.NOT_VERIFIED
