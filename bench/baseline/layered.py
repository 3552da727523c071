"""Layered energy-based networks at realistic size, in float64 and complex128.

The model family (issue 5), batched over a leading example axis::

    E = sum_l sum_units u(s_l) - sum_l rho(s_l)^T W_l rho(s_{l+1}) - sum_l b_l^T rho(s_l)

with layers numbered from the output (l = 0) and the input x clamped as the
last layer s_L. ``u`` (default s^2/2) and ``rho`` are scalar functions given
as :class:`Unary` triples (value, first and second derivative) that accept
complex arrays; :func:`eqprop.symbolic.codegen.compile_unary` makes them
from SymPy expressions. No SymPy here, no per-neuron Python loops, and no
n x n matrix is ever formed: the Hessian enters only through products
``H v`` (and ``H^T v``), the mixed derivative through ``M v``.

State layout: one array ``s`` of shape ``(B, n)`` holding the free layers
0..L-1 side by side (``net.slices[l]`` picks layer l).

Two non-gradient variants are negative controls, on which Theorem 3 fails:
``W_back`` makes layer l+1 hear layer l through ``W_back[l]`` instead of
``W[l]^T``; ``plain_layers`` names layers whose update lacks the factor
rho'(s_l) (``ds_l = -u'(s_l) + field_l``) while their neighbours still hear
rho(s_l). Either way the dynamics is a vector field, not the gradient of an
energy (``gradient_field`` is False).

The free phase (globalized relaxation and Newton-CG) and the spectrum of H
are in :mod:`eqprop.numeric.layered_solve`.

What only makes it fast -- complex products as real ones, dual-number
evaluation, reused buffers, the split-complex form of a complex-step run --
is in :mod:`eqprop.numeric.layered_fast`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from eqprop.errors import EqpropError

from .layered_fast import (DUAL_THRESHOLD, Factored, SplitForm, Workspace, _dual, _mm, _outer,
                           buffered_hv, buffered_mv)

# Workspace, Factored and DUAL_THRESHOLD live in layered_fast; their import path from here stays
__all__ = ["Unary", "LayeredNetwork", "cg_solve", "Workspace", "Factored", "DUAL_THRESHOLD"]


@dataclass(frozen=True)
class Unary:
    """A scalar function with its first two derivatives, elementwise on arrays.

    Give ``dddf`` (the third derivative) to evaluate complex-step arguments as
    dual numbers (see :func:`~eqprop.numeric.layered_fast._dual`); the fields ``f``, ``df``, ``ddf`` are
    then wrapped. ``joint`` (optional) returns ``(f, df, ddf)`` of a real
    array in one pass (shared subexpressions).
    """

    f: callable
    df: callable
    ddf: callable
    name: str = ""
    dddf: callable = None
    joint: callable = None

    def values(self, a):
        """``(f(a), f'(a), f''(a))`` for a real array ``a``."""
        if self.joint is not None:
            return self.joint(a)
        return self.f(a), self.df(a), self.ddf(a)

    def __post_init__(self):
        if self.dddf is not None:
            f, df, ddf = self.f, self.df, self.ddf
            object.__setattr__(self, "f", _dual(f, df))
            object.__setattr__(self, "df", _dual(df, ddf))
            object.__setattr__(self, "ddf", _dual(ddf, self.dddf))


@dataclass
class LayeredNetwork(SplitForm):
    """A layered network; see the module docstring.

    ``sizes = (n_out, n_h1, ..., n_in)``; ``W[l]`` has shape
    ``(sizes[l], sizes[l + 1])``; ``b[l]`` shape ``(sizes[l],)`` for the free
    layers. ``cost`` is ``"squared"`` (1/2 |s_0 - y|^2) or ``"cross_entropy"``
    (on a softmax readout of s_0). Quantities over the batch are sums. The
    ``split_*`` methods (a complex-step run in split form) are those of
    :class:`~eqprop.numeric.layered_fast.SplitForm`.
    """

    sizes: tuple
    W: list
    b: list
    rho: Unary
    u: Unary
    cost: str = "squared"
    W_back: list | None = None
    plain_layers: tuple = ()
    slices: list = field(init=False)

    def __post_init__(self):
        sizes = tuple(int(n) for n in self.sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise EqpropError(f"layers: need at least two positive sizes (output first, input "
                              f"last), got {list(self.sizes)}")
        for l, w in enumerate(self.W):
            if w.shape != (sizes[l], sizes[l + 1]):
                raise EqpropError(f"W[{l}]: shape {w.shape}, expected {(sizes[l], sizes[l + 1])}")
        if self.cost not in ("squared", "cross_entropy"):
            raise EqpropError(f"cost: {self.cost!r}; choose 'squared' or 'cross_entropy'")
        self.sizes = sizes
        self.plain_layers = tuple(sorted(int(l) for l in self.plain_layers))
        if any(not 0 <= l < len(sizes) - 1 for l in self.plain_layers):
            raise EqpropError(f"plain_layers: {list(self.plain_layers)}; free layers are 0.."
                              f"{len(sizes) - 2}")
        offsets = np.cumsum((0,) + sizes[:-1])
        self.slices = [slice(int(offsets[l]), int(offsets[l + 1])) for l in range(len(sizes) - 1)]

    # -- shapes ------------------------------------------------------------
    @property
    def n_free(self):
        return sum(self.sizes[:-1])

    @property
    def L(self):
        return len(self.sizes) - 1

    @property
    def symmetric(self):
        """Whether layer l + 1 hears layer l through W[l]^T (no ``W_back``)."""
        return self.W_back is None

    @property
    def gradient_field(self):
        """Whether the free dynamics is -dE/ds of the energy (H symmetric): no control variant."""
        return self.W_back is None and not self.plain_layers

    def force_factor(self, l, a):
        """The factor of layer l's field in dE/ds: rho'(s_l), or 1 for a plain layer."""
        return 1.0 if l in self.plain_layers else self.rho.df(a)

    def check_data(self, x, y):
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 2 or x.shape[1] != self.sizes[-1]:
            raise EqpropError(f"x: shape {x.shape}, expected (batch, {self.sizes[-1]}) for input "
                              f"layer of {self.sizes[-1]} units")
        if y.ndim != 2 or y.shape != (x.shape[0], self.sizes[0]):
            raise EqpropError(f"y: shape {y.shape}, expected ({x.shape[0]}, {self.sizes[0]})")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise EqpropError("x, y: contain NaN or infinite values; clean the data first")
        return x, y

    def layers(self, s):
        return [s[..., sl] for sl in self.slices]

    def _back(self, l):
        """The coupling through which layer l + 1 hears layer l (W[l] when symmetric)."""
        return self.W[l] if self.W_back is None else self.W_back[l]

    # -- energy and its derivatives ----------------------------------------
    def rates(self, s, x):
        """rho of every layer, the clamped input last (reusable across calls at one s)."""
        return [self.rho.f(a) for a in self.layers(s)] + [self.input_rates(x)]

    def input_rates(self, x):
        """rho(x) of the clamped input, computed once per x (the same array every call)."""
        cached = getattr(self, "_rx_cache", None)
        if cached is not None and cached[0] is x:
            return cached[1]
        rx = self.rho.f(x)
        self._rx_cache = (x, rx)
        return rx

    def _input_drive(self, x, rx):
        """b_{L-1} + W_{L-1} rho(x): constant while x is clamped, so computed once per x."""
        cached = getattr(self, "_drive_cache", None)
        if cached is not None and cached[0] is x:
            return cached[1]
        drive = _mm(rx, self.W[-1].T) + self.b[-1]
        self._drive_cache = (x, drive)
        return drive

    def field(self, s, x, r=None):
        """Input to each free layer: b_l + W_l rho(s_{l+1}) + W_back_{l-1}^T rho(s_{l-1})."""
        r = self.rates(s, x) if r is None else r
        out = []
        for l in range(self.L):
            if l + 1 == self.L:
                f = self._input_drive(x, r[-1])
            else:
                f = _mm(r[l + 1], self.W[l].T) + self.b[l]
            if l > 0:
                f = f + _mm(r[l - 1], self._back(l - 1))
            out.append(f)
        return out

    def dE_ds(self, s, x, r=None):
        """dE/ds (the negative force), shape like s; ``r`` = :meth:`rates` at s if known."""
        g = np.empty_like(s, dtype=np.result_type(s, float))
        for l, (sl, a, f) in enumerate(zip(self.slices, self.layers(s), self.field(s, x, r))):
            g[..., sl] = self.u.df(a) - self.force_factor(l, a) * f
        return g

    def energy_and_grad(self, s, x):
        """``(E, dE/ds)`` at real s: the energy per example, shape (B,), sharing rho and products.

        With ``F_l`` the field of layer l (biases included), ``sum_l rho_l . F_l``
        counts each coupling between free layers twice and the input coupling
        and the biases once, so ``E = sum u - (sum_l rho_l . (F_l + b_l) +
        rho_{L-1} . W_{L-1} rho(x)) / 2``. Meaningful for a gradient field only.
        """
        r = self.rates(s, x)
        fields = self.field(s, x, r)
        g = np.empty_like(s)
        E = np.zeros(s.shape[:-1])
        for l, (sl, a, f) in enumerate(zip(self.slices, self.layers(s), fields)):
            g[..., sl] = self.u.df(a) - self.force_factor(l, a) * f
            E += np.sum(self.u.f(a), axis=-1) - 0.5 * np.sum(r[l] * (f + self.b[l]), axis=-1)
        E -= 0.5 * np.sum(r[self.L - 1] * (self._input_drive(x, r[-1]) - self.b[-1]), axis=-1)
        return E, g

    def hv(self, s, x, v, *, transpose=False):
        """H v (or H^T v) with H = d(grad)/ds at s; never forms H."""
        return self.linearize(s, x).hv(v, transpose=transpose)

    def linearize(self, s, x):
        """The network's derivatives at s, precomputed for many products H v, M v."""
        return _Linearization(self, s, x)

    def dE_dtheta(self, s, x, part=None, r=None):
        """dE/dtheta summed over the batch: ([dE/dW_l], [dE/db_l]).

        ``part='imag'``: only the imaginary parts (complex-step readout), at
        half the cost of the full complex products.
        """
        r = self.rates(s, x) if r is None else r
        pick = (lambda a: a.imag) if part == "imag" else (lambda a: a)
        return ([-_outer(r[l], r[l + 1], part) for l in range(self.L)],
                [-pick(r[l].sum(axis=0)) for l in range(self.L)])

    def mv(self, s, x, v):
        """M v = d/dtheta (v . dE/ds), summed over the batch: ([per W_l], [per b_l])."""
        return self.linearize(s, x).mv(v)

    # -- the cost -------------------------------------------------------------
    def cost_value(self, s, y):
        o = s[..., self.slices[0]]
        if self.cost == "squared":
            return 0.5 * np.sum((o - y) ** 2)
        m = np.max(o.real, axis=-1, keepdims=True)
        lse = m + np.log(np.sum(np.exp(o - m), axis=-1, keepdims=True))
        return -np.sum(y * (o - lse))

    def dC_ds(self, s, y):
        g = np.zeros_like(s, dtype=np.result_type(s, float))
        g[..., self.slices[0]] = self.dC_do(s[..., self.slices[0]], y)
        return g

    def dC_do(self, o, y):
        """dC/ds on the output layer alone (the only non-zero block), at outputs o."""
        if self.cost == "squared":
            return o - y
        m = np.max(o.real, axis=-1, keepdims=True)
        p = np.exp(o - m)
        return p / p.sum(axis=-1, keepdims=True) * y.sum(axis=-1, keepdims=True) - y

    def dC_ds_v(self, s, y, v):
        """d2C/ds2 v (for Newton on a nudged fixed point with real beta)."""
        out = np.zeros(np.broadcast_shapes(s.shape, v.shape), dtype=np.result_type(s, v, float))
        o, vo = s[..., self.slices[0]], v[..., self.slices[0]]
        if self.cost == "squared":
            out[..., self.slices[0]] = vo
        else:
            m = np.max(o.real, axis=-1, keepdims=True)
            p = np.exp(o - m)
            p = p / p.sum(axis=-1, keepdims=True)
            out[..., self.slices[0]] = (p * vo - p * np.sum(p * vo, axis=-1, keepdims=True)) \
                * y.sum(axis=-1, keepdims=True)
        return out

    # -- fixed points ---------------------------------------------------------
    def newton(self, s, x, y=None, *, beta=0.0, tol=1e-12, maxiter=30, cg_tol=1e-14):
        """Newton-CG on dE^beta/ds = 0 from s; returns (s, max |residual|, iterations)."""
        def residual(z):
            r = self.dE_ds(z, x)
            return r + beta * self.dC_ds(z, y) if beta != 0 else r

        for k in range(1, maxiter + 1):
            r = residual(s)
            res = float(np.max(np.abs(r)))
            if res <= tol:
                return s, res, k - 1

            lin = self.linearize(s, x)

            def op(v, z=s, lin=lin):
                out = lin.hv(v)
                return out + beta * self.dC_ds_v(z, y, v) if beta != 0 else out
            s = s - cg_solve(op, r, tol=cg_tol)
        r = residual(s)
        return s, float(np.max(np.abs(r))), maxiter

    def relax(self, s, x, *, eps, steps):
        """Euler steps of the free dynamics: s <- s - eps dE/ds."""
        for _ in range(steps):
            s = s - eps * self.dE_ds(s, x)
        return s


class _Linearization:
    """rho, rho', rho'' and the diagonal of H at one state, shared by many products."""

    def __init__(self, net, s, x):
        self.net = net
        S = net.layers(s)
        self.r = net.rates(s, x)
        self.dr = [net.rho.df(a) for a in S]
        fields = net.field(s, x, self.r)
        # fr: the factor of each layer's field in dE/ds (rho', or 1 for a plain layer)
        self.fr, self.diag = self.dr, [net.u.ddf(a) - net.rho.ddf(a) * f for a, f in zip(S, fields)]
        if net.plain_layers:
            self.fr = [np.ones_like(d) if l in net.plain_layers else d for l, d in enumerate(self.dr)]
            self.diag = [net.u.ddf(a) if l in net.plain_layers else d
                         for l, (a, d) in enumerate(zip(S, self.diag))]
        self.shape, self.dtype = s.shape, s.dtype

    def hv(self, v, *, transpose=False, ws=None):
        """H v (H^T v): the diagonal, then the couplings to the free layers above and below.

        With a :class:`Workspace` ``ws``: :func:`~eqprop.numeric.layered_fast.buffered_hv`
        (for real v the result is its buffer).
        """
        if ws is not None:
            return buffered_hv(self, v, transpose=transpose, ws=ws)
        net = self.net
        V = net.layers(v)
        # H_{l,m} = -fr_l W rho'_m: H v scales v by rho', H^T v by the field factor fr
        inner, outer = (self.fr, self.dr) if transpose else (self.dr, self.fr)
        w = [d * b for d, b in zip(inner, V)]
        out = np.empty(np.broadcast_shapes(self.shape, v.shape),
                       dtype=np.result_type(self.dtype, v, float))
        for l, sl in enumerate(net.slices):
            # H_{l,l+1} = -rho'(s_l) W_l rho'(s_{l+1}), H_{l,l-1} = -rho'(s_l) W_back_{l-1}^T rho'(s_{l-1});
            # H^T swaps W_l and W_back_l (the same when symmetric)
            above = _mm(w[l + 1], (net._back(l) if transpose else net.W[l]).T) if l + 1 < net.L else None
            below = _mm(w[l - 1], net.W[l - 1] if transpose else net._back(l - 1)) if l > 0 else None
            if above is None and below is None:  # one free layer: no neighbours
                out[..., sl] = self.diag[l] * V[l]
                continue
            coupling = below if above is None else (above if below is None else above + below)
            out[..., sl] = self.diag[l] * V[l] - outer[l] * coupling
        return out

    def mv(self, v, ws=None, factored=False):
        """M v = d/dtheta (v . dE/ds) per W_l and b_l, summed over the batch.

        With a :class:`Workspace` ``ws`` or ``factored`` (the input layer's
        part as a :class:`Factored`): :func:`~eqprop.numeric.layered_fast.buffered_mv`.
        """
        if ws is not None or factored:
            return buffered_mv(self, v, ws, factored)
        net, r = self.net, self.r
        # the minus sign of dE/dtheta goes on the batch-sized operands, not the results
        w = [-d * b for d, b in zip(self.fr, net.layers(v))]
        # dE/dW_l = -rho(s_l)^T rho(s_{l+1}): v reaches it through both layers when symmetric
        dW = [_outer(w[l], r[l + 1]) + _outer(r[l], w[l + 1]) if l + 1 < net.L and net.symmetric
              else _outer(w[l], r[l + 1]) for l in range(net.L)]
        return dW, [a.sum(axis=0) for a in w]


def cg_solve(op, b, *, tol=1e-14, maxiter=None):
    """Solve op(z) = b by conjugate gradients, independently for each row (example).

    ``op`` must be symmetric positive definite per row (a Hessian at a
    minimum). Works for complex right-hand sides (bilinear, not Hermitian,
    products: the operator is real symmetric). Stops when every row's
    residual norm is below ``tol`` times its right-hand side norm.
    """
    b = np.asarray(b)
    z = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rr = np.sum(r * r, axis=-1, keepdims=True)
    bnorm = np.sqrt(np.abs(np.sum(b * np.conj(b), axis=-1, keepdims=True))) + 1e-300
    for _ in range(maxiter or 4 * b.shape[-1]):
        if np.all(np.sqrt(np.abs(np.sum(r * np.conj(r), axis=-1, keepdims=True))) <= tol * bnorm):
            break
        Ap = op(p)
        pAp = np.sum(p * Ap, axis=-1, keepdims=True)
        alpha = np.where(pAp != 0, rr / np.where(pAp != 0, pAp, 1), 0)
        z = z + alpha * p
        r = r - alpha * Ap
        rr_new = np.sum(r * r, axis=-1, keepdims=True)
        p = r + np.where(rr != 0, rr_new / np.where(rr != 0, rr, 1), 0) * p
        rr = rr_new
    return z
