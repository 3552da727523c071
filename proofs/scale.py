"""Theorem 3 at realistic size: discrete-time EP against RBP, layer by layer (issue 5).

With Euler steps of size eps, the nudged phase ``s_{k+1} = s_k - eps
dE^beta/ds(s_k)`` started at s0 and the discrete adjoint ``Sbar_{k+1} =
(I - eps H) Sbar_k``, ``Thetabar_{k+1} = Thetabar_k - eps M Sbar_k`` satisfy

    Stilde_k = -(s_{k+1} - s_k) / (eps beta) = Sbar_k + O(beta)
    Thetatilde_k = (E_theta(s_k) - E_theta(s0)) / beta = Thetabar_k + O(beta)

(Ernoult et al. 2019's 'gradient-descending updates'). With complex-step
nudging, beta = i h, both EP sides are imaginary parts divided by h: no
O(beta) bias and no subtraction of two runs, so the identity holds to
float64 rounding. A real beta (0.01 by default) is run beside it so that the
difference is visible.

The measure, per layer, is Ernoult et al.'s normalized error
``sqrt(sum_k |ep_k - rbp_k|^2 / max(sum_k |ep_k|^2, sum_k |rbp_k|^2))``.

The per-step relative error is also reported. It has a floor that is physics,
not a bug: the EP side is ``H u_k + C_s``, a small difference of large terms
once Sbar_k has decayed far below the accumulated deviation u_k. A float64
step therefore keeps only about ``16 - log10(|u_k| / |Sbar_k|)`` digits; the
column ``digits lost`` gives that estimate.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from eqprop.errors import EqpropError

from .options import finite_number
from eqprop.numeric.data import load
from eqprop.numeric.layered import Factored, LayeredNetwork, Unary, Workspace, cg_solve
from eqprop.symbolic.builtins import rho_function
from eqprop.symbolic.codegen import compile_unary, compile_unary_joint

__all__ = ["network", "network_from_model", "check_theorem3", "implicit_gradient", "rbp_limit",
           "scale", "ScaleReport", "normalized_error"]


def _unary(expr, name):
    f, df, ddf, dddf, _ = compile_unary(expr, name)
    return Unary(f, df, ddf, name=str(expr), dddf=dddf, joint=compile_unary_joint(expr, name))


def network(layers, *, rho="sigmoid", u=None, biases=False, seed=0, cost="squared",
            asymmetry=0.0):
    """A :class:`LayeredNetwork` with Glorot-uniform weights drawn from ``seed``.

    ``layers = [n_out, ..., n_in]``. ``rho`` and ``u`` are names or SymPy
    expressions/strings in one variable (u defaults to z^2/2). A nonzero
    ``asymmetry`` adds that much independent noise to the backward weights:
    the non-gradient negative control.
    """
    try:
        sizes = [int(n) for n in layers]
    except (TypeError, ValueError):
        raise EqpropError(f"layers: expected integers such as 10,512,512,784, got {layers!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise EqpropError(f"layers: need at least two positive sizes, output first and input "
                          f"last, got {sizes}")
    rng = np.random.default_rng(seed)
    W = [rng.uniform(-1, 1, (sizes[l], sizes[l + 1])) * np.sqrt(6 / (sizes[l] + sizes[l + 1]))
         for l in range(len(sizes) - 1)]
    b = [rng.uniform(-0.5, 0.5, sizes[l]) if biases else np.zeros(sizes[l])
         for l in range(len(sizes) - 1)]
    W_back = None
    if asymmetry:
        W_back = [w + asymmetry * rng.standard_normal(w.shape) * np.sqrt(2 / sum(w.shape))
                  for w in W[:-1]]
    z = sp.Symbol("z", real=True)
    u_expr = z**2 / 2 if u is None else rho_function(u)
    return LayeredNetwork(sizes=tuple(sizes), W=W, b=b, rho=_unary(rho_function(rho), "rho"),
                          u=_unary(u_expr, "u"), cost=cost, W_back=W_back)


def network_from_model(model):
    """The :class:`LayeredNetwork` of a built-in ``hopfield(...)`` model, same weights and data.

    Returns ``(net, x, y)`` with a batch of one example.
    """
    if model.layers is None:
        raise EqpropError("network_from_model: the model has no layer structure; use a "
                          "hopfield(...) model")
    sizes = model.layers
    vals = {s.name: float(v) for s, v in {**model.params, **model.data}.items()}
    W = [np.array([[vals[f"W{l}{l + 1}_{i}_{j}"] for j in range(sizes[l + 1])]
                   for i in range(sizes[l])]) for l in range(len(sizes) - 1)]
    b = [np.array([vals.get(f"b{l}_{i}", 0.0) for i in range(sizes[l])]) for l in range(len(sizes) - 1)]
    x = np.array([[vals[f"x_{j}"] for j in range(sizes[-1])]])
    y = np.array([[vals[f"y_{i}"] for i in range(sizes[0])]])
    z = sp.Symbol("z", real=True)
    # rho is recovered from the energy's coupling term of W01_0_0
    w = next(p for p in model.params if p.name == "W01_0_0")
    term = next(t for t in sp.Add.make_args(model.energy) if t.has(w))
    s00 = next(s for s in model.state if s.name == "s0_0")
    rho_expr = sp.Mul(*[f for f in sp.Mul.make_args(term) if f.free_symbols == {s00}]).xreplace({s00: z})
    net = LayeredNetwork(sizes=sizes, W=W, b=b, rho=_unary(rho_expr, "rho"),
                         u=_unary(z**2 / 2, "u"))
    return net, x, y


def normalized_error(ep, rbp):
    """Ernoult et al.'s measure over a series: sqrt(sum|ep - rbp|^2 / max(sum|ep|^2, sum|rbp|^2))."""
    num = sum(float(np.sum(np.abs(a - b) ** 2)) for a, b in zip(ep, rbp))
    den = max(sum(float(np.sum(np.abs(a) ** 2)) for a in ep),
              sum(float(np.sum(np.abs(b) ** 2)) for b in rbp))
    return np.sqrt(num / den) if den > 0 else (0.0 if num == 0 else np.inf)


