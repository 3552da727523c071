"""Derivation and code generation against independent references.

References: the hand-written Hopfield dynamics of MATH.md section 1 (numpy,
from the weight values), sympy.hessian / sympy.diff on the model's SymPy
energy (the library differentiates with SymEngine), central finite
differences at 40 digits, complex-step derivatives, and the closed form of
the quadratic model.
"""

import re

import mpmath
import numpy as np
import pytest
import sympy as sp
from problems import TWO

from eqprop import Model, Verdict, derive, hopfield, quadratic, verify
from eqprop.symbolic.codegen import compile_model

RNG_SEED = 1234


def floats(values):
    return np.array([float(v) for v in values], dtype=float)


def numbers(model):
    """theta and data as float arrays in the model's declared order."""
    return floats(model.params.values()), floats(model.data.values())


def rho_np(name):
    if name == "sigmoid":
        r = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
        return r, lambda z: r(z) * (1 - r(z))
    if name == "tanh":
        return np.tanh, lambda z: 1 - np.tanh(z) ** 2
    raise ValueError(name)


def hand_dynamics(model, rho, s):
    """ds/dt of MATH.md section 1, generalized to any depth and biases.

    ds_l/dt = rho'(s_l) * (W_{l,l+1} rho(s_{l+1}) + W_{l-1,l}^T rho(s_{l-1}) + b_l) - s_l,
    with s_L = x clamped. Weights rebuilt from the parameter names W{l}{l+1}_{i}_{j}.
    """
    layers = model.layers
    L = len(layers) - 1
    W = {l: np.zeros((layers[l], layers[l + 1])) for l in range(L)}
    bias = {l: np.zeros(layers[l]) for l in range(L)}
    for sym, val in model.params.items():
        mw = re.fullmatch(r"W(\d)(\d)_(\d+)_(\d+)", sym.name)
        mb = re.fullmatch(r"b(\d)_(\d+)", sym.name)
        if mw:
            l, l1, i, j = map(int, mw.groups())
            assert l1 == l + 1
            W[l][i, j] = float(val)
        elif mb:
            l, i = map(int, mb.groups())
            bias[l][i] = float(val)
        else:
            raise AssertionError(f"unexpected parameter {sym.name}")
    data = {d.name: float(v) for d, v in model.data.items()}
    x = np.array([data[f"x_{j}"] for j in range(layers[-1])])
    r, dr = rho_np(rho)
    # split s into layers (state order: s0_*, s1_*, ...)
    names = [v.name for v in model.state]
    sl, k = [], 0
    for l in range(L):
        assert names[k:k + layers[l]] == [f"s{l}_{i}" for i in range(layers[l])]
        sl.append(s[k:k + layers[l]])
        k += layers[l]
    sl.append(x)
    out = []
    for l in range(L):
        drive = W[l] @ r(sl[l + 1]) + bias[l]
        if l > 0:
            drive = drive + W[l - 1].T @ r(sl[l - 1])
        out.append(dr(sl[l]) * drive - sl[l])
    return np.concatenate(out)


CASES = {
    "sigmoid": dict(layers=[2, 3, 3, 2], rho="sigmoid", biases=False),
    "sigmoid+biases": dict(layers=[2, 3, 3, 2], rho="sigmoid", biases=True),
    "tanh": dict(layers=[2, 3, 3, 2], rho="tanh", biases=False),
    "tanh+biases, deeper": dict(layers=[2, 3, 2, 3, 2], rho="tanh", biases=True),
}

_cache = {}


def setup(case):
    if case not in _cache:
        kw = CASES[case]
        m = hopfield(kw["layers"], rho=kw["rho"], biases=kw["biases"], seed=3)
        d = derive(m)
        _cache[case] = (m, d, compile_model(d), kw["rho"])
    return _cache[case]


def points(n, k=4, scale=1.5, seed=RNG_SEED):
    return np.random.default_rng(seed).uniform(-scale, scale, size=(k, n))


# -- gradient vs the paper's dynamics -------------------------------------------

