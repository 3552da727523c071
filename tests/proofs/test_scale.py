"""Theorem 3 at scale: complex-step nudging gives agreement at float64 rounding."""

import numpy as np
import pytest

from eqprop.proofs.scale import check_theorem3, network, scale
from eqprop.proofs.scale_theorem3 import _complex_step_run, _Readout


@pytest.fixture(scope="module")
def small():
    return scale([6, 8, 7, 5], batch=4, steps=60, continuous=True, seed=1)


def _onehot_net(layers, batch, seed, **kw):
    rng = np.random.default_rng(seed)
    x, y = rng.random((batch, layers[-1])), np.eye(layers[0])[rng.integers(0, layers[0], batch)]
    return network(layers, batch=batch, values={"x": x, "y": y}, seed=seed, **kw)


def test_complex_step_agreement_per_layer(small):
    assert small.passed, small.table()
    for row in small.rows:
        assert row["complex_step"] <= 1e-12, row
        # the real beta carries its O(beta) bias, the symmetric estimator O(beta^2)
        assert 1e-4 < row["real_beta"] < 0.1, row
        assert row["symmetric_beta"] < row["real_beta"] / 10, row
    for row in small.continuous:
        assert row["complex_step"] <= 1e-9, row
    assert small.gradient["ep_vs_implicit"] <= 1e-12
    assert small.gradient["rbp_vs_implicit"] <= 1e-12
    assert small.residual <= 1e-12
    assert [r["quantity"] for r in small.rows] == ["s0", "s1", "s2", "W01", "W12", "W23"]


def test_bias_slopes_one_and_two():
    """Normalized error against beta: slope ~1 one-sided, ~2 symmetric."""
    net = _onehot_net([4, 6, 5], 3, 2)
    s0, _, _ = net.newton(np.zeros((3, net.n_free)))
    betas = [0.04, 0.02, 0.01, 0.005]
    one, sym = [], []
    for b in betas:
        rows = check_theorem3(net, s0, steps=30, beta=b)
        one.append(rows[0]["real_beta"])
        sym.append(rows[0]["symmetric_beta"])
    s1 = np.polyfit(np.log10(betas), np.log10(one), 1)[0]
    s2 = np.polyfit(np.log10(betas), np.log10(sym), 1)[0]
    assert abs(s1 - 1) < 0.1 and abs(s2 - 2) < 0.15, (s1, s2)


def test_asymmetric_weights_fail_by_a_reported_margin():
    r = scale([6, 8, 7, 5], batch=4, steps=60, asymmetry=0.5, seed=1)
    assert not r.passed
    hidden = [row for row in r.rows if row["quantity"] in ("s1", "s2")]
    assert all(row["complex_step"] > 1e-3 for row in hidden), r.table()
    assert r.gradient["ep_vs_implicit"] > 1e-3
    assert r.gradient["rbp_vs_implicit"] <= 1e-12  # RBP is still exact


def test_digits_data_if_available():
    pytest.importorskip("sklearn")
    r = scale([10, 12, 64], batch=8, data="digits", steps=40)
    assert r.passed, r.table()


@pytest.mark.parametrize("kw", [{}, {"biases": True, "cost": "cross_entropy"}, {"asymmetry": 0.3},
                                {"rho": "tanh"}])
def test_dual_complex_step_equals_complex128(kw):
    """The dual form (real part and tangent in one generated pass) is the complex128 run."""
    net = _onehot_net([5, 9, 7, 6], 4, 3, **kw)
    s0, _, _ = net.newton(np.zeros((4, net.n_free)))
    h = 1e-20
    readout = _Readout(net, s0, net.linearize(s0))
    n_steps = 0
    for dual, plain in zip(_complex_step_run(net, s0, h, 25, 0.5, readout),
                           _complex_step_run(net, s0, h, 25, 0.5, readout, dual=False)):
        n_steps += 1
        (st1, th1, u1), (st2, th2, u2) = dual, plain
        # the deviation and Thetatilde to rounding; Stilde is a difference of large forces
        # and keeps about 16 - log10(|u| / |Stilde|) digits (the documented floor)
        np.testing.assert_allclose(u1, u2, rtol=1e-13, atol=1e-15)
        for a, b in zip(th1, th2):
            a = a.dense() if hasattr(a, "dense") else a
            b = b.dense() if hasattr(b, "dense") else b
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14 * np.max(np.abs(b)))
        # Stilde = (u_k - u_{k+1}) / eps: the deviation's rounding over eps, and a few units of
        # float64's rounding of the terms H u (the two routes round differently)
        floor = 40 * 2.0**-53 * np.max(np.abs(u2))
        np.testing.assert_allclose(st1, st2, rtol=1e-13 / 0.5, atol=floor)
    assert n_steps == 25