def implicit_gradient(net, s0, x, y, *, tol=1e-14):
    """dJ/dtheta = -M H^-1 C_s (C independent of theta): CG on H, then the mixed product."""
    lin = net.linearize(s0, x)
    z = cg_solve(lambda v: lin.hv(v, transpose=True), net.dC_ds(s0, y), tol=tol)
    dW, db = lin.mv(z)
    return [-g for g in dW], [-g for g in db]


def _flat(theta):
    return np.concatenate([np.ravel(a) for a in theta[0] + theta[1]])


@dataclass(frozen=True)
class ScaleReport:
    """Per-layer agreement of EP and RBP at realistic size; ``table()`` to read it."""

    layers: list
    batch: int
    data: str
    eps: float
    steps: int
    h: float
    beta: float
    residual: float
    rows: list
    gradient: dict
    continuous: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def worst_complex(self):
        return max(r["complex_step"] for r in self.rows)

    @property
    def passed(self):
        ok = self.worst_complex <= 1e-12 and self.gradient.get("ep_vs_implicit", 1) <= 1e-10
        if self.continuous:
            ok = ok and max(r["complex_step"] for r in self.continuous) <= 1e-9
        return ok

    def to_dict(self):
        return {"layers": self.layers, "batch": self.batch, "data": self.data, "eps": self.eps,
                "steps": self.steps, "h": self.h, "beta": self.beta,
                "free_phase_residual": self.residual, "rows": self.rows,
                "gradient": self.gradient, "continuous": self.continuous,
                "seconds": self.seconds, "notes": self.notes, "passed": self.passed}

    def to_json(self):
        return json.dumps(self.to_dict(), sort_keys=True, indent=1)

    def table(self):
        lines = [f"eqprop scale: layers {'-'.join(map(str, self.layers))}, batch {self.batch}, "
                 f"data {self.data}",
                 f"  free phase residual max|dE/ds| = {self.residual:.1e}; {self.steps} Euler steps "
                 f"of eps = {self.eps:g}; complex step h = {self.h:g}, real beta = {self.beta:g}", "",
                 "  Theorem 3 in discrete time, Ernoult et al.'s normalized error per layer:",
                 f"  {'quantity':<10} {'complex-step':>13} {'real beta':>11} {'symmetric':>11}   "
                 f"{'per-step rel. error (min / median / max)':<42} digits lost (max)"]
        def num(v, width):
            return f"{v:>{width}.2e}" if v is not None else f"{'-':>{width}}"
        for r in self.rows:
            lines.append(f"  {r['quantity']:<10} {num(r['complex_step'], 13)} {num(r['real_beta'], 11)} "
                         f"{num(r['symmetric_beta'], 11)}   {r['step_min']:>9.1e} / {r['step_median']:>8.1e}"
                         f" / {r['step_max']:>8.1e}{'':12} {r['digits_lost']:>5.1f}")
        lines += ["  The per-step error has a floor that is physics, not a bug: EP reads Stilde_k as",
                  "  H u_k + C_s, a small difference of large terms once Sbar_k has decayed below the",
                  "  deviation u_k, so a float64 step keeps about 16 - (digits lost) digits; past 16",
                  "  nothing is left of that step. The normalized measure weighs steps by their size."]
        if self.continuous:
            lines += ["", "  continuous time (DOP853), normalized error per layer:"]
            for r in self.continuous:
                lines.append(f"  {r['quantity']:<10} {r['complex_step']:>13.2e}")
        g = self.gradient
        lines += ["", "  dJ/dtheta (all layers): relative difference to the implicit-function gradient",
                  f"    EP limit (complex-step nudged fixed point) {g['ep_vs_implicit']:.2e}",
                  f"    RBP limit (adjoint run to decay)           {g['rbp_vs_implicit']:.2e}",
                  f"    EP with real beta = {self.beta:g}                 {g['real_beta_vs_implicit']:.2e}"]
        lines += [f"  note: {n}" for n in self.notes]
        lines += ["", "  timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items()),
                  "", "verdict: " + ("agreement at float64 rounding (complex-step <= 1e-12)"
                                     if self.passed else "NOT within the tolerances")]
        return "\n".join(lines)


