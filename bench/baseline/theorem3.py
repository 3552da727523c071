"""Theorem 3 on the hand-written layered network: the loop of proofs/scale.py at commit 7666406.

Only the complex-step run, RBP and the per-step comparison (``real=False``)
are kept, with the network built from given weights; see the package
docstring.
"""

import numpy as np
import sympy as sp

from .agreement import _Agreement
from .layered import LayeredNetwork, Unary, Workspace
from .unary import compile_unary, compile_unary_joint


def _unary(expr, name):
    f, df, ddf, dddf, _ = compile_unary(expr, name)
    return Unary(f, df, ddf, name=str(expr), dddf=dddf, joint=compile_unary_joint(expr, name))


def sigmoid_network(W):
    """The hand-written network with weights W (no biases), sigmoid rho, u = z^2/2."""
    z = sp.Symbol("z", real=True)
    sizes = (W[0].shape[0],) + tuple(w.shape[1] for w in W)
    return LayeredNetwork(sizes=sizes, W=list(W), b=[np.zeros(n) for n in sizes[:-1]],
                          rho=_unary(1 / (1 + sp.exp(-z)), "rho"), u=_unary(z**2 / 2, "u"))


class Bound:
    """The hand-written network with its data bound, in the generic network's interface
    (what eqprop.numeric.batch_solve and the hypotheses call)."""

    def __init__(self, net, x):
        self.net, self.x, self.batch = net, x, x.shape[0]
        self.n_free, self.gradient_field = net.n_free, net.gradient_field

    def energy_and_grad(self, s):
        return self.net.energy_and_grad(s, self.x)

    def dE_ds(self, s):
        return self.net.dE_ds(s, self.x)

    def linearize(self, s):
        return _BoundLinearization(self, self.net.linearize(s, self.x))


class _BoundLinearization:
    """The hand-written linearization, reporting the bound network as its ``net``."""

    def __init__(self, bound, lin):
        self.net, self.lin, self.shape = bound, lin, lin.shape

    def hv(self, v, *, transpose=False, ws=None):
        return self.lin.hv(v, transpose=transpose, ws=ws)


def _complex_step_run(net, s0, x, y, h, steps, eps):
    B = s0.shape[0]
    out = net.slices[0]
    S = np.concatenate([s0, np.zeros_like(s0)])
    ws = Workspace()
    R, D = net.split_rates(S, x, ws)
    for _ in range(steps):
        G = net.split_grad(S, x, R, D, ws)
        c = net.dC_do(S[:B, out] + 1j * S[B:, out], y)
        G[:B, out] -= h * c.imag
        G[B:, out] += h * c.real
        s_tilde = np.divide(G[B:], h, out=ws.buffer("s_tilde", (B, S.shape[1])))
        G *= eps
        S -= G
        R, D = net.split_rates(S, x, ws)
        yield (s_tilde, net.split_dE_dtheta_imag(R, 1 / h, ws, True),
               np.divide(S[B:], h, out=ws.buffer("u", (B, S.shape[1]))))


def _rbp_steps(net, s0, x, y, steps, eps):
    lin = net.linearize(s0, x)
    sb = net.dC_ds(s0, y)
    partial = np.zeros_like(sb)
    ws = Workspace()
    for _ in range(steps):
        partial += sb
        yield sb, lin.mv(-eps * partial, ws, True)
        sb = sb - eps * lin.hv(sb, transpose=True, ws=ws)


def check_theorem3(net, s0, x, y, *, eps=0.5, steps=100, h=1e-20):
    """The normalized complex-step error per layer and weight: ``{quantity: error}``."""
    names = [f"s{l}" for l in range(net.L)] + [f"W{l}{l + 1}" for l in range(net.L)]
    stats = {q: _Agreement() for q in names}
    for (sb, tb), (st, th, u) in zip(_rbp_steps(net, s0, x, y, steps, eps),
                                     _complex_step_run(net, s0, x, y, h, steps, eps)):
        for l, sl in enumerate(net.slices):
            stats[f"s{l}"].add(st[..., sl], sb[..., sl], u[..., sl])
        for l in range(net.L):
            stats[f"W{l}{l + 1}"].add(th[0][l], tb[0][l])
    return {q: s.normalized for q, s in stats.items()}