def test_dual_form_falls_back_to_complex128_for_a_large_step():
    """With h = 1e-3 the imaginary parts leave the dual-number range: complex128 takes over."""
    net = _onehot_net([3, 6, 4], 2, 4)
    s0, _, _ = net.newton(np.zeros((2, net.n_free)))
    readout = _Readout(net, s0, net.linearize(s0))
    a = [t[0].copy() for t in _complex_step_run(net, s0, 1e-3, 10, 0.5, readout)]
    b = [t[0].copy() for t in _complex_step_run(net, s0, 1e-3, 10, 0.5, readout, dual=False)]
    assert len(a) == len(b) == 10
    for p, q in zip(a, b):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)


def test_factored_agreement_equals_dense():
    """Comparing A^T X with B^T X through the Gram matrix X X^T gives the dense sums."""
    from eqprop.numeric.namespaces import Factored
    from eqprop.proofs.scale_agreement import _Agreement
    rng = np.random.default_rng(7)
    X = rng.random((6, 11))
    dense, factored = _Agreement(), _Agreement()
    for size in (1.0, 1e-13, 0.0):  # a large, a rounding-sized and a zero difference
        A = rng.normal(size=(6, 4))
        B = A + size * rng.normal(size=(6, 4))
        dense.add(A.T @ X, B.T @ X)
        factored.add(Factored(A, X), Factored(B, X))
        # the mixed case falls back to the dense product
        mixed = _Agreement()
        mixed.add(Factored(A, X), B.T @ X)
        np.testing.assert_allclose(mixed.steps, dense.steps[-1:], rtol=1e-12, atol=1e-300)
    # at a 1e-13 difference the dense side carries the products' own rounding
    # (1e-16 of |A^T X|, so ~1e-3 of the difference); the factored side does not
    np.testing.assert_allclose(factored.steps, dense.steps, rtol=1e-2, atol=1e-300)
    assert abs(factored.steps[0] / dense.steps[0] - 1) < 1e-10
    assert factored.steps[-1] == 0.0 and factored.steps[0] > 0.1
    assert factored.normalized == pytest.approx(dense.normalized, rel=1e-10)


def test_network_without_hidden_layer():
    """One free layer: no neighbours among the free layers (H^T v has no coupling term)."""
    net = _onehot_net([3, 4], 2, 0, biases=True)
    s0, _, _ = net.newton(np.zeros((2, net.n_free)))
    rows = check_theorem3(net, s0, steps=30)
    assert [r["quantity"] for r in rows] == ["s0", "W01", "b0"]
    assert all(r["complex_step"] <= 1e-12 for r in rows), rows


def test_cost_depending_on_theta_enters_both_sides():
    """A cost with a parameter (weight decay in C): Thetabar_0 = C_theta, Thetatilde adds it."""
    from eqprop.symbolic.arrays import ArrayModel
    m = ArrayModel(energy="sum(s**2)/2 - tanh(s) @ W @ x", cost="sum((s - y)**2)/2 + sum(W**2)/20",
                   state={"s": 3}, params={"W": {"shape": "3, 4", "init": "normal(0, 0.5)"}},
                   data={"x": {"shape": 4, "init": "uniform(0, 1)"},
                         "y": {"shape": 3, "init": "uniform(0, 1)"}})
    r = scale(m, batch=2, steps=40)
    assert r.passed, r.table()
    assert r.rows[-1]["quantity"] == "W" and r.rows[-1]["complex_step"] <= 1e-14
