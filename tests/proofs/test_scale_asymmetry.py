"""EP against the true gradient as the layered network turns asymmetric, at realistic size
(proofs/scale_asymmetry.py; docs/MATH.md section 10)."""

import json

import numpy as np
import pytest

from eqprop.errors import EqpropError
from eqprop.numeric.batch_solve import solve
from eqprop.proofs import scale_asymmetry as sa
from eqprop.symbolic.arrays import layered

SEED = 3
SMALL = [6, 8, 7, 5]


def _row(rows, id):
    return next(r for r in rows if r.id == id)


@pytest.fixture(scope="module")
def small():
    print(f"seed {SEED}")
    return sa.check(SMALL, alpha_max=0.5, batch=3, seed=SEED)


# -- an independent dense computation (numpy.linalg, no batched code) -----------------------------
def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _field(s, Ws, Bs, x, sizes):
    """F(s) of the layered field, written out: ds_l/dt = -s_l + rho'(s_l) (W_l rho(s_{l+1})
    + B_{l-1,l}^T rho(s_{l-1})), the input x clamped as the last layer."""
    cuts = np.cumsum([0] + sizes[:-1])
    layers = [s[cuts[l]:cuts[l + 1]] for l in range(len(sizes) - 1)] + [x]
    out = []
    for l in range(len(sizes) - 1):
        r = _sigmoid(layers[l])
        inner = Ws[l] @ _sigmoid(layers[l + 1])
        if l > 0:
            inner = inner + Bs[l - 1].T @ _sigmoid(layers[l - 1])
        out.append(-layers[l] + r * (1 - r) * inner)
    return np.concatenate(out)


def _jacobian(f, z, h=1e-30):
    """df/dz by the complex step, column by column (exact to rounding)."""
    cols = []
    for j in range(z.size):
        dz = np.zeros(z.size, complex)
        dz[j] = 1j * h
        cols.append(f(z + dz).imag / h)
    return np.array(cols).T


class Dense:
    """The layered field of ``sizes`` with one example: H, M, C_s as dense matrices."""

    def __init__(self, sizes, alpha_max, seed):
        m = layered(sizes, asymmetry=alpha_max, seed=seed)
        nums = m.numbers(batch=1, seed=seed)
        L = len(sizes) - 1
        self.sizes, self.alpha_max = sizes, alpha_max
        self.W = [nums[f"W{l}{l + 1}"] for l in range(L)]
        self.Bmax = [nums[f"B{l}{l + 1}"] for l in range(L - 1)]
        self.x, self.y = nums["x"][0], nums["y"][0]

    def B(self, alpha):
        k = alpha / self.alpha_max
        return [w + k * (b - w) for w, b in zip(self.W, self.Bmax)]

    def F(self, s, alpha, Ws=None):
        return _field(s, self.W if Ws is None else Ws, self.B(alpha), self.x, self.sizes)

    def fixed_point(self, alpha, s):
        for _ in range(60):
            s = s - np.linalg.solve(_jacobian(lambda z: self.F(z, alpha), s), self.F(s, alpha))
        assert np.max(np.abs(self.F(s, alpha))) < 1e-14
        return s

    def parts(self, alpha, s):
        """H = -dF/ds, M = d/dtheta (v . dE/ds) = -(dF/dtheta)^T, C_s at s."""
        H = -_jacobian(lambda z: self.F(z, alpha), s)
        shapes = [w.shape for w in self.W]

        def of_theta(t):
            ws, k = [], 0
            for sh in shapes:
                ws.append(t[k:k + np.prod(sh)].reshape(sh))
                k += np.prod(sh)
            return self.F(s.astype(complex), alpha, ws)
        M = -_jacobian(of_theta, np.concatenate([w.ravel() for w in self.W])).T
        cs = np.zeros(s.size)
        cs[:self.sizes[0]] = s[:self.sizes[0]] - self.y
        return H, M, cs

    def gradients(self, alpha, s):
        H, M, cs = self.parts(alpha, s)
        return -M @ np.linalg.solve(H, cs), -M @ np.linalg.solve(H.T, cs)

    def first_order(self, s0):
        H0, M0, cs0 = self.parts(0.0, s0)
        A = (self.parts(self.alpha_max, s0)[0] - H0) / self.alpha_max  # exact: H is affine in alpha
        return M0 @ np.linalg.solve(H0, (A - A.T) @ np.linalg.solve(H0, cs0))


def _close(a, b, rtol=1e-9):
    return abs(a - b) <= rtol * max(abs(a), abs(b))