def _ep_steps(net, s0, x, y, beta, steps, eps, factored=False):
    """One nudged run from s0; yields, per step k, the EP sides and the deviation:

    ``(Stilde_k, (Thetatilde_{k+1} per W_l, per b_l), u_{k+1})`` with
    ``Stilde_k = -(s_{k+1} - s_k) / (eps beta)``, read as imaginary parts over
    h when beta = i h.
    """
    complex_step = np.iscomplexobj(beta)
    if complex_step:
        yield from _complex_step_run(net, s0, x, y, abs(beta), steps, eps, factored=factored)
        return
    th0 = net.dE_dtheta(s0, x)
    s = s0.copy()
    r = net.rates(s, x)
    for _ in range(steps):
        step = -eps * (net.dE_ds(s, x, r) + beta * net.dC_ds(s, y))
        s_tilde = -step / (eps * beta)
        s = s + step
        r = net.rates(s, x)  # shared by E_theta now and the gradient at the next step
        dW, db = net.dE_dtheta(s, x, r=r)
        theta = ([(a - b) / beta for a, b in zip(dW, th0[0])], [(a - b) / beta for a, b in zip(db, th0[1])])
        yield s_tilde, theta, (s - s0) / beta


def _complex_step_run(net, s0, x, y, h, steps, eps, split=True, factored=False):
    """The nudged run with beta = i h: Im(...) / h of the complex trajectory.

    While the imaginary parts stay within the dual-number range (always, for
    h = 1e-20), the state is held in the split form of
    :meth:`LayeredNetwork.split_grad` (real and imaginary parts stacked, the
    same complex arithmetic without complex temporaries); otherwise, or with
    ``split=False``, as a complex128 array. Im E_theta(s0) = 0, so
    Thetatilde is Im E_theta(s_k) / h. ``factored``: the input layer's
    Thetatilde as a :class:`Factored` (split form only).
    """
    B = s0.shape[0]
    out = net.slices[0]
    S = np.concatenate([s0, np.zeros_like(s0)])
    k = 0
    if split and net.split_ready(S):
        ws = Workspace()  # the yielded arrays are its buffers: valid until the next step
        R, D = net.split_rates(S, x, ws)
        while k < steps:
            G = net.split_grad(S, x, R, D, ws)
            c = net.dC_do(S[:B, out] + 1j * S[B:, out], y)
            G[:B, out] -= h * c.imag  # dE/ds + i h dC/ds
            G[B:, out] += h * c.real
            s_tilde = np.divide(G[B:], h, out=ws.buffer("s_tilde", (B, S.shape[1])))
            G *= eps
            S -= G
            k += 1
            if not net.split_ready(S):
                break
            R, D = net.split_rates(S, x, ws)
            yield (s_tilde, net.split_dE_dtheta_imag(R, 1 / h, ws, factored),
                   np.divide(S[B:], h, out=ws.buffer("u", (B, S.shape[1]))))
        else:
            return
        # the imaginary part outgrew the dual form: finish this step and the rest in complex128
        s = S[:B] + 1j * S[B:]
        dW, db = net.dE_dtheta(s, x, part="imag")
        yield s_tilde, ([a / h for a in dW], [a / h for a in db]), s.imag / h
    else:
        s = s0.astype(complex)
    r = net.rates(s, x)
    while k < steps:
        step = -eps * (net.dE_ds(s, x, r) + 1j * h * net.dC_ds(s, y))
        s_tilde = -step.imag / (h * eps)
        s = s + step
        k += 1
        r = net.rates(s, x)
        dW, db = net.dE_dtheta(s, x, part="imag", r=r)
        yield s_tilde, ([a / h for a in dW], [a / h for a in db]), s.imag / h


