"""An independent discrete BPTT against `eqprop scale`'s RBP and EP sides, step by step.

The Euler free phase s_{t+1} = Phi(s_t) = s_t - eps dE/ds(s_t) is unrolled
for K steps from s0, and L = C(s_K) is differentiated backwards by plain
BPTT: delta_K = dC/ds(s_K), delta_t = J_t^T delta_{t+1}, and the parameter
gradient through the last k steps is sum_t (dPhi_t/dtheta)^T delta_{t+1}.
The Jacobians J_t and dPhi_t/dtheta are complex-step derivatives of this
file's own force function, written here from the energy with rho and rho'
from SymPy: nothing of the generated code (no H v, no M v), no autograd.

Ernoult et al.'s "gradient-descending updates" property says RBP's Sbar_k
and Thetabar_k, and EP's Stilde_k and Thetatilde_k (complex step), equal
delta_{K-k} and the gradient through the last k steps. Checked per step to
1e-13 on small networks for sigmoid, tanh and a user formula.
"""

import numpy as np
import pytest
import sympy as sp

from eqprop.numeric.batch_solve import free_phase
from eqprop.numeric.data import load
from eqprop.proofs.scale import network, normalized_error
from eqprop.proofs.scale_theorem3 import _complex_step_run, _rbp_steps, _Readout
from eqprop.proofs.scale_agreement import EPS64
from eqprop.symbolic.builtins import rho_function

H_STEP = 1e-30
EPS, K = 0.5, 12


def _rho(name):
    z = sp.Symbol("z", real=True)
    expr = rho_function(name).xreplace({next(iter(rho_function(name).free_symbols)): z})
    mods = ["numpy", {"erf": __import__("scipy.special", fromlist=["erf"]).erf}]
    return sp.lambdify(z, expr, mods), sp.lambdify(z, sp.diff(expr, z), mods)


class Plain:
    """The layered network's force, written from the energy for one example (complex-safe)."""

    def __init__(self, net, rho, n_in):
        self.sizes = [shape[0] for _, shape, _ in net.blocks] + [n_in]
        self.W = [net.arrays[f"W{l}{l + 1}"].copy() for l in range(len(self.sizes) - 1)]
        self.b = [np.zeros(n) for n in self.sizes[:-1]]
        self.rho, self.drho = _rho(rho)
        self.cut = np.cumsum(self.sizes[:-1])[:-1]

    def force(self, s, x, W=None):
        """dE/ds for one example: s_l - rho'(s_l) (b_l + W_l rho(s_{l+1}) + W_{l-1}^T rho(s_{l-1}))."""
        W = self.W if W is None else W
        S = np.split(s, self.cut) + [x]
        R = [self.rho(a) for a in S]
        out = []
        for l in range(len(S) - 1):
            f = self.b[l] + W[l] @ R[l + 1]
            if l > 0:
                f = f + W[l - 1].T @ R[l - 1]
            out.append(S[l] - self.drho(S[l]) * f)
        return np.concatenate(out)

    def step(self, s, x, W=None):
        return s - EPS * self.force(s, x, W)

    def jacobian(self, s, x):
        n = s.size
        return np.stack([self.step(s + 1j * H_STEP * np.eye(n)[j], x).imag / H_STEP
                         for j in range(n)], axis=1)

    def vjp_theta(self, s, x, delta):
        """(dPhi/dW_l)^T delta for every l, by complex steps on each weight."""
        out = []
        for l, w in enumerate(self.W):
            g = np.zeros_like(w)
            for idx in np.ndindex(w.shape):
                W = [a.astype(complex) for a in self.W]
                W[l][idx] += 1j * H_STEP
                g[idx] = delta @ (self.step(s, x, W).imag / H_STEP)
            out.append(g)
        return out