@pytest.mark.parametrize("case", list(CASES))
def test_gradient_is_minus_paper_dynamics(case):
    m, _, c, rho = setup(case)
    theta, data = numbers(m)
    for s in points(len(m.state)):
        got = c.dE_ds(s, theta, data)
        want = -hand_dynamics(m, rho, s)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_gradient_negative_control():
    """A wrong weight in the hand formula must be detected by the same comparison."""
    m, _, c, rho = setup("sigmoid")
    theta, data = numbers(m)
    s = points(len(m.state), k=1)[0]
    wrong = m.with_params(W12_1_2=m.params[sp.Symbol("W12_1_2", real=True)] + sp.Rational(1, 100))
    assert np.max(np.abs(c.dE_ds(s, theta, data) + hand_dynamics(wrong, rho, s))) > 1e-5


# -- second derivatives vs SymPy ----------------------------------------------

def sympy_reference(m):
    """Hessian H and mixed derivative M by SymPy itself, lambdified with mpmath."""
    E = m.energy
    H = sp.hessian(E, m.state)
    M = sp.Matrix([[sp.diff(E, th, si) for si in m.state] for th in m.theta])
    args = [*m.state, *m.theta, *m.data_symbols]
    fH = sp.lambdify(args, H, modules="mpmath")
    fM = sp.lambdify(args, M, modules="mpmath")
    return fH, fM


def as_np(mat):
    return np.array(mat.tolist(), dtype=float)