def _rbp_steps(net, s0, x, y, steps, eps, factored=False):
    """RBP's discrete adjoint; yields ``(Sbar_k, (Thetabar_{k+1} per W_l, per b_l))``.

    ``Thetabar_{k+1} = Thetabar_k - eps M Sbar_k`` with ``Thetabar_0 = 0`` is,
    M being linear, ``-eps M (Sbar_0 + ... + Sbar_k)``: one product per step
    and no weight-sized accumulation. The yielded arrays are buffers,
    overwritten at the next step: use them before. ``factored``: the input
    layer's Thetabar as a :class:`Factored`.
    """
    lin = net.linearize(s0, x)  # H and M are fixed at s0: precompute once
    sb = net.dC_ds(s0, y)
    partial = np.zeros_like(sb)
    ws = Workspace()
    for _ in range(steps):
        partial += sb
        yield sb, lin.mv(-eps * partial, ws, factored)
        sb = sb - eps * lin.hv(sb, transpose=True, ws=ws)


def rbp_limit(net, s0, x, y, *, eps, steps):
    """Thetabar after ``steps`` RBP steps (the RBP estimate of dJ/dtheta)."""
    theta = None
    for _, theta in _rbp_steps(net, s0, x, y, steps, eps):
        pass
    # the yielded arrays are the run's buffers: hand the caller copies
    return [a.copy() for a in theta[0]], [a.copy() for a in theta[1]]


def _sumsq(a):
    """sum |a|^2 (a BLAS dot; ravel copies only strided views)."""
    a = np.ravel(a)
    return float(np.vdot(a, a).real)


class _Agreement:
    """Running sums for Ernoult et al.'s normalized error and per-step errors."""

    def __init__(self):
        self.num = self.ep2 = self.rbp2 = 0.0
        self.steps, self.lost = [], []

    def add(self, ep, rbp, u=None):
        if isinstance(ep, Factored) and isinstance(rbp, Factored) and ep.X is rbp.X:
            # A^T X against B^T X: the batch Gram matrix X X^T replaces the
            # weight-sized products
            if getattr(self, "_gram", (None,))[0] is not ep.X:
                self._gram = (ep.X, Factored.gram(ep.X))
            G = self._gram[1]
            d2, e2, r2 = (Factored.sumsq(a, G) for a in (ep.A - rbp.A, ep.A, rbp.A))
            self._accumulate(d2, e2, r2, u)
            return
        ep = ep.dense() if isinstance(ep, Factored) else ep
        rbp = rbp.dense() if isinstance(rbp, Factored) else rbp
        if np.iscomplexobj(ep) or np.iscomplexobj(rbp):
            d = ep - rbp
        else:  # weight-sized differences at every step: one buffer
            if getattr(self, "_d", None) is None or self._d.shape != np.shape(ep):
                self._d = np.empty(np.shape(ep))
            d = np.subtract(ep, rbp, out=self._d)
        self._accumulate(_sumsq(d), _sumsq(ep), _sumsq(rbp), u)

    def _accumulate(self, d2, e2, r2, u):
        self.num, self.ep2, self.rbp2 = self.num + d2, self.ep2 + e2, self.rbp2 + r2
        self.steps.append(np.sqrt(d2) / max(np.sqrt(r2), 1e-300))
        if u is not None:
            self.lost.append(np.log10(max(np.sqrt(_sumsq(u)), 1e-300) / max(np.sqrt(r2), 1e-300)))

    @property
    def normalized(self):
        den = max(self.ep2, self.rbp2)
        return float(np.sqrt(self.num / den)) if den > 0 else (0.0 if self.num == 0 else np.inf)