@pytest.mark.parametrize("sizes", [[2, 3, 2], [2, 3, 3, 2]])
def test_agrees_with_a_dense_computation(sizes):
    """Every reported number against numpy.linalg on the dense H, M, C_s (batch 1)."""
    print(f"seed {SEED}")
    found, rows = sa.check(sizes, alpha_max=0.5, batch=1, seed=SEED)
    d = Dense(sizes, 0.5, SEED)
    s0 = d.fixed_point(0.0, np.zeros(sum(sizes[:-1])))
    for g in found.gaps:
        s = d.fixed_point(g.alpha, s0)
        want = sa.measure(g.alpha, *d.gradients(g.alpha, s))
        for k in ("relative", "cosine", "angle", "rmse", "absolute"):
            assert _close(getattr(g, k), getattr(want, k)), (g.alpha, k, getattr(g, k), getattr(want, k))
    formula = d.first_order(s0)
    assert _close(found.formula_norm, np.linalg.norm(formula))
    # the dense Delta'(0) by Richardson on its own gaps: the formula's sign and transposition
    a1, a2 = found.alphas[-2:]

    def centered(a):
        gp = np.subtract(*d.gradients(a, d.fixed_point(a, s0)))
        gm = np.subtract(*d.gradients(-a, d.fixed_point(-a, s0)))
        return (gp - gm) / (2 * a)
    limit = (a1 ** 2 * centered(a2) - a2 ** 2 * centered(a1)) / (a1 ** 2 - a2 ** 2)
    assert np.max(np.abs(limit - formula)) <= 1e-7 * np.max(np.abs(formula))
    assert _close(found.measured_norm, np.linalg.norm(limit))
    assert all(r.passed and r.testable for r in rows), [(r.id, r.limit) for r in rows]


def test_the_sides_agree_with_the_dense_vectors():
    """The flat vectors themselves, entry by entry (parameters in order W01, W12)."""
    print(f"seed {SEED}")
    sizes, am = [2, 3, 2], 0.5
    d = Dense(sizes, am, SEED)
    s0 = d.fixed_point(0.0, np.zeros(5))
    fam = _family(sizes, am, SEED)
    net0 = fam.net(0.0)
    got = sa.first_order(net0, s0[None], fam.net(am), fam.net(-am), am)
    want = d.first_order(s0)
    assert np.max(np.abs(got - want)) <= 1e-12 * np.max(np.abs(want))
    s = d.fixed_point(am, s0)
    ep, true = sa.gradients(fam.net(am), s[None])
    ep_d, true_d = d.gradients(am, s)
    assert np.max(np.abs(ep - ep_d)) <= 1e-12 * np.max(np.abs(true_d))
    assert np.max(np.abs(true - true_d)) <= 1e-12 * np.max(np.abs(true_d))


def _family(sizes, am, seed, batch=1):
    from eqprop.proofs.scale import arguments
    args = arguments(sizes, batch=batch, data="random", rho="sigmoid", eps=0.5, steps=1, h=1e-20,
                     beta=0.01, seed=seed, cost="squared", continuous=False, asymmetry=am,
                     init="zeros", plain_layers=(), biases=False, dims=None, backend="numpy",
                     device=None, progress=None, max_memory=2**30, max_flops=1e12)
    return sa._Family(args, am)  # sigmoid, squared: as the dense field


# -- the rows and the numbers ---------------------------------------------------------------------
def test_ep_leaves_the_true_gradient_at_first_order(small):
    found, rows = small
    assert all(r.passed and r.testable for r in rows), [(r.id, r.limit) for r in rows]
    assert abs(found.order - 1) < 0.05
    assert _row(rows, "ASYM.first").digits >= 8
    # the gap and the angle shrink with alpha, from a gradient field's zero
    rel = [g.relative for g in found.gaps]
    angles = [g.angle for g in found.gaps]
    assert rel == sorted(rel, reverse=True) and angles == sorted(angles, reverse=True)
    assert angles[0] > 0 and all(0 < g.cosine <= 1 for g in found.gaps)
    assert found.alphas == pytest.approx([0.5 / k for k in sa.ALPHAS])
    assert found.at_zero.relative < 1e-13 and found.symmetry < 1e-12
    d = json.loads(json.dumps(found.to_dict()))
    assert set(d["gaps"][0]) == {"alpha", "relative", "cosine", "angle", "rmse", "absolute",
                                 "residual"}
    assert d["seconds"]["total"] > 0 and d["formula_norm"] > 0
    assert all(r.to_dict()["passed"] for r in rows)


# -- negative controls: the rows can fail -------------------------------------------------------------
def _no_transposition(net0, s0, plus, minus, delta):
    """A instead of A - A^T."""
    lin0 = net0.linearize(s0)
    x = solve(lin0, net0.dC_ds(s0))
    av, _ = sa.a_products(s0, plus, minus, delta, x)
    return sa._flat(lin0.mv(solve(lin0, av)))