def bptt(plain, s0, x, y):
    """Per step k = 0..K-1: (delta_{K-k} per example, gradient through the last k + 1 steps)."""
    B, n_out = s0.shape[0], plain.sizes[0]
    traj = [[s0[i]] for i in range(B)]
    for i in range(B):
        for _ in range(K):
            traj[i].append(plain.step(traj[i][-1], x[i]).real)
    deltas, grads = [], []
    delta = [np.concatenate([traj[i][K][:n_out] - y[i], np.zeros(s0.shape[1] - n_out)]) for i in range(B)]
    total = [np.zeros_like(w) for w in plain.W]
    for k in range(K):
        t = K - 1 - k  # step t maps s_t to s_{t+1}
        deltas.append(np.array(delta))
        for i in range(B):
            total = [a + g for a, g in zip(total, plain.vjp_theta(traj[i][t], x[i], delta[i]))]
            delta[i] = plain.jacobian(traj[i][t], x[i]).T @ delta[i]
        grads.append([a.copy() for a in total])
    return deltas, grads


def _rel(a, b):
    """|a - b| / |b|; 0 where both vanish (the signal has not reached that weight yet)."""
    d = np.linalg.norm(np.ravel(a) - np.ravel(b))
    return 0.0 if d == 0 else d / np.linalg.norm(np.ravel(b))


def _dense(w):
    return w.dense() if hasattr(w, "dense") else w


def _sides(net, s0):
    """Per step: RBP's (Sbar_k, Thetabar_{k+1}) and EP's complex-step (Stilde_k, Thetatilde_{k+1}, u)."""
    lin0 = net.linearize(s0)
    readout = _Readout(net, s0, lin0)
    rbp = [(a.copy(), [_dense(w).copy() for w in th])
           for a, th in _rbp_steps(net, s0, K, EPS, lin0, readout.c_theta)]
    ep = [(a.copy(), [_dense(w).copy() for w in th], u.copy())
          for a, th, u in _complex_step_run(net, s0, 1e-20, K, EPS, readout)]
    return rbp, ep


@pytest.mark.parametrize("rho", ["sigmoid", "tanh", "z/sqrt(1 + z**2)"])
def test_rbp_and_ep_equal_an_independent_bptt_per_step(rho):
    x, y = load("random", n_in=4, n_out=3, batch=2, seed=7)
    net = network([3, 5, 4], rho=rho, seed=7, batch=2, values={"x": x, "y": y})
    free = free_phase(net)
    assert np.max(free.residual) <= 1e-15
    s0 = free.s
    deltas, grads = bptt(Plain(net, rho, 4), s0, x, y)
    rbp, ep = _sides(net, s0)
    for k in range(K):
        assert _rel(rbp[k][0], deltas[k]) <= 1e-13, (k, "Sbar")
        for l, g in enumerate(grads[k]):
            assert _rel(rbp[k][1][l], g) <= 1e-13, (k, "Thetabar", l)
            assert _rel(ep[k][1][l], g) <= 1e-13, (k, "Thetatilde", l)
        # EP reads Stilde_k as H u_k + C_s: float64 keeps it to EPS64 |u| / |Sbar_k| (the
        # documented floor, column 'digits lost'), which passes 1e-13 only once Sbar has decayed
        floor = EPS64 * np.linalg.norm(ep[k][2]) / np.linalg.norm(deltas[k])
        assert _rel(ep[k][0], deltas[k]) <= max(1e-13, 8 * floor), (k, "Stilde", floor)
    # item 5: from a fixed point at 1e-15 the agreement is at machine precision over the run
    assert normalized_error([r[0] for r in rbp], deltas) <= 2e-15
    assert normalized_error([e[0] for e in ep], deltas) <= 2e-15


def test_a_residual_of_1e_12_caps_the_agreement():
    """The control of item 5: at the old Newton tolerance (residual 1e-12) the trajectory
    drifts from s0, and the agreement with BPTT stops near 1e-12."""
    x, y = load("random", n_in=4, n_out=3, batch=2, seed=7)
    net = network([3, 5, 4], rho="tanh", seed=7, batch=2, values={"x": x, "y": y})
    s0 = free_phase(net).s + 1e-12 * np.random.default_rng(1).standard_normal((2, net.n_free))
    assert 1e-13 < np.max(np.abs(net.dE_ds(s0))) <= 1e-11
    deltas, _ = bptt(Plain(net, "tanh", 4), s0, x, y)
    rbp, _ = _sides(net, s0)
    assert normalized_error([r[0] for r in rbp], deltas) > 1e-14