def check_theorem3(net, s0, x, y, *, eps=0.5, steps=100, h=1e-20, beta=0.01, real=True):
    """Per-layer rows comparing EP's discrete temporal derivatives with RBP's (see module doc).

    Every run advances in lockstep and only running sums are kept, so
    memory stays at a few copies of the state and the weights whatever the
    number of steps. ``real=False`` skips the real-beta columns.
    """
    quantities = [f"s{l}" for l in range(net.L)] + [f"W{l}{l + 1}" for l in range(net.L)]
    has_b = any(np.any(b) for b in net.b)
    if has_b:
        quantities += [f"b{l}" for l in range(net.L)]
    estimators = ("complex_step", "real_beta", "symmetric_beta") if real else ("complex_step",)
    stats = {(q, e): _Agreement() for q in quantities for e in estimators}
    runs = [_ep_steps(net, s0, x, y, 1j * h, steps, eps, factored=True)]
    if real:
        runs += [_ep_steps(net, s0, x, y, beta, steps, eps), _ep_steps(net, s0, x, y, -beta, steps, eps)]

    def pieces(s_side, theta_side):
        out = {f"s{l}": s_side[..., sl] for l, sl in enumerate(net.slices)}
        out.update({f"W{l}{l + 1}": theta_side[0][l] for l in range(net.L)})
        if has_b:
            out.update({f"b{l}": theta_side[1][l] for l in range(net.L)})
        return out
    for (sb, tb), *eps_runs in zip(_rbp_steps(net, s0, x, y, steps, eps, factored=True), *runs):
        rbp = pieces(sb, tb)
        ep = {"complex_step": pieces(*eps_runs[0][:2])}
        u = eps_runs[0][2]
        if real:
            plus, minus = eps_runs[1], eps_runs[2]
            ep["real_beta"] = pieces(*plus[:2])
            ep["symmetric_beta"] = pieces((plus[0] + minus[0]) / 2,
                                          ([(a + b) / 2 for a, b in zip(plus[1][0], minus[1][0])],
                                           [(a + b) / 2 for a, b in zip(plus[1][1], minus[1][1])]))
        for e, parts in ep.items():
            for q in quantities:
                uq = u[..., net.slices[int(q[1:])]] if (q.startswith("s") and e == "complex_step") else None
                stats[(q, e)].add(parts[q], rbp[q], uq)
    rows = []
    for q in quantities:
        st = stats[(q, "complex_step")]
        rows.append({"quantity": q, "complex_step": st.normalized,
                     "real_beta": stats[(q, "real_beta")].normalized if real else None,
                     "symmetric_beta": stats[(q, "symmetric_beta")].normalized if real else None,
                     "step_min": float(np.min(st.steps)), "step_median": float(np.median(st.steps)),
                     "step_max": float(np.max(st.steps)),
                     "digits_lost": float(max(0.0, max(st.lost))) if st.lost else 0.0,
                     "per_step": {e: [float(v) for v in stats[(q, e)].steps] for e in estimators}})
    return rows


