"""Benchmark: Theorem 3 at realistic size (W1), generated code against the hand-written path.

W1: layers 10-512-512-784, batch 128, sigmoid -- the layered Hopfield
network of examples/layered_hopfield.toml at its [scale] sizes. The free
phase (relaxation, then trust-region Newton-CG, to a residual of 1e-15 or
float64's floor), the hypotheses of every example (residual, Lanczos for
the smallest and largest eigenvalue of H, symmetry, finiteness), then 100
complex-step nudged steps (the theta side included), 100 RBP steps, and the
per-step comparison. Three implementations of that work, in one run,
alternating (this machine drifts by ~20% over minutes; the best of REPEATS
counts):

- **generated**: eqprop's code generated from the array model (what
  ``eqprop scale`` runs);
- **hand-written**: the numpy path that ``eqprop scale`` ran until issue 22
  (stacked real/imaginary GEMMs, dual-number activations, buffer reuse, the
  Gram-matrix comparison of the input layer), frozen in bench/baseline/;
  the free phase and the hypotheses are the same solver code for both;
- **PyTorch autograd** (CPU, 2 threads), when torch is installed: the energy
  written plainly in torch, the tangent of the nudged phase by autograd
  (PyTorch cannot nudge with a complex beta), H v and M v by autograd, with
  its own relaxation and Newton-CG.

Targets (issue 22): generated within 1.1x of hand-written, and at least as
fast as PyTorch. Then the exact dJ/dtheta for n = 2,000 state units
(10-995-995-784, one example), timed, against an independent PyTorch
computation (dense autograd Hessian, Newton polish, solve).

    python bench/scale.py
"""

import os
import platform
import sys
import time

import numpy as np

from eqprop.numeric.batch_solve import free_phase
from eqprop.numeric.data import load
from eqprop.proofs.scale import check_theorem3, implicit_gradient
from eqprop.proofs.scale_hypotheses import check_hypotheses
from eqprop.proofs.scale_network import build
from eqprop.symbolic.arrays import layered

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from baseline import theorem3 as hand  # noqa: E402

REPEATS = 5
SIZES = [10, 512, 512, 784]


def w1_generated(net, steps=100, eps=0.5):
    """``(total, free phase, residual, worst row)`` of the generated path."""
    t0 = time.perf_counter()
    free = free_phase(net, eps=eps)
    t_free = time.perf_counter() - t0
    hyp = check_hypotheses(net, free.s, free, eps=eps)
    assert all(c["holds"] for c in hyp["checks"])
    rows = check_theorem3(net, free.s, eps=eps, steps=steps, real=False)
    worst = max(r["complex_step"] for r in rows)
    return time.perf_counter() - t0, t_free, float(np.max(free.residual)), worst


def w1_hand(net, x, y, steps=100, eps=0.5):
    """The same work on the hand-written network (its own Theorem 3 loop)."""
    t0 = time.perf_counter()
    bound = hand.Bound(net, x)
    free = free_phase(bound, eps=eps)
    t_free = time.perf_counter() - t0
    hyp = check_hypotheses(bound, free.s, free, eps=eps)
    assert all(c["holds"] for c in hyp["checks"])
    worst = max(hand.check_theorem3(net, free.s, x, y, eps=eps, steps=steps).values())
    return time.perf_counter() - t0, t_free, float(np.max(free.residual)), worst


def torch_energy(weights, sizes, x, y):
    """The same layered energy written plainly in PyTorch: (W, Y, energy(s))."""
    import torch
    torch.set_default_dtype(torch.float64)
    W = [torch.tensor(w, requires_grad=True) for w in weights]
    b = [torch.zeros(n) for n in sizes[:-1]]
    X, Y = torch.tensor(x), torch.tensor(y)

    def energy(s):
        parts = torch.split(s, list(sizes[:-1]), dim=1)
        r = [torch.sigmoid(p) for p in parts] + [torch.sigmoid(X)]
        E = 0.5 * (s * s).sum()
        for l in range(len(W)):
            E = E - ((r[l] @ W[l]) * r[l + 1]).sum() - (b[l] * r[l]).sum()
        return E
    return W, Y, energy


