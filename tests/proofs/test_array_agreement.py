"""One model file, two scales: the array path equals the per-neuron symbolic path (issue 22, item 3).

For every example model (and the layered family's vector-field controls),
at its small declared sizes: the code generated from the array expressions
(float64, batched) and the per-neuron expansion of the same model, derived
entry by entry by the symbolic path, give the same dE/ds, H v, H^T v, M v,
EP's readout dE/dtheta, cost and cost gradient at random states, the same
fixed point s0 (against the 30-digit Newton of the high-precision path) and
the same dJ/dtheta (against dense linear algebra on the symbolic path's H and
M). Agreement is to float64 rounding of the terms, measured per quantity.
"""

import glob
import os

import mpmath
import numpy as np
import pytest

from eqprop import compile_model, derive
from eqprop.numeric.batch_solve import free_phase
from eqprop.numeric.highprec import System, newton
from eqprop.proofs.scale import implicit_gradient
from eqprop.proofs.scale_network import build
from eqprop.symbolic.arrays import layered
from eqprop.symbolic.builtins import load_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = sorted(p for p in glob.glob(os.path.join(ROOT, "examples", "*.toml"))
                  if "[state]" in open(p, encoding="utf-8").read())
CONTROLS = {"asymmetric layered": lambda: layered([3, 4, 3, 2], asymmetry=0.3, biases=True),
            "plain output layer": lambda: layered([3, 4, 2], plain_layers=(0,), rho="tanh"),
            "cross entropy": lambda: layered([3, 4, 2], cost="cross_entropy", biases=True)}
SEED = 22


def _cases():
    return [pytest.param(lambda p=p: load_model(p), id=os.path.basename(p)) for p in EXAMPLES] + \
        [pytest.param(f, id=k) for k, f in CONTROLS.items()]


def test_every_example_is_an_array_model():
    assert len(EXAMPLES) >= 6, EXAMPLES


def _close(a, b, what, size=None):
    """|a - b| <= 1e-12 of the terms' size (``size``, else |b|), entry by entry in the sup norm."""
    a, b = np.ravel(np.asarray(a, dtype=float)), np.ravel(np.asarray(b, dtype=float))
    scale = max(float(np.max(np.abs(b), initial=0.0)), size or 0.0, 1e-300)
    err = float(np.max(np.abs(a - b), initial=0.0)) / scale
    assert err <= 1e-12, f"{what}: relative difference {err:.1e}"


def _flat(arrays):
    return np.concatenate([np.ravel(a.dense() if hasattr(a, "dense") else a) for a in arrays])


@pytest.mark.parametrize("make", _cases())
def test_array_path_equals_the_symbolic_path(make):
    print(f"seed {SEED}")
    model = make()
    M = model.to_model()
    c = compile_model(derive(M))
    theta, data = (np.array([float(v) for v in vals]) for vals in M.values())
    net = build(model, batch=1).net
    rng = np.random.default_rng(SEED)
    for _ in range(3):
        s = 0.5 * rng.standard_normal((1, net.n_free))
        v = rng.standard_normal((1, net.n_free))
        lin = net.linearize(s)
        _close(net.dE_ds(s)[0], c.dE_ds(s[0], theta, data), "dE/ds")
        # c.Hv is d/ds (v . dE/ds) = H^T v; for an energy H v is the same
        _close(lin.hv(v, transpose=True)[0], c.Hv(s[0], theta, data, v[0]), "H^T v")
        H = np.asarray(c.d2E_ds2(s[0], theta, data), dtype=float)
        _close(lin.hv(v)[0], H @ v[0], "H v", size=float(np.max(np.abs(H) @ np.abs(v[0]))))
        _close(_flat(lin.mv(v)), c.Mv(s[0], theta, data, v[0]), "M v")
        _close(net.dC_ds(s)[0], c.dC_ds(s[0], theta, data), "dC/ds")
        _close(net.cost_value(s), c.C(s[0], theta, data), "C")
        _close(_flat(net.dC_dtheta(s)), c.dC_dtheta(s[0], theta, data), "dC/dtheta")
        if model.has_energy:
            _close(_flat(net.dE_dtheta(s)), c.dE_dtheta(s[0], theta, data), "dE/dtheta")
            E, g = net.energy_and_grad(s)
            _close(E, c.E(s[0], theta, data), "E")


@pytest.mark.parametrize("make", _cases())
def test_fixed_point_and_gradient_equal_the_symbolic_path(make):
    model = make()
    M = model.to_model()
    c = compile_model(derive(M))
    theta, data = M.values()
    net = build(model, batch=1).net
    free = free_phase(net, eps=0.5)
    assert free.status[0] in ("converged", "floor"), free.status
    s0 = free.s
    with mpmath.workdps(30):
        s_mp, _, _ = newton(System(c, theta, data, has_energy=model.has_energy),
                            [mpmath.mpf(float(v)) for v in s0[0]])
        ref = np.array([float(v) for v in s_mp])
    _close(s0[0], ref, "s0", size=1.0)
    th, da = (np.array([float(v) for v in vals]) for vals in (theta, data))
    H = np.asarray(c.d2E_ds2(ref, th, da), dtype=float)
    Mx = np.asarray(c.d2E_dtheta_ds(ref, th, da), dtype=float)
    cs = np.asarray(c.dC_ds(ref, th, da), dtype=float)
    dense = np.asarray(c.dC_dtheta(ref, th, da), dtype=float) - Mx @ np.linalg.solve(H.T, cs)
    terms = np.abs(Mx) @ np.abs(np.linalg.solve(H.T, cs)) + 1e-300
    got = _flat(implicit_gradient(net, s0))
    err = np.max(np.abs(got - dense) / (terms + np.abs(dense)))
    assert err <= 1e-11, f"dJ/dtheta: {err:.1e}"
