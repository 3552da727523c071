"""Benchmark: the XY lattice of examples/xy_oscillators.toml at 100 x 100, three ways, in one run.

The workload (issue 22): 10,000 oscillators on a periodic lattice, batch 16,
Euler step eps = 0.05. The free phase (the same globalized solver for all:
relaxation, then trust-region Newton-CG, eqprop.numeric.batch_solve), then
200 steps of the complex-step nudged phase (as a dual number: the state's
real part and its tangent, with EP's readout of dE/dJ) beside 200 RBP steps
(H^T v and M v at s0), with Ernoult et al.'s normalized EP-RBP error of the
states and the couplings accumulated on the way.

1. **generated**: eqprop's code generated from the model file's array
   formulas (what ``eqprop scale`` runs);
2. **hand-written numpy**: the gradient, H v, M v and the dual step written
   out by hand with ``np.roll`` (below), the target's baseline;
3. **PyTorch autograd**: the energy written in torch; the gradient,
   ``H v`` and ``M v`` by double backward, the dual step as one backward
   pass of ``u . g`` into the state and the couplings, 2 threads.

Each is run REPEATS times, alternating, and the best time counts (this
machine drifts by ~20% over minutes). Targets: generated within 1.25x of
the hand-written numpy, and faster than PyTorch autograd.

    python bench/xy.py [--size 100] [--batch 16] [--steps 200]
"""

import argparse
import os
import platform
import time

import numpy as np

from eqprop.numeric.batch_solve import free_phase
from eqprop.proofs.scale_agreement import _Agreement
from eqprop.proofs.scale_network import build
from eqprop.symbolic.builtins import load_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPEATS = 3
EPS = 0.05


class HandXY:
    """The XY energy's derivatives written by hand (numpy, np.roll), data bound.

    E = -sum(Jx cos(th - roll(th, 1, 0))) - sum(Jy cos(th - roll(th, 1, 1))) - h sum(cos(th - x))
    C = sum(1 - cos(th - y))
    """

    gradient_field = True
    has_energy = True

    def __init__(self, Jx, Jy, h, x, y):
        self.Jx, self.Jy, self.h, self.x, self.y = Jx, Jy, h, x, y
        self.batch, self.L = x.shape[0], x.shape[1]
        self.n_free = self.L * self.L
        self.param_names = ["Jx", "Jy"]

    def _th(self, s):
        return s.reshape(-1, self.L, self.L)

    def _diffs(self, th):
        return th - np.roll(th, 1, 1), th - np.roll(th, 1, 2)

    def energy_and_grad(self, s):
        th = self._th(s)
        dx, dy = self._diffs(th)
        E = -(np.sum(self.Jx * np.cos(dx), (1, 2)) + np.sum(self.Jy * np.cos(dy), (1, 2))
              + self.h * np.sum(np.cos(th - self.x), (1, 2)))
        return E, self._grad(th, dx, dy)

    def _grad(self, th, dx, dy):
        ax, ay = self.Jx * np.sin(dx), self.Jy * np.sin(dy)
        g = ax - np.roll(ax, -1, 1) + ay - np.roll(ay, -1, 2) + self.h * np.sin(th - self.x)
        return g.reshape(th.shape[0], -1)

    def dE_ds(self, s):
        th = self._th(s)
        return self._grad(th, *self._diffs(th))

    def dC_ds(self, s):
        return np.sin(self._th(s) - self.y).reshape(s.shape[0], -1)

    def linearize(self, s):
        return _HandLin(self, s)

    def dual(self, a, u, factored=False):
        """(g(a), H(a) u, C_s(a), tangent of dE/dJ along u) in one pass."""
        th, w = self._th(a), self._th(u)
        dx, dy = self._diffs(th)
        sx, sy, cx, cy = np.sin(dx), np.sin(dy), np.cos(dx), np.cos(dy)
        wx, wy = w - np.roll(w, 1, 1), w - np.roll(w, 1, 2)
        ax, ay = self.Jx * sx, self.Jy * sy
        g = ax - np.roll(ax, -1, 1) + ay - np.roll(ay, -1, 2) + self.h * np.sin(th - self.x)
        bx, by = self.Jx * cx * wx, self.Jy * cy * wy
        t = bx - np.roll(bx, -1, 1) + by - np.roll(by, -1, 2) + self.h * np.cos(th - self.x) * w
        B = a.shape[0]
        readout = [np.sum(sx * wx, 0), np.sum(sy * wy, 0)]  # d/de of -cos(dx + e wx)
        return g.reshape(B, -1), t.reshape(B, -1), self.dC_ds(a), readout