def w1_torch(weights, sizes, x, y, s0_start, steps=100, eps=0.5):
    import torch
    W, Y, energy = torch_energy(weights, sizes, x, y)

    def grad(s):
        s = s.detach().requires_grad_(True)
        return s, torch.autograd.grad(energy(s), s, create_graph=True)[0]

    def cost_grad(s):
        g = torch.zeros_like(s)
        g[:, :sizes[0]] = s[:, :sizes[0]] - Y
        return g

    t0 = time.perf_counter()
    s = torch.tensor(s0_start)
    for _ in range(20):
        s = (s - eps * grad(s)[1]).detach()
    for _ in range(30):  # Newton-CG with autograd H v
        sv, g = grad(s)
        if g.abs().max() <= 1e-12:
            break
        z, r = torch.zeros_like(s), g.detach().clone()
        p, rr = r.clone(), (r * r).sum(1, keepdim=True)
        for _ in range(200):
            if torch.sqrt(rr).max() <= 1e-14 * torch.sqrt((g * g).sum(1, keepdim=True)).max():
                break
            Ap = torch.autograd.grad(g, sv, p, retain_graph=True)[0]
            alpha = rr / (p * Ap).sum(1, keepdim=True)
            z, r = z + alpha * p, r - alpha * Ap
            rr_new = (r * r).sum(1, keepdim=True)
            p, rr = r + rr_new / rr * p, rr_new
        s = (s - z).detach()
    sv, g = grad(s)
    t_free = time.perf_counter() - t0
    # nudged phase, tangent form: u_{k+1} = u_k - eps (H u_k + C_s); Stilde_k = H u_k + C_s
    cs = cost_grad(s)
    u = torch.zeros_like(s)
    s_tilde, theta_tilde = [], []
    for _ in range(steps):
        Hu = torch.autograd.grad(g, sv, u, retain_graph=True)[0]
        st = Hu + cs
        s_tilde.append(st)
        u = u - eps * st
        ui = u.detach()
        theta_tilde.append([gw.detach() for gw in torch.autograd.grad(
            (g * ui).sum(), W, retain_graph=True)])
    # RBP
    sb = cs.clone()
    tb = [torch.zeros_like(w) for w in W]
    s_bar = []
    for _ in range(steps):
        s_bar.append(sb)
        Ms = torch.autograd.grad((g * sb).sum(), W, retain_graph=True)
        tb = [a - eps * m for a, m in zip(tb, Ms)]
        sb = sb - eps * torch.autograd.grad(g, sv, sb, retain_graph=True)[0]
    worst = max(float(torch.sqrt(sum(((a - c) ** 2).sum() for a, c in zip(s_tilde, s_bar))
                                 / sum((c ** 2).sum() for c in s_bar))), 0.0)
    return time.perf_counter() - t0, t_free, float(g.detach().abs().max()), worst


def implicit_torch(weights, sizes, x, y, s0):
    import torch
    W, Y, energy = torch_energy(weights, sizes, x, y)
    s = torch.tensor(s0)
    for _ in range(3):  # PyTorch's own Newton polish of the fixed point (dense, n = 2000)
        H = torch.autograd.functional.hessian(lambda z: energy(z.reshape(1, -1)), s.reshape(-1))
        g = torch.autograd.functional.jacobian(lambda z: energy(z.reshape(1, -1)), s.reshape(-1))
        s = s - torch.linalg.solve(H, g).reshape(1, -1)
    sv = s.detach().requires_grad_(True)
    g = torch.autograd.grad(energy(sv), sv, create_graph=True)[0]
    cs = torch.zeros_like(s)
    cs[:, :sizes[0]] = s[:, :sizes[0]] - Y
    H = torch.autograd.functional.hessian(lambda z: energy(z.reshape(1, -1)), s.reshape(-1))
    z = torch.linalg.solve(H, cs.reshape(-1)).reshape(1, -1)
    dW = torch.autograd.grad((g * z).sum(), W)
    return [-d.numpy() for d in dW]


def main():
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    x, y = load("random", n_in=784, n_out=10, batch=128)
    t = time.perf_counter()
    built = build(layered(SIZES), batch=128, values={"x": x, "y": y})
    print(f"W1 model: derivation and code generation {time.perf_counter() - t:.2f} s")
    weights = [built.numbers[f"W{l}{l + 1}"] for l in range(3)]
    hw = hand.sigmoid_network(weights)
    try:
        import torch
        torch.set_num_threads(2)
    except ImportError:
        torch = None
    runs = {"generated": lambda: w1_generated(built.net), "hand-written": lambda: w1_hand(hw, x, y)}
    if torch is not None:
        runs["PyTorch autograd"] = lambda: w1_torch(weights, SIZES, x, y,
                                                     np.zeros((128, sum(SIZES[:-1]))))
    best = {k: None for k in runs}
    for _ in range(REPEATS):
        for name, run in runs.items():
            out = run()
            if best[name] is None or out[0] < best[name][0]:
                best[name] = out
    for name, (total, t_free, res, worst) in best.items():
        print(f"W1 {name:<17} {total:6.2f} s best of {REPEATS} (free phase {t_free:.2f} s to residual "
              f"{res:.1e}); worst normalized EP-RBP error {worst:.1e}")
    gen, hw_t = best["generated"][0], best["hand-written"][0]
    print(f"ratio: generated / hand-written = {gen / hw_t:.2f} (target <= 1.1)")
    if torch is not None:
        print(f"ratio: PyTorch / generated = {best['PyTorch autograd'][0] / gen:.2f} (target >= 1)")
    else:
        print("PyTorch not installed (pip install torch==2.13.0): no autograd baseline")

    xb, yb = load("random", n_in=784, n_out=10, batch=1, seed=1)
    big = build(layered([10, 995, 995, 784], seed=1), batch=1, values={"x": xb, "y": yb})
    t = time.perf_counter()
    free = free_phase(big.net, eps=0.5)
    grad = implicit_gradient(big.net, free.s)
    t_imp = time.perf_counter() - t
    print(f"n = 2000 : exact dJ/dtheta (free phase + implicit function theorem) {t_imp:.2f} s "
          f"(target <= 1 s); residual {float(np.max(free.residual)):.1e}")
    if torch is not None:
        ref = implicit_torch([big.numbers[f"W{l}{l + 1}"] for l in range(3)], [10, 995, 995, 784],
                             xb, yb, free.s)
        num = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(grad, ref)))
        den = np.sqrt(sum(np.sum(b ** 2) for b in ref))
        print(f"           against PyTorch (dense autograd Hessian, Newton, solve): "
              f"{num / den:.1e} relative (target <= 1e-12)")


if __name__ == "__main__":
    main()
