"""Negative controls: each must FAIL the checks it targets (MATH.md section 5)."""

import mpmath
import pytest

import dataclasses

from eqprop import Model, Verdict, verify
from eqprop.proofs import REQUIRED_ROWS, kbe, theorem1, theorem2, theorem3
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import Problem, prepare
from eqprop.proofs.quantities import finite_beta_estimates

TWO = dict(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b)", cost="(a - y)**2/2",
           state=["a", "b"], params={"w": "0.3"}, data={"x": "0.5", "y": "0.2"})


def _problem(dps, times=(0, 1, 4)):
    model = Model(**TWO)
    P, _, _ = prepare(model, resolve(model, dps=dps, times=list(times), engine="gbs"))
    return P


class _Perturbed(Problem):
    """A problem whose every comparison sees the left side moved by 1e-30."""

    def compare(self, id, equation, t, lhs, rhs, **kw):
        return super().compare(id, equation, t, [x + mpmath.mpf(10) ** -30 for x in lhs], rhs, **kw)


def test_one_side_perturbed_by_1e_30_is_not_verified():
    """At dps 50, a perturbation of 1e-30 on one side of every identity is caught."""
    P = _problem(50)
    bad = _Perturbed(**{f.name: getattr(P, f.name) for f in dataclasses.fields(P) if f.init})
    rows = []
    with mpmath.workdps(P.working_dps):
        for check in (kbe.check, theorem1.check, theorem2.check, theorem3.check):
            rows += check(bad).checks
    identity_rows = [c for c in rows if c.kind == "identity"]
    assert {c.id for c in identity_rows} == set(REQUIRED_ROWS) - {"T2.bias1", "T2.bias2"}
    assert all(not c.passed for c in identity_rows), [(c.id, c.t, c.digits) for c in identity_rows]
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


def test_biased_estimator_fails_the_slope_rows():
    """An EP readout biased like sign(beta) sqrt(|beta|) breaks the O(beta) and O(beta^2)
    laws: the slope rows must fail (the bias handed to the check as its estimator side)."""
    P = _problem(30, times=(0, 1))

    def biased(P):
        one, sym, betas = finite_beta_estimates(P)
        bias = [mpmath.sqrt(b) * mpmath.mpf(10) ** -4 for b in betas]
        return ([[v + e for v in row] for row, e in zip(one, bias)],
                [[v + e for v in row] for row, e in zip(sym, bias)], betas)
    with mpmath.workdps(P.working_dps):
        rows = [c for c in theorem2.check(P, estimates=biased).checks if c.kind == "slope"]
        control = [c for c in theorem2.check(P).checks if c.kind == "slope"]
    assert len(rows) == 2 and not any(c.passed for c in rows), rows
    assert len(control) == 2 and all(c.passed for c in control), control