@pytest.mark.parametrize("case", ["sigmoid+biases", "tanh"])
def test_hessian_and_mixed_match_sympy(case):
    m, _, c, _ = setup(case)
    theta, data = numbers(m)
    fH, fM = sympy_reference(m)
    for s in points(len(m.state), k=3):
        args = [*s, *theta, *data]
        H = c.d2E_ds2(s, theta, data)
        np.testing.assert_allclose(H, as_np(fH(*args)), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(H, H.T)  # exactly symmetric
        M = c.d2E_dtheta_ds(s, theta, data)
        assert M.shape == (len(m.params), len(m.state))
        np.testing.assert_allclose(M, as_np(fM(*args)), rtol=0, atol=1e-12)


def test_symbolic_derivatives_equal_sympy_diff():
    m, d, _, _ = setup("sigmoid+biases")
    E = m.energy
    grad = d.sympy("dE_ds")
    for i, si in enumerate(m.state):
        assert sp.simplify(grad[i] - sp.diff(E, si)) == 0
    H = d.sympy("d2E_ds2")
    assert H.shape == (len(m.state),) * 2
    ref = sp.hessian(E, m.state)
    for i in range(H.rows):
        for j in range(H.cols):
            assert sp.simplify(H[i, j] - ref[i, j]) == 0, (i, j)
    Mm = d.sympy("d2E_dtheta_ds")
    for k, th in enumerate(m.theta):
        for i, si in enumerate(m.state):
            assert sp.expand(Mm[k, i] - sp.diff(E, th, si)) == 0
    dtheta = d.sympy("dE_dtheta")
    for k, th in enumerate(m.theta):
        assert sp.expand(dtheta[k] - sp.diff(E, th)) == 0
    dC = d.sympy("dC_ds")
    for i, si in enumerate(m.state):
        assert sp.expand(dC[i] - sp.diff(m.cost, si)) == 0


@pytest.mark.parametrize("case", ["sigmoid+biases", "tanh+biases, deeper"])
def test_hessian_and_mixed_vector_products(case):
    m, _, c, _ = setup(case)
    theta, data = numbers(m)
    rng = np.random.default_rng(7)
    for s in points(len(m.state), k=3):
        v = rng.normal(size=len(m.state))
        H = c.d2E_ds2(s, theta, data)
        M = c.d2E_dtheta_ds(s, theta, data)
        np.testing.assert_allclose(c.Hv(s, theta, data, v), H.T @ v, rtol=0, atol=1e-12)
        np.testing.assert_allclose(c.Mv(s, theta, data, v), M @ v, rtol=0, atol=1e-12)


def test_cost_derivatives():
    m, _, c, _ = setup("sigmoid")
    theta, data = numbers(m)
    y = np.array([float(m.data[sp.Symbol(f"y_{i}", real=True)]) for i in range(m.layers[0])])
    s = points(len(m.state), k=1)[0]
    n0 = m.layers[0]
    want = np.zeros(len(m.state))
    want[:n0] = s[:n0] - y  # C = 1/2 |y - s_0|^2
    np.testing.assert_allclose(c.dC_ds(s, theta, data), want, atol=1e-15)
    np.testing.assert_allclose(c.C(s, theta, data), 0.5 * np.sum((y - s[:n0]) ** 2), atol=1e-15)
    want_H = np.zeros((len(m.state),) * 2)
    want_H[:n0, :n0] = np.eye(n0)
    np.testing.assert_allclose(c.d2C_ds2(s, theta, data), want_H, atol=1e-15)


def test_cost_parameter_gradient_zero_in_mpmath():
    m, _, c, _ = setup("sigmoid")
    s = points(len(m.state), k=1)[0]
    with mpmath.workdps(20):
        out = c.dC_dtheta.mp(*mp_args(m, s))
    assert len(out) == len(m.params) and all(x == 0 for x in out)


def test_cost_parameter_gradient_zero_in_numpy():
    m, _, c, _ = setup("sigmoid")
    theta, data = numbers(m)
    s = points(len(m.state), k=1)[0]
    np.testing.assert_array_equal(c.dC_dtheta(s, theta, data), np.zeros(len(m.params)))


def test_energy_parameter_gradient_is_contrastive_hebbian():
    """dE/dW01_i_j = -rho(s0_i) rho(s1_j) (MATH.md section 1)."""
    m, _, c, _ = setup("sigmoid")
    theta, data = numbers(m)
    s = points(len(m.state), k=1)[0]
    g = c.dE_dtheta(s, theta, data)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    idx = {v.name: k for k, v in enumerate(m.state)}
    for k, th in enumerate(m.theta):
        mw = re.fullmatch(r"W01_(\d+)_(\d+)", th.name)
        if mw:
            i, j = map(int, mw.groups())
            want = -sig(s[idx[f"s0_{i}"]]) * sig(s[idx[f"s1_{j}"]])
            assert g[k] == pytest.approx(want, abs=1e-14)


# -- backends: numpy vs mpmath, finite differences, batches, complex -------------

def mp_args(m, s):
    return ([mpmath.mpf(float(x)) for x in s],
            [mpmath.mpf(v.p) / v.q for v in m.params.values()],
            [mpmath.mpf(v.p) / v.q for v in m.data.values()])


@pytest.mark.parametrize("case", ["sigmoid+biases", "tanh"])
def test_numpy_and_mpmath_agree(case):
    m, _, c, _ = setup(case)
    theta, data = numbers(m)
    s = points(len(m.state), k=1)[0]
    v = np.random.default_rng(3).normal(size=len(m.state))
    with mpmath.workdps(40):
        S, T, D = mp_args(m, s)
        V = [mpmath.mpf(float(x)) for x in v]
        g = np.array([float(x) for x in c.dE_ds.mp(S, T, D)])
        H = c.d2E_ds2.mp(S, T, D)
        M = c.d2E_dtheta_ds.mp(S, T, D)
        hv = np.array([float(x) for x in c.Hv.mp(S, T, D, V)])
        mv = np.array([float(x) for x in c.Mv.mp(S, T, D, V)])
        E = float(c.E.mp(S, T, D))
    np.testing.assert_allclose(c.dE_ds(s, theta, data), g, rtol=0, atol=1e-13)
    np.testing.assert_allclose(c.d2E_ds2(s, theta, data), as_np(H), rtol=0, atol=1e-13)
    np.testing.assert_allclose(c.d2E_dtheta_ds(s, theta, data), as_np(M), rtol=0, atol=1e-13)
    np.testing.assert_allclose(c.Hv(s, theta, data, v), hv, rtol=0, atol=1e-13)
    np.testing.assert_allclose(c.Mv(s, theta, data, v), mv, rtol=0, atol=1e-13)
    assert float(c.E(s, theta, data)) == pytest.approx(E, abs=1e-13)


def test_mpmath_hessian_matches_finite_differences_of_gradient():
    m, _, c, _ = setup("tanh")
    s = points(len(m.state), k=1)[0]
    n = len(m.state)
    with mpmath.workdps(40):
        S, T, D = mp_args(m, s)
        H = c.d2E_ds2.mp(S, T, D)
        M = c.d2E_dtheta_ds.mp(S, T, D)
        g = c.dE_dtheta.mp(S, T, D)
        E = c.E.mp(S, T, D)
        h = mpmath.mpf(10) ** -10  # truncation error ~h^2 = 1e-20, rounding ~1e-40/h = 1e-30
        worst = mpmath.mpf(0)
        for j in range(n):
            up = list(S); up[j] += h
            dn = list(S); dn[j] -= h
            col = [(p - q) / (2 * h) for p, q in zip(c.dE_ds.mp(up, T, D), c.dE_ds.mp(dn, T, D))]
            for i in range(n):
                worst = max(worst, abs(col[i] - H[i, j]))
            # and the gradient itself against differences of the energy
            fd = (c.E.mp(up, T, D) - c.E.mp(dn, T, D)) / (2 * h)
            worst = max(worst, abs(fd - c.dE_ds.mp(S, T, D)[j]))
        for k in range(len(T)):
            up = list(T); up[k] += h
            dn = list(T); dn[k] -= h
            row = [(p - q) / (2 * h) for p, q in zip(c.dE_ds.mp(S, up, D), c.dE_ds.mp(S, dn, D))]
            for i in range(n):
                worst = max(worst, abs(row[i] - M[k, i]))
            fd = (c.E.mp(S, up, D) - c.E.mp(S, dn, D)) / (2 * h)
            worst = max(worst, abs(fd - g[k]))
        assert E != 0
    assert worst < 1e-15, worst


@pytest.mark.parametrize("name", ["dE_ds", "d2E_ds2", "d2E_dtheta_ds", "dE_dtheta", "E"])
def test_batched_equals_loop(name):
    m, _, c, _ = setup("sigmoid+biases")
    theta, data = numbers(m)
    S = points(len(m.state), k=5)
    fn = getattr(c, name)
    batch = fn(S, theta, data)
    loop = np.stack([fn(s, theta, data) for s in S])
    assert batch.shape == loop.shape and batch.shape[0] == 5
    np.testing.assert_allclose(batch, loop, rtol=0, atol=1e-14)


def test_batched_vector_products_equal_loop():
    m, _, c, _ = setup("tanh")
    theta, data = numbers(m)
    S = points(len(m.state), k=4)
    V = np.random.default_rng(11).normal(size=S.shape)
    np.testing.assert_allclose(c.Hv(S, theta, data, V),
                               np.stack([c.Hv(s, theta, data, v) for s, v in zip(S, V)]), atol=1e-14)
    np.testing.assert_allclose(c.Mv(S, theta, data, V),
                               np.stack([c.Mv(s, theta, data, v) for s, v in zip(S, V)]), atol=1e-14)


@pytest.mark.parametrize("case", ["sigmoid+biases", "tanh"])
def test_complex_step_of_gradient_gives_hessian_vector(case):
    m, _, c, _ = setup(case)
    theta, data = numbers(m)
    v = np.random.default_rng(5).normal(size=len(m.state))
    h = 1e-20
    for s in points(len(m.state), k=3):
        out = c.dE_ds(s + 1j * h * v, theta, data)
        assert np.iscomplexobj(out)
        np.testing.assert_allclose(out.real, c.dE_ds(s, theta, data), rtol=0, atol=1e-14)
        np.testing.assert_allclose(out.imag / h, c.d2E_ds2(s, theta, data) @ v, rtol=0, atol=1e-12)


def test_wrong_argument_count_raises():
    m, _, c, _ = setup("sigmoid")
    theta, data = numbers(m)
    with pytest.raises(TypeError):
        c.dE_ds(np.zeros(len(m.state)), theta)
    with pytest.raises(TypeError):
        c.Hv(np.zeros(len(m.state)), theta, data)


# -- the quadratic model: closed forms --------------------------------------------

def quadratic_by_hand(m):
    n = len(m.state)
    W = np.zeros((n, n))
    b = np.zeros(n)
    for sym, val in m.params.items():
        if sym.name.startswith("W_"):
            i, j = map(int, sym.name.split("_")[1:])
            assert i < j
            W[i, j] = W[j, i] = float(val)
        else:
            b[int(sym.name.split("_")[1])] = float(val)
    return np.eye(n) - W, b


def test_quadratic_hessian_constant_and_fixed_point():
    m = quadratic(3)
    c = compile_model(derive(m))
    theta, data = numbers(m)
    H_hand, b = quadratic_by_hand(m)
    assert np.any(H_hand != np.eye(3))  # couplings are not all zero
    for s in points(3, k=4, scale=10):
        np.testing.assert_allclose(c.d2E_ds2(s, theta, data), H_hand, rtol=0, atol=1e-15)
        # E_s = H s - b: linear dynamics
        np.testing.assert_allclose(c.dE_ds(s, theta, data), H_hand @ s - b, rtol=0, atol=1e-13)
    assert np.linalg.eigvalsh(H_hand).min() > 0
    s0 = np.linalg.solve(H_hand, b)
    np.testing.assert_allclose(c.dE_ds(s0, theta, data), 0, atol=1e-14)
    # M: dE_s_i/dW_k = -s_j for the pair (i, j), dE_s_i/db_i = -1
    M = c.d2E_dtheta_ds(s0, theta, data)
    for k, sym in enumerate(m.theta):
        want = np.zeros(3)
        if sym.name.startswith("W_"):
            i, j = map(int, sym.name.split("_")[1:])
            want[i], want[j] = -s0[j], -s0[i]
        else:
            want[int(sym.name.split("_")[1])] = -1
        np.testing.assert_allclose(M[k], want, atol=1e-14)


def test_quadratic_exact_fixed_point_in_mpmath():
    """At 40 digits, s0 = H^-1 b from exact rationals zeroes the compiled gradient."""
    m = quadratic(3)
    c = compile_model(derive(m))
    n = 3
    Hq = sp.eye(n)
    bq = sp.zeros(n, 1)
    for sym, val in m.params.items():
        if sym.name.startswith("W_"):
            i, j = map(int, sym.name.split("_")[1:])
            Hq[i, j] = Hq[j, i] = -val
        else:
            bq[int(sym.name.split("_")[1])] = val
    s0 = Hq.LUsolve(bq)  # exact rationals
    with mpmath.workdps(40):
        S = [mpmath.mpf(x.p) / x.q for x in s0]
        _, T, D = mp_args(m, np.zeros(n))
        res = c.dE_ds.mp(S, T, D)
        assert max(abs(r) for r in res) < mpmath.mpf(10) ** -38
        Hm = c.d2E_ds2.mp(S, T, D)
        for i in range(n):
            for j in range(n):
                assert abs(Hm[i, j] - mpmath.mpf(Hq[i, j].p) / Hq[i, j].q) < mpmath.mpf(10) ** -38


# -- vector-field and non-smooth models --------------------------------------------

def test_vector_field_model_negates_force():
    from eqprop import Model
    m = Model(vector_field=["-a + w*b", "-b + 2*w*a"], cost="a**2/2", state=["a", "b"],
              params={"w": "0.25"})
    c = compile_model(derive(m))
    theta, data = numbers(m)
    s = np.array([0.3, -0.7])
    w = 0.25
    np.testing.assert_allclose(c.dE_ds(s, theta, data), [s[0] - w * s[1], s[1] - 2 * w * s[0]])
    np.testing.assert_allclose(c.d2E_ds2(s, theta, data), [[1, -w], [-2 * w, 1]])  # not symmetric
    np.testing.assert_allclose(c.d2E_dtheta_ds(s, theta, data), [[-s[1], -2 * s[0]]])
    assert derive(m).dE_dtheta is None


def test_non_smooth_model_derivative_almost_everywhere():
    m = hopfield([1, 1], rho="hardsigmoid", seed=2)
    c = compile_model(derive(m))
    theta, data = numbers(m)
    w = theta[0]
    x = data[0]
    rx = min(max(x, 0), 1)
    for s0 in (-0.4, 0.3, 0.7, 1.6):
        drho = 1.0 if 0 < s0 < 1 else 0.0
        want = s0 - w * drho * rx
        assert c.dE_ds(np.array([s0]), theta, data)[0] == pytest.approx(want, abs=1e-14)


def test_a_parameter_named_beta_is_not_the_nudging_strength(engine):
    """A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(**{**TWO, "energy": TWO["energy"].replace("w*", "beta*"), "params": {"beta": "0.3"}})
    r = verify(m, dps=15, engine=engine)
    assert r.verdict is Verdict.VERIFIED, r.table()
