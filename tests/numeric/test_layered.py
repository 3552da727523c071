"""The vectorized layered network against the symbolic path and finite differences."""

import mpmath
import numpy as np
import pytest

from eqprop import EqpropError, compile_model, derive, hopfield
from eqprop.numeric.data import load, read_idx
from eqprop.numeric.highprec import System, newton
from eqprop.numeric.layered import cg_solve
from eqprop.proofs.scale import network, network_from_model


@pytest.fixture(scope="module", params=[("sigmoid", False), ("tanh", True)], ids=["sigmoid", "tanh+b"])
def pair(request):
    rho, biases = request.param
    m = hopfield([3, 4, 5, 2], rho=rho, biases=biases, seed=3)
    net, x, y = network_from_model(m)
    return m, compile_model(derive(m)), net, x, y


def test_agrees_with_symbolic_hopfield(pair):
    """Gradient, H v and M v equal the symbolic path's to 1e-13 relative."""
    m, c, net, x, y = pair
    theta, data = (np.array([float(v) for v in vals]) for vals in m.values())
    rng = np.random.default_rng(0)
    for _ in range(3):
        s = rng.normal(size=(1, net.n_free))
        v = rng.normal(size=(1, net.n_free))
        g_sym = c.dE_ds(s[0], theta, data)
        assert np.allclose(net.dE_ds(s, x)[0], g_sym, rtol=1e-13, atol=1e-13 * np.abs(g_sym).max())
        hv_sym = c.Hv(s[0], theta, data, v[0])
        assert np.allclose(net.hv(s, x, v)[0], hv_sym, rtol=1e-13, atol=1e-13 * np.abs(hv_sym).max())
        mv_sym = c.Mv(s[0], theta, data, v[0])
        names = [p.name for p in m.params]
        dW, db = net.mv(s, x, v)
        for k, name in enumerate(names):
            if name.startswith("W"):
                l, i, j = int(name[1]), *map(int, name.split("_")[1:])
                got = dW[l][i, j]
            else:
                l, i = int(name[1]), int(name.split("_")[1])
                got = db[l][i]
            assert abs(got - mv_sym[k]) <= 1e-13 * max(1.0, np.abs(mv_sym).max())


def test_fixed_point_matches_high_precision(pair):
    m, c, net, x, y = pair
    s0, res, _ = net.newton(net.relax(np.zeros((1, net.n_free)), x, eps=0.5, steps=20), x)
    assert res <= 1e-12
    theta, data = m.values()
    with mpmath.workdps(30):
        s_mp, _, _ = newton(System(c, theta, data), [mpmath.mpf(float(v)) for v in s0[0]])
        assert np.allclose(s0[0], [float(v) for v in s_mp], rtol=0, atol=1e-13)


def test_hv_is_the_derivative_of_grad_by_complex_step():
    net = network([4, 7, 5], rho="tanh", seed=1)
    rng = np.random.default_rng(1)
    x = rng.random((3, 5))
    s, v = rng.normal(size=(3, net.n_free)), rng.normal(size=(3, net.n_free))
    h = 1e-30
    cs = net.dE_ds(s + 1j * h * v, x).imag / h
    assert np.allclose(net.hv(s, x, v), cs, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("kw", [{}, {"asymmetry": 0.3}, {"biases": True, "rho": "tanh"}],
                         ids=["symmetric", "asymmetric", "tanh+b"])
@pytest.mark.parametrize("layers", [[4, 7, 6, 5], [3, 5]], ids=["three free layers", "one"])
def test_buffered_products_equal_the_plain_ones(kw, layers):
    """layered_fast's H v, H^T v and M v into a workspace are layered's plain products."""
    from eqprop.numeric.layered import Factored, Workspace
    net = network(layers, seed=5, **kw)
    rng = np.random.default_rng(5)
    x = rng.random((3, layers[-1]))
    s = rng.normal(size=(3, net.n_free))
    lin, ws = net.linearize(s, x), Workspace()
    for v in (rng.normal(size=s.shape), rng.normal(size=s.shape) + 1j * rng.normal(size=s.shape)):
        for transpose in (False, True):
            np.testing.assert_allclose(lin.hv(v, transpose=transpose, ws=ws),
                                       lin.hv(v, transpose=transpose), rtol=1e-14, atol=1e-15)
        plain = lin.mv(v)
        for factored in (False, True):
            dW, db = lin.mv(v, ws, factored)
            assert isinstance(dW[-1], Factored) == factored
            for a, b in zip([a.dense() if factored and a is dW[-1] else a for a in dW] + db,
                            plain[0] + plain[1]):
                np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)


def test_cross_entropy_cost_gradient_by_complex_step():
    net = network([5, 6, 3], cost="cross_entropy", seed=2)
    rng = np.random.default_rng(2)
    s, v = rng.normal(size=(2, net.n_free)), rng.normal(size=(2, net.n_free))
    y = np.eye(5)[[1, 3]]
    h = 1e-30
    cs = net.cost_value(s + 1j * h * v, y).imag / h
    assert abs(np.sum(net.dC_ds(s, y) * v) - cs) < 1e-12
    cs2 = net.dC_ds(s + 1j * h * v, y).imag / h
    assert np.allclose(net.dC_ds_v(s, y, v), cs2, atol=1e-12)


def test_cg_solves_batched_systems():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(6, 6))
    A = A @ A.T + 6 * np.eye(6)
    b = rng.normal(size=(4, 6)) + 1j * rng.normal(size=(4, 6))
    z = cg_solve(lambda v: v @ A.T, b, tol=1e-15)
    assert np.allclose(z @ A.T, b, atol=1e-12)


def test_bad_input_is_refused():
    with pytest.raises(EqpropError, match="at least two"):
        network([5])
    net = network([3, 4, 2])
    with pytest.raises(EqpropError, match="expected \\(batch, 2\\)"):
        net.check_data(np.zeros((4, 3)), np.zeros((4, 3)))
    with pytest.raises(EqpropError, match="NaN"):
        net.check_data(np.full((2, 2), np.nan), np.zeros((2, 3)))
    with pytest.raises(EqpropError, match="no such file"):
        load("mnist:/nonexistent/train-images-idx3-ubyte", n_in=784, n_out=10, batch=2)
    with pytest.raises(EqpropError, match="unknown"):
        load("cifar", n_in=3, n_out=2, batch=2)


def _write_idx(path, array):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.tobytes())


def test_mnist_idx_files_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, size=(20, 4, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, size=20, dtype=np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    assert np.array_equal(read_idx(tmp_path / "t10k-images-idx3-ubyte"), images)
    x, y = load(f"mnist:{tmp_path / 't10k-images-idx3-ubyte'}", n_in=16, n_out=10, batch=5)
    assert x.shape == (5, 16) and y.shape == (5, 10)
    assert x.max() <= 1 and np.all(y.sum(axis=1) == 1)
    # every row is one of the images, with its own label
    flat = images.reshape(20, 16) / 255.0
    for xi, yi in zip(x, y):
        k = int(np.argmin(np.abs(flat - xi).sum(axis=1)))
        assert np.allclose(flat[k], xi) and labels[k] == int(np.argmax(yi))
    with pytest.raises(EqpropError, match="input layer has 784"):
        load(f"mnist:{tmp_path / 't10k-images-idx3-ubyte'}", n_in=784, n_out=10, batch=5)
    (tmp_path / "bad-images-idx3-ubyte").write_bytes(b"\x01\x02\x03")
    with pytest.raises(EqpropError, match="not an IDX"):
        read_idx(tmp_path / "bad-images-idx3-ubyte")