def continuous_check(net, s0, x, y, *, T=5.0, points=21, h=1e-8, rtol=1e-12):
    """Theorem 3 in continuous time with DOP853: per-layer normalized error on a time grid.

    The EP run is the complex-step nudged flow (beta = i h) written in the
    deviation from s0 with its imaginary part divided by h, so that the
    solver's error control sees the derivative at its own scale.
    """
    B, n = s0.shape
    ts = np.linspace(0, T, points)

    lin = net.linearize(s0, x)

    def rbp_rhs(_t, v):
        return -lin.hv(v.reshape(B, n), transpose=True).ravel()

    def ep_rhs(_t, w):
        # the state is s = s0 + Re(w) + i h Im(w): the complex-step trajectory with its
        # imaginary part rescaled by 1/h, so the solver's error norm sees it at order one
        w = w.reshape(B, n)
        s = s0 + w.real + 1j * h * w.imag
        f = -(net.dE_ds(s, x) + 1j * h * net.dC_ds(s, y))
        return (f.real + 1j * f.imag / h).ravel()
    opts = dict(method="DOP853", t_eval=ts, rtol=rtol)
    c = float(np.max(np.abs(net.dC_ds(s0, y)))) or 1.0
    atol = rtol * c * 1e-6  # six orders below the solutions' scale (|C_s|)
    rbp = solve_ivp(rbp_rhs, (0, T), net.dC_ds(s0, y).ravel(), atol=atol, **opts)
    ep = solve_ivp(ep_rhs, (0, T), np.zeros(B * n, dtype=complex), atol=atol, **opts)
    if not (rbp.success and ep.success):
        raise EqpropError(f"continuous check: DOP853 failed ({rbp.message}; {ep.message})")
    s_bar = [rbp.y[:, k].reshape(B, n) for k in range(points)]
    s_tilde = []
    for k in range(points):
        w = ep.y[:, k].reshape(B, n)
        s = s0 + w.real + 1j * h * w.imag
        s_tilde.append((net.dE_ds(s, x) + 1j * h * net.dC_ds(s, y)).imag / h)
    return [{"quantity": f"s{l}",
             "complex_step": normalized_error([a[..., sl] for a in s_tilde], [b[..., sl] for b in s_bar])}
            for l, sl in enumerate(net.slices)]


def _rel(a, b):
    a, b = _flat(a), _flat(b)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


#: what :func:`scale` refuses to start: estimated peak memory (bytes) and work (flop)
MAX_MEMORY = 8 * 2**30
MAX_FLOPS = 1e13


def _sci(n):
    """A non-negative number, possibly a huge Python int, as '1.2e+15' (never OverflowError)."""
    n = int(n)
    if n < 10**300:
        return f"{float(n):.1e}"
    e = math.floor(math.log10(n))  # math.log10 takes ints of any size
    return f"{10 ** (math.log10(n) - e):.1f}e+{e}"


def _short(value, n=80):
    text = repr(value)
    return text if len(text) <= n else text[:n - 3] + "..."


def _bytes(n):
    n = int(n)
    if n.bit_length() > 1000:
        return f"{_sci(n)} bytes"
    v = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if v < 1024 or unit == "PiB":
            return f"{v:.0f} {unit}" if unit == "bytes" else f"{v:.3g} {unit}"
        v /= 1024


def estimate(sizes, batch, steps, eps=0.5, continuous=False, asymmetry=0.0):
    """``(bytes, flops)``: the peak memory and the arithmetic that :func:`scale` will need.

    A deliberately generous model, in Python integers (no overflow), measured
    against tracemalloc on small runs: about 16 weight-sized float64 arrays
    (the weights, their transposes' products, Thetatilde and Thetabar of three
    estimators, the buffers of the differences), 40 float64 copies of the batch
    of states (complex128 and split complex buffers count twice), two
    batch-by-batch Gram matrices, and 100 bytes per step, quantity and
    estimator of per-step errors. Work: one product of the batch with all the
    weights is ``P = 2 batch W`` flop; a step of the four runs (complex step,
    +beta, -beta, RBP) costs about 15 P and the Gram-weighted comparisons of the
    input layer 18 batch^2 n_in_hidden; the gradients add the RBP limit
    (40 / eps steps of 3 P) and Newton-CG (taken as 1000 P: about 110
    products with H were measured, complex ones at twice the cost);
    ``continuous`` DOP853 at rtol 1e-12 about 15000 P (measured: 13000 P).
    """
    sizes = [int(n) for n in sizes]
    W = sum(a * b for a, b in zip(sizes, sizes[1:]))
    N = sum(sizes)
    L = len(sizes) - 1
    B = int(batch)
    mem = 8 * (16 + (1 if asymmetry else 0)) * W + 8 * 40 * B * N + 2 * 8 * B * B \
        + 100 * int(steps) * 3 * L * 4
    if continuous:
        mem += 16 * 80 * B * N
    P = 2 * B * W
    per_step = 15 * P + 18 * B * B * sizes[-2]
    flops = int(steps) * per_step + (int(40 / eps) + 1) * 3 * P + 1000 * P + 2 * B * B * sizes[-1]
    if continuous:
        flops += 15000 * P
    # Python's own work per layer and step (a few microseconds per array operation)
    flops += (int(steps) + 100) * L * 4 * 10**6
    return mem, flops