class _HandLin:
    def __init__(self, net, s):
        self.net, self.shape = net, s.shape
        th = net._th(s)
        dx, dy = net._diffs(th)
        self.kx, self.ky = net.Jx * np.cos(dx), net.Jy * np.cos(dy)
        self.sx, self.sy = np.sin(dx), np.sin(dy)
        self.kp = net.h * np.cos(th - net.x)

    def hv(self, v, transpose=False):
        w = self.net._th(v)
        bx, by = self.kx * (w - np.roll(w, 1, 1)), self.ky * (w - np.roll(w, 1, 2))
        out = bx - np.roll(bx, -1, 1) + by - np.roll(by, -1, 2) + self.kp * w
        return out.reshape(v.shape[0], -1)

    def mv(self, v, factored=False):
        w = self.net._th(v)
        return [np.sum(self.sx * (w - np.roll(w, 1, 1)), 0), np.sum(self.sy * (w - np.roll(w, 1, 2)), 0)]


class TorchXY:
    """The XY energy in PyTorch; every derivative by autograd (double backward, torch.func.jvp)."""

    gradient_field = True
    has_energy = True

    def __init__(self, Jx, Jy, h, x, y):
        import torch
        self.torch = torch
        torch.set_default_dtype(torch.float64)
        self.Jx, self.Jy = torch.tensor(Jx), torch.tensor(Jy)
        self.h, self.x, self.y = float(h), torch.tensor(x), torch.tensor(y)
        self.batch, self.L = x.shape[0], x.shape[1]
        self.n_free = self.L * self.L
        self.param_names = ["Jx", "Jy"]

    def energy(self, s, Jx=None, Jy=None):
        torch = self.torch
        Jx = self.Jx if Jx is None else Jx
        Jy = self.Jy if Jy is None else Jy
        th = s.reshape(-1, self.L, self.L)
        return -(torch.sum(Jx * torch.cos(th - torch.roll(th, 1, 1)), (1, 2))
                 + torch.sum(Jy * torch.cos(th - torch.roll(th, 1, 2)), (1, 2))
                 + self.h * torch.sum(torch.cos(th - self.x), (1, 2)))

    def _grad(self, s, create=False):
        s = s.detach().requires_grad_(True)
        E = self.energy(s)
        return s, E, self.torch.autograd.grad(E.sum(), s, create_graph=create)[0]

    def energy_and_grad(self, s):
        _, E, g = self._grad(self.torch.from_numpy(s))
        return E.detach().numpy(), g.numpy()

    def dE_ds(self, s):
        return self._grad(self.torch.from_numpy(s))[2].numpy()

    def dC_ds(self, s):
        th = self.torch.from_numpy(s).reshape(-1, self.L, self.L)
        return self.torch.sin(th - self.y).reshape(s.shape[0], -1).numpy()

    def linearize(self, s):
        return _TorchLin(self, s)

    def dual(self, a, u, factored=False):
        """g(a), then H(a) u and E_theta'(a)[u] = d/dJ (u . g) by double backward."""
        lin = _TorchLin(self, a)
        U = self.torch.from_numpy(u)
        t, *ro = self.torch.autograd.grad((lin.g * U).sum(), [lin.s] + lin.J)
        return lin.g.detach().numpy(), t.numpy(), self.dC_ds(a), [r.numpy() for r in ro]


