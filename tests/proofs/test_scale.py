"""Theorem 3 at scale: complex-step nudging gives agreement at float64 rounding."""

import numpy as np
import pytest

from eqprop.proofs.scale import check_theorem3, network, scale


@pytest.fixture(scope="module")
def small():
    return scale([6, 8, 7, 5], batch=4, steps=60, continuous=True, seed=1)


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


def test_bias_slopes_one_and_two():
    """Normalized error against beta: slope ~1 one-sided, ~2 symmetric."""
    net = network([4, 6, 5], seed=2)
    rng = np.random.default_rng(2)
    x, y = rng.random((3, 5)), np.eye(4)[[0, 2, 3]]
    s0, _, _ = net.newton(np.zeros((3, net.n_free)), x)
    betas = [0.04, 0.02, 0.01, 0.005]
    one, sym = [], []
    for b in betas:
        rows = check_theorem3(net, s0, x, y, steps=30, beta=b)
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