def _check_arguments(layers, batch, eps, steps, h, beta, seed, cost, continuous, asymmetry, data,
                     max_memory, max_flops):
    """Every argument of :func:`scale`, before anything is allocated.

    Returns ``(sizes, batch, steps, seed, eps, beta, h)`` as Python ints and floats.
    """
    def whole(name, value):
        if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise EqpropError(f"{name}: expected a whole number, got {_short(value)}")
        return int(value)

    def real(name, value):
        return finite_number(value, name)

    if isinstance(layers, (str, bytes)):
        raise EqpropError(f"layers: expected a list of integers such as [10, 512, 512, 784], "
                          f"got {_short(layers)}")
    try:
        sizes = [whole("layers", n) for n in layers]
    except TypeError:
        raise EqpropError(f"layers: expected a list of integers such as [10, 512, 512, 784], "
                          f"got {_short(layers)}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        shown = ",".join(str(n) if abs(n) < 10**12 else "(huge)" for n in sizes[:20]) \
            + (f",... ({len(sizes)} sizes)" if len(sizes) > 20 else "")
        raise EqpropError(f"layers: need at least two positive sizes, output first and input last "
                          f"(such as 10,512,512,784), got {shown}")
    batch = whole("batch", batch)
    if batch < 1:
        raise EqpropError(f"batch: must be at least 1, got {batch}")
    steps = whole("steps", steps)
    if steps < 1:
        raise EqpropError(f"steps: must be at least 1, got {steps}")
    seed = whole("seed", seed)
    if seed < 0:
        raise EqpropError(f"seed: must be a non-negative integer, got {seed}")
    eps = real("eps", eps)
    if not (0 < eps < 2):
        raise EqpropError(f"eps: Euler step must be in (0, 2) for stable dynamics, got {eps}")
    beta = real("beta", beta)
    if beta == 0:
        raise EqpropError("beta: must be non-zero (EP divides by it); the default is 0.01")
    h = real("h", h)
    if h <= 0:
        raise EqpropError(f"h: the complex step must be positive, got {h} (default 1e-20)")
    real("asymmetry", asymmetry)
    if cost not in ("squared", "cross_entropy"):
        raise EqpropError(f"cost: {_short(cost)}; choose 'squared' or 'cross_entropy'")
    if not isinstance(data, str):
        raise EqpropError(f"data: expected random, digits or mnist:PATH, got {_short(data)}")
    mem, flops = estimate(sizes, batch, steps, eps, continuous, asymmetry)
    def count(n):
        return str(n) if n < 10**12 else _sci(n)
    shape = (f"layers {','.join(map(count, sizes)) if len(sizes) <= 20 else f'of {len(sizes)} sizes'}, "
             f"batch {count(batch)}, {count(steps)} steps")
    if mem > max_memory:
        raise EqpropError(f"scale: {shape} would need about {_bytes(mem)} of memory, more than the "
                          f"{_bytes(max_memory)} limit; use smaller layers (--layers), a smaller "
                          "batch (--batch) or fewer steps (--steps)")
    if flops > max_flops:
        raise EqpropError(f"scale: {shape} would take about {_sci(flops)} floating-point operations, "
                          f"more than the {_sci(max_flops)} limit (hours of work); use fewer steps "
                          "(--steps), smaller layers (--layers) or a smaller batch (--batch)")
    return sizes, batch, steps, seed, eps, beta, h


def scale(layers=(10, 512, 512, 784), *, batch=128, data="random", rho="sigmoid", eps=0.5,
          steps=100, h=1e-20, beta=0.01, seed=0, cost="squared", continuous=False,
          asymmetry=0.0, progress=None, max_memory=MAX_MEMORY, max_flops=MAX_FLOPS):
    """Run the realistic-size check end to end; returns a :class:`ScaleReport`.

    Free phase: ``relax`` Euler steps, then Newton-CG to ``max|dE/ds| <= 1e-12``.
    Then :func:`check_theorem3` and the gradient comparison (implicit
    function theorem, EP limit by complex-step nudged fixed point, RBP limit).

    Every argument is checked before anything is allocated, and a run whose
    :func:`estimate` exceeds ``max_memory`` bytes (default 8 GiB) or
    ``max_flops`` (default 1e13) is refused with the estimate in the message.
    """
    say = progress or (lambda msg: None)
    layers, batch, steps, seed, eps, beta, h = _check_arguments(
        layers, batch, eps, steps, h, beta, seed, cost, continuous, asymmetry, data, max_memory,
        max_flops)
    seconds = {}
    t0 = time.perf_counter()
    net = network(layers, rho=rho, seed=seed, cost=cost, asymmetry=asymmetry)
    x, y = load(data, n_in=net.sizes[-1], n_out=net.sizes[0], batch=batch, seed=seed)
    x, y = net.check_data(x, y)
    say("free phase: Euler relaxation and Newton-CG")
    s0 = net.relax(np.zeros((batch, net.n_free)), x, eps=eps, steps=20)
    s0, residual, _ = net.newton(s0, x, tol=1e-12)
    seconds["free phase"] = time.perf_counter() - t0
    notes = []
    if residual > 1e-12:
        notes.append(f"free phase residual {residual:.1e} is above 1e-12: the fixed point is not converged")
    say(f"nudged phase ({steps} complex-step and real-beta steps) and RBP ({steps} steps)")
    t1 = time.perf_counter()
    rows = check_theorem3(net, s0, x, y, eps=eps, steps=steps, h=h, beta=beta)
    seconds["theorem 3"] = time.perf_counter() - t1
    say("gradients: implicit function theorem, EP limit, RBP limit")
    t2 = time.perf_counter()
    implicit = implicit_gradient(net, s0, x, y)
    s_beta, _, _ = net.newton(s0.astype(complex), x, y, beta=1j * h, tol=1e-300, maxiter=4)
    dW, db = net.dE_dtheta(s_beta, x)
    ep_limit = ([a.imag / h for a in dW], [a.imag / h for a in db])
    s_r, _, _ = net.newton(s0.copy(), x, y, beta=beta, tol=1e-12)
    th0, thb = net.dE_dtheta(s0, x), net.dE_dtheta(s_r, x)
    real_limit = ([(a - b) / beta for a, b in zip(thb[0], th0[0])],
                  [(a - b) / beta for a, b in zip(thb[1], th0[1])])
    k_inf = int(np.ceil(40 / eps))
    theta_inf = rbp_limit(net, s0, x, y, eps=eps, steps=k_inf)
    gradient = {"ep_vs_implicit": _rel(ep_limit, implicit), "rbp_vs_implicit": _rel(theta_inf, implicit),
                "real_beta_vs_implicit": _rel(real_limit, implicit),
                "rbp_limit_steps": k_inf}
    seconds["gradients"] = time.perf_counter() - t2
    cont = []
    if continuous:
        say("continuous time: DOP853 for RBP and the complex-step nudged flow")
        t3 = time.perf_counter()
        cont = continuous_check(net, s0, x, y)
        seconds["continuous"] = time.perf_counter() - t3
    seconds["total"] = time.perf_counter() - t0
    return ScaleReport(layers=list(net.sizes), batch=batch, data=data, eps=eps, steps=steps, h=h,
                       beta=beta, residual=residual, rows=rows, gradient=gradient, continuous=cont,
                       seconds=seconds, notes=notes)