class _TorchLin:
    def __init__(self, net, s):
        torch = net.torch
        self.net, self.shape = net, s.shape
        self.J = [net.Jx.clone().requires_grad_(True), net.Jy.clone().requires_grad_(True)]
        self.s = torch.from_numpy(s).clone().requires_grad_(True)
        E = net.energy(self.s, *self.J)
        self.g = torch.autograd.grad(E.sum(), self.s, create_graph=True)[0]

    def hv(self, v, transpose=False):
        torch = self.net.torch
        return torch.autograd.grad(self.g, self.s, torch.from_numpy(v), retain_graph=True)[0].numpy()

    def mv(self, v, factored=False):
        torch = self.net.torch
        out = torch.autograd.grad((self.g * torch.from_numpy(v)).sum(), self.J, retain_graph=True)
        return [o.numpy() for o in out]


def workload(net, steps=200, eps=EPS):
    """Free phase, then the dual nudged phase beside RBP; returns (seconds, free, worst error)."""
    t0 = time.perf_counter()
    free = free_phase(net, eps=eps)
    t_free = time.perf_counter() - t0
    s0 = free.s
    lin0 = net.linearize(s0)
    states, params = _Agreement(), [_Agreement() for _ in net.param_names]
    a, u = s0.copy(), np.zeros_like(s0)
    sb = net.dC_ds(s0)
    partial = np.zeros_like(sb)
    g, t, cs, _ = net.dual(a, u)
    for _ in range(steps):
        st = t + cs
        a, u = a - eps * g, u - eps * st
        g, t, cs, ro = net.dual(a, u)
        partial += sb
        tb = lin0.mv(-eps * partial)
        states.add(st, sb)
        for agg, e, r in zip(params, ro, tb):
            agg.add(e, r)
        sb = sb - eps * lin0.hv(sb, transpose=True)
    worst = max([states.normalized] + [p.normalized for p in params])
    return time.perf_counter() - t0, t_free, float(np.max(free.residual)), worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    model = load_model(os.path.join(ROOT, "examples", "xy_oscillators.toml")).with_dims(L=args.size)
    t = time.perf_counter()
    built = build(model, batch=args.batch)
    print(f"model: {model.n_state:,} oscillators, {model.n_params:,} couplings, batch {args.batch}; "
          f"derivation, code generation and data {time.perf_counter() - t:.2f} s")
    n = built.numbers
    nets = {"generated": built.net, "hand-written numpy": HandXY(n["Jx"], n["Jy"], float(n["h"]),
                                                                n["x"], n["y"])}
    try:
        import torch
        torch.set_num_threads(2)
        nets["PyTorch autograd"] = TorchXY(n["Jx"], n["Jy"], float(n["h"]), n["x"], n["y"])
    except ImportError:
        print("PyTorch not installed: pip install torch==2.13.0 (CPU) to include it")
    best = {k: (np.inf, None) for k in nets}
    for rep in range(REPEATS):
        for name, net in nets.items():
            total, t_free, res, worst = workload(net, args.steps)
            if total < best[name][0]:
                best[name] = (total, (t_free, res, worst))
    for name, (total, (t_free, res, worst)) in best.items():
        print(f"{name:<20} {total:6.2f} s best of {REPEATS} (free phase {t_free:.2f} s to residual "
              f"{res:.1e}); normalized EP-RBP error {worst:.1e}")
    gen = best["generated"][0]
    print(f"ratio: generated / hand-written numpy = {gen / best['hand-written numpy'][0]:.2f} "
          "(target <= 1.25)")
    if "PyTorch autograd" in best:
        print(f"ratio: PyTorch autograd / generated = {best['PyTorch autograd'][0] / gen:.2f} "
              "(target > 1: generated faster)")


if __name__ == "__main__":
    main()
