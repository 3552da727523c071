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

An asymmetric variant (``W_back``) makes layer l+1 hear layer l through
``W_back[l]`` instead of ``W[l]^T``: the dynamics is then a vector field, not
the gradient of an energy, and Theorem 3 fails -- the negative control.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from eqprop.errors import EqpropError

__all__ = ["Unary", "LayeredNetwork", "cg_solve", "Workspace", "Factored"]


def _mm(a, w, out=None):
    """a @ w with w real: complex a as one real product of [Re a; Im a] (no complex copy of w).

    ``out``: a buffer for the real product (real a only).
    """
    if np.iscomplexobj(a):
        m = a.shape[0]
        both = np.concatenate([a.real, a.imag], axis=0) @ w
        return both[:m] + 1j * both[m:]
    return np.matmul(a, w, out=out)


def _outer(a, b, part=None, out=None):
    """a^T b summed over the batch; ``part='imag'`` returns only Im(a^T b) (two real products).

    ``out``: a buffer for the real product (real a and b only).
    """
    if out is not None and part is None and not (np.iscomplexobj(a) or np.iscomplexobj(b)):
        return np.matmul(a.T, b, out=out)
    if part == "imag":
        if not np.iscomplexobj(b):  # the clamped input: Im(a^T b) = Im(a)^T b
            return np.imag(a).T @ b
        if not np.iscomplexobj(a):
            return a.T @ b.imag
        # Re(a)^T Im(b) + Im(a)^T Re(b) as one product over the stacked batch
        return np.concatenate([a.real, a.imag], axis=0).T @ np.concatenate([b.imag, b.real], axis=0)
    if np.iscomplexobj(a) or np.iscomplexobj(b):
        ar, ai, br, bi = a.real, np.imag(a), b.real, np.imag(b)
        return (ar.T @ br - ai.T @ bi) + 1j * (ar.T @ bi + ai.T @ br)
    return a.T @ b


class Factored:
    """The matrix ``A^T X`` (summed over the batch) kept as its factors.

    The input layer's weight derivatives are of this form, with ``X =
    rho(x)`` the clamped input's rates: comparing two of them needs only the
    batch-by-batch Gram matrix ``X X^T``, not the weight-sized products.
    """

    __slots__ = ("A", "X", "_dense")

    def __init__(self, A, X):
        self.A, self.X, self._dense = A, X, None

    @property
    def shape(self):
        return (self.A.shape[1], self.X.shape[1])

    def dense(self):
        if self._dense is None:
            self._dense = _outer(self.A, self.X)
        return self._dense

    @staticmethod
    def gram(X):
        return _mm(X, X.T)

    @staticmethod
    def sumsq(D, G):
        """|D^T X|_F^2 = sum(D * (G D)) with G = X X^T: one B x B x m product."""
        GD = _mm(G, D)
        return max(float(np.vdot(D.ravel(), GD.ravel()).real), 0.0)  # >= 0 but for rounding


class Workspace(dict):
    """Buffers reused from step to step of a long run, by name.

    Fresh arrays of a megabyte or more cost page faults on every step; a
    run that reuses its buffers spends that time on arithmetic instead.
    Without a workspace (``None``) every call allocates.
    """

    def buffer(self, key, shape):
        buf = self.get(key)
        if buf is None or buf.shape != shape:
            buf = self[key] = np.empty(shape)
        return buf


def _buffer(ws, key, shape):
    return np.empty(shape) if ws is None else ws.buffer(key, shape)


#: below this |Im z| (for |Re z| of order one or more), b**2 terms vanish in float64 and a
#: complex argument is evaluated as a dual number: f(a + i b) = f(a) + i b f'(a)
DUAL_THRESHOLD = 1e-10


def _dual(f, df):
    """f on complex input with a tiny imaginary part, via two real evaluations.

    For ``z = a + i b`` the complex-step expansion is ``f(a) + i b f'(a) -
    b^2 f''(a)/2 + ...``; when ``|b| <= 1e-10`` everywhere the dropped terms are
    below float64 rounding, so this equals the complex evaluation to rounding
    at a fraction of the cost (real instead of complex transcendental
    functions). Larger imaginary parts take the complex path.
    """
    def g(z):
        if np.iscomplexobj(z):
            a, b = z.real, z.imag
            if b.size and max(b.max(), -b.min()) <= DUAL_THRESHOLD:
                return f(a) + 1j * (b * df(a))
        return f(z)
    return g