def _wrong_sign(*a):
    return -sa.first_order(*a)


@pytest.mark.parametrize("formula", [_no_transposition, _wrong_sign])
def test_a_wrong_first_order_formula_fails(formula):
    print(f"seed {SEED}")
    _, rows = sa.check(SMALL, alpha_max=0.5, batch=3, seed=SEED, formula=formula)
    first = _row(rows, "ASYM.first")
    assert first.testable and not first.passed, first.limit
    assert _row(rows, "ASYM.order").passed


def test_ep_treated_as_symmetric_has_nothing_to_fit_and_fails_the_slope():
    """An asymmetric model treated as symmetric: its 'EP' is the true gradient. No gap is
    above rounding, so the order is n/a with the reason, and Delta'(0) = 0 fails (10.1)."""
    print(f"seed {SEED}")

    def as_symmetric(net, s):
        _, true = sa.gradients(net, s)
        return true, true
    found, rows = sa.check(SMALL, alpha_max=0.5, batch=3, seed=SEED, estimate=as_symmetric)
    order = _row(rows, "ASYM.order")
    assert not order.testable and "rounding" in order.limit and found.order is None
    first = _row(rows, "ASYM.first")
    assert first.testable and not first.passed


def test_an_ep_side_off_by_a_constant_fails_the_order():
    """EP plus a constant: the gap is not O(alpha) (nonzero at the gradient field), which the
    order row catches; the centered quotients of ASYM.first cancel a constant, so that row
    alone would not."""
    print(f"seed {SEED}")

    def offset(net, s):
        ep, true = sa.gradients(net, s)
        return ep + 1e-4, true
    found, rows = sa.check(SMALL, alpha_max=0.5, batch=3, seed=SEED, estimate=offset)
    order = _row(rows, "ASYM.order")
    assert order.testable and not order.passed and "alpha = 0" in order.limit
    assert found.order < 0.9  # the slope flattens towards the constant as well
    assert _row(rows, "ASYM.first").passed


# -- arguments --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw,message", [
    (dict(alpha_max=0), "alpha_max"), (dict(alpha_max=float("nan")), "alpha_max"),
    (dict(alpha_max=1e-9), "alpha_max"), (dict(alpha_max=1e7), "alpha_max"),
    (dict(alpha_max="x"), "alpha_max"), (dict(alpha_max=0.1, layers=[3, 4]), "two free layers"),
    (dict(alpha_max=0.1, rho="abs"), "rho"), (dict(alpha_max=0.1, batch=0), "batch"),
])
def test_bad_arguments_are_one_line(kw, message):
    layers = kw.pop("layers", SMALL)
    with pytest.raises(EqpropError, match=message) as e:
        sa.check(layers, **kw)
    assert "\n" not in str(e.value)


def test_a_strength_without_a_fixed_point_is_refused(monkeypatch):
    """A free phase that stalls at a strength (as the vector field's Gauss-Newton does for
    tanh near a fold) is refused with one line naming the strength, never compared."""
    real, calls = sa.free_phase, []

    def stalls_after_alpha_zero(net, s, **kw):
        out = real(net, s, **kw)
        calls.append(1)
        if len(calls) > 2:  # the energy's and the field's free phase at alpha = 0 succeed
            out.status[0] = "stalled"
        return out
    monkeypatch.setattr(sa, "free_phase", stalls_after_alpha_zero)
    with pytest.raises(EqpropError, match=r"at strength 0.005 the field has no fixed point") as e:
        sa.check(SMALL, alpha_max=0.5, batch=2, seed=SEED)
    assert "\n" not in str(e.value)


def test_far_beyond_first_order_both_rows_fail():
    """alpha_max = 1e5 (backward weights 1e5 times the noise): a sigmoid field still has fixed
    points, but the gap no longer grows like alpha, nor matches (10.1)."""
    print(f"seed {SEED}")
    _, rows = sa.check(SMALL, alpha_max=1e5, batch=2, seed=SEED)
    assert not any(r.passed for r in rows) and all(r.testable for r in rows)


def test_the_torch_backend_gives_the_same_numbers(small):
    """The same study through the torch namespace (CPU) agrees with numpy's to 1e-12."""
    pytest.importorskip("torch")
    print(f"seed {SEED}")
    found, rows = sa.check(SMALL, alpha_max=0.5, batch=3, seed=SEED, backend="torch",
                           device="cpu")
    for g, h in zip(small[0].gaps, found.gaps):
        assert _close(g.relative, h.relative, 1e-12) and _close(g.angle, h.angle, 1e-12)
    assert _close(small[0].formula_norm, found.formula_norm, 1e-12)
    assert all(r.passed and r.testable for r in rows)