@dataclass(frozen=True)
class Unary:
    """A scalar function with its first two derivatives, elementwise on arrays.

    Give ``dddf`` (the third derivative) to evaluate complex-step arguments as
    dual numbers (see :func:`_dual`); the fields ``f``, ``df``, ``ddf`` are
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
class LayeredNetwork:
    """A layered network; see the module docstring.

    ``sizes = (n_out, n_h1, ..., n_in)``; ``W[l]`` has shape
    ``(sizes[l], sizes[l + 1])``; ``b[l]`` shape ``(sizes[l],)`` for the free
    layers. ``cost`` is ``"squared"`` (1/2 |s_0 - y|^2) or ``"cross_entropy"``
    (on a softmax readout of s_0). Quantities over the batch are sums.
    """

    sizes: tuple
    W: list
    b: list
    rho: Unary
    u: Unary
    cost: str = "squared"
    W_back: list | None = None
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
        return self.W_back is None

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
        for sl, a, f in zip(self.slices, self.layers(s), self.field(s, x, r)):
            g[..., sl] = self.u.df(a) - self.rho.df(a) * f
        return g

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

    # -- complex-step nudging in split form --------------------------------
    # A complex state s = a + i b with |b| <= DUAL_THRESHOLD (complex-step
    # nudging) held as one real array S = [a; b] of shape (2B, n). Every
    # operation below is the complex operation written out on real and
    # imaginary parts (rho through its dual form, see _dual): the same numbers
    # as the complex128 path to rounding, without complex temporaries, and
    # each matrix product is one real GEMM over the stacked 2B rows.

    def split_ready(self, S):
        """Whether the split form applies: dual-number unaries and |Im s| small enough."""
        B = S.shape[0] // 2
        return (self.rho.dddf is not None and self.u.dddf is not None
                and float(np.max(np.abs(S[B:]), initial=0.0)) <= DUAL_THRESHOLD)

    def split_rates(self, S, x, ws=None):
        """rho of each free layer of S, as (3B, n_l) arrays [Im; Re; Im]; rho(x) last.

        Both [Re; Im] = ``R[:, B:]`` and the swapped [Im; Re] = ``R[:2B]`` are
        views, which the parameter derivative needs. Returns ``(R, D)`` with
        ``D[l] = (rho'(Re s_l), rho''(Re s_l))`` for :meth:`split_grad` at the
        same state. ``ws``: a :class:`Workspace` whose buffers R reuses (the
        previous step's R is overwritten).
        """
        B = S.shape[0] // 2
        out, D = [], []
        for l, sl in enumerate(self.slices):
            a, b = S[:B, sl], S[B:, sl]
            f, df, ddf = self.rho.values(a)
            R = _buffer(ws, ("R", l), (3 * B, a.shape[1]))
            R[B:2 * B] = f
            np.multiply(b, df, out=R[2 * B:])
            R[:B] = R[2 * B:]
            out.append(R)
            D.append((df, ddf))
        return out + [self.input_rates(x)], D

    def split_grad(self, S, x, R, D, ws=None):
        """dE/ds at the complex state S (split form), from :meth:`split_rates` at S."""
        B = S.shape[0] // 2
        G = _buffer(ws, "G", S.shape)
        for l, sl in enumerate(self.slices):
            n = sl.stop - sl.start
            f = None
            if l + 1 < self.L:
                f = _mm(R[l + 1][B:], self.W[l].T, out=_buffer(ws, ("F", l), (2 * B, n)))
                f[:B] += self.b[l]
            if l > 0:
                low = _mm(R[l - 1][B:], self._back(l - 1), out=_buffer(ws, ("low", l), (2 * B, n)))
                if f is None:
                    f = low
                else:
                    f += low
            if l + 1 == self.L:
                drive = self._input_drive(x, R[-1])
                if f is None:
                    f = _buffer(ws, ("F", l), (2 * B, n))
                    f[B:] = 0
                    f[:B] = drive
                else:
                    f[:B] += drive
            a, b = S[:B, sl], S[B:, sl]
            fr, fi = f[:B], f[B:]
            dr = D[l][0]
            di = np.multiply(b, D[l][1], out=_buffer(ws, ("di", l), (B, n)))
            _, du, ddu = self.u.values(a)
            t1, t2 = _buffer(ws, ("t1", l), (B, n)), _buffer(ws, ("t2", l), (B, n))
            # u'(s) - rho'(s) f, each factor complex: real part u' - (dr fr - di fi) ...
            np.multiply(dr, fr, out=t1)
            t1 -= np.multiply(di, fi, out=t2)
            np.subtract(du, t1, out=G[:B, sl])
            # ... imaginary part b u'' - (dr fi + di fr)
            np.multiply(dr, fi, out=t1)
            t1 += np.multiply(di, fr, out=t2)
            np.multiply(b, ddu, out=t2)
            np.subtract(t2, t1, out=G[B:, sl])
        return G

    def split_dE_dtheta_imag(self, R, scale=1.0, ws=None, factored=False):
        """``scale`` times Im dE/dtheta at the complex state whose rates are R (see split_rates).

        The scale (-1/h for a complex-step readout, say) multiplies the
        smaller operand of each product, not the weight-sized result. With a
        workspace ``ws`` the results are buffers, overwritten at the next call.
        ``factored``: the input layer's derivative as a :class:`Factored`.
        """
        B = R[0].shape[0] // 3
        scale = -scale  # dE/dW_l = -rho(s_l)^T rho(s_{l+1})
        dW, db = [], []
        for l in range(self.L):
            n = R[l].shape[1]
            out = None if factored and l + 1 == self.L else _buffer(ws, ("dW", l), self.W[l].shape)
            if l + 1 < self.L:  # Im(r_l^T r_{l+1}) = [Im; Re]_l^T [Re; Im]_{l+1}
                op = np.multiply(R[l][:2 * B], scale, out=_buffer(ws, ("op", l), (2 * B, n)))
                dW.append(_outer(op, R[l + 1][B:], out=out))
            else:  # the clamped input is real
                op = np.multiply(R[l][2 * B:], scale, out=_buffer(ws, ("op", l), (B, n)))
                dW.append(Factored(op, R[-1]) if factored else _outer(op, R[-1], out=out))
            db.append(op[:B].sum(axis=0))  # scale * Im rho(s_l), summed over the batch
        return dW, db

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
        self.diag = [net.u.ddf(a) - net.rho.ddf(a) * f for a, f in zip(S, fields)]
        self.shape, self.dtype = s.shape, s.dtype

    def _real(self, v, ws):
        """Whether the buffered real-arithmetic path applies to v."""
        return (ws is not None and v.shape == self.shape and v.dtype == np.float64
                and self.dtype == np.float64 and all(r.dtype == np.float64 for r in self.r))

    def hv(self, v, *, transpose=False, ws=None):
        """H v (H^T v); with a :class:`Workspace` (real v) the result is its buffer."""
        net = self.net
        V = net.layers(v)
        if not self._real(v, ws):
            ws = None  # buffers only for real input of the linearization's own shape

        def buf(key, shape):
            return None if ws is None else ws.buffer(key, shape)
        w = [np.multiply(d, b, out=buf(("hv_w", l), b.shape))  # rho'(s_l) v_l
             for l, (d, b) in enumerate(zip(self.dr, V))]
        out = buf("hv", self.shape)
        if out is None:
            out = np.empty(np.broadcast_shapes(self.shape, v.shape),
                           dtype=np.result_type(self.dtype, v, float))
        for l, sl in enumerate(net.slices):
            shape = V[l].shape
            acc = None
            if l + 1 < net.L:
                acc = _mm(w[l + 1], (net._back(l) if transpose else net.W[l]).T,
                          out=buf(("hv_acc", l), shape))
            if l > 0:
                low = _mm(w[l - 1], net.W[l - 1] if transpose else net._back(l - 1),
                          out=buf(("hv_low", l), shape))
                acc = low if acc is None else (acc + low if ws is None else np.add(acc, low, out=acc))
            diag_v = np.multiply(self.diag[l], V[l], out=buf(("hv_t", l), shape))
            if acc is None:  # one free layer: no neighbours among the free layers
                out[..., sl] = diag_v
            else:
                np.subtract(diag_v, np.multiply(self.dr[l], acc, out=None if ws is None else acc),
                            out=out[..., sl])
        return out

    def mv(self, v, ws=None, factored=False):
        """M v = d/dtheta (v . dE/ds) per W_l and b_l, summed over the batch.

        With a :class:`Workspace` (real v) the results are its buffers, and the
        two products of a middle layer's weights are one GEMM over the
        stacked batch. ``factored``: the input layer's part as a
        :class:`Factored`.
        """
        net, r = self.net, self.r
        # the minus sign of dE/dtheta goes on the batch-sized operands, not the results
        w = [-d * b for d, b in zip(self.dr, net.layers(v))]
        real = self._real(v, ws)
        dW, db = [], []
        for l in range(net.L):
            shape = net.W[l].shape
            if l + 1 < net.L and net.symmetric:
                if real:  # [w_l; r_l]^T [r_{l+1}; w_{l+1}] in one product
                    B = w[l].shape[0]
                    a = ws.buffer(("mv_a", l), (2 * B, shape[0]))
                    b = ws.buffer(("mv_b", l), (2 * B, shape[1]))
                    a[:B], a[B:], b[:B], b[B:] = w[l], r[l], r[l + 1], w[l + 1]
                    g = _outer(a, b, out=ws.buffer(("mv", l), shape))
                else:
                    g = _outer(w[l], r[l + 1]) + _outer(r[l], w[l + 1])
            elif factored and l + 1 == net.L:
                g = Factored(w[l], r[l + 1])
            else:
                g = _outer(w[l], r[l + 1], out=ws.buffer(("mv", l), shape) if real else None)
            dW.append(g)
            db.append(w[l].sum(axis=0))
        return dW, db


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
