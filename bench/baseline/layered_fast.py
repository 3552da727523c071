"""The fast path of :mod:`eqprop.numeric.layered`: the same numbers, less time.

:mod:`~eqprop.numeric.layered` states the mathematics of the layered
network; this module holds what makes a long complex-step run at realistic
size fast, without changing a number beyond rounding:

- ``_mm`` and ``_outer``: the matrix products, a complex operand as one real
  product of its stacked real and imaginary parts (never a complex copy of
  the weights), written into a buffer when one is given;
- dual-number evaluation (``_dual``): a complex argument with a tiny
  imaginary part through two real evaluations;
- :class:`Workspace`: buffers reused from step to step;
- :class:`Factored`: the input layer's weight derivative kept as its factors;
- :class:`SplitForm`: the split-complex methods of
  :class:`~eqprop.numeric.layered.LayeredNetwork` (the complex state held as
  one real array of real and imaginary parts);
- :func:`buffered_hv`, :func:`buffered_mv`: H v and M v into a workspace's
  buffers.

Nothing here imports :mod:`~eqprop.numeric.layered`: the network and its
linearization are passed in.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DUAL_THRESHOLD", "Factored", "Workspace", "SplitForm", "buffered_hv", "buffered_mv"]


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


class SplitForm:
    """Complex-step nudging in split form: methods of :class:`~eqprop.numeric.layered.LayeredNetwork`.

    A complex state s = a + i b with |b| <= DUAL_THRESHOLD (complex-step
    nudging) held as one real array S = [a; b] of shape (2B, n). Every
    operation below is the complex operation written out on real and
    imaginary parts (rho through its dual form, see _dual): the same numbers
    as the complex128 path to rounding, without complex temporaries, and
    each matrix product is one real GEMM over the stacked 2B rows.
    """

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
            _, du, ddu = self.u.values(a)
            if l in self.plain_layers:  # u'(s) - f: no rho' factor (a non-gradient control)
                np.subtract(du, fr, out=G[:B, sl])
                np.subtract(np.multiply(b, ddu, out=G[B:, sl]), fi, out=G[B:, sl])
                continue
            dr = D[l][0]
            di = np.multiply(b, D[l][1], out=_buffer(ws, ("di", l), (B, n)))
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


# -- H v and M v into a workspace's buffers ---------------------------------------
# ``lin`` is the network's linearization at one state (``LayeredNetwork.linearize``):
# lin.net, the rates lin.r, rho' as lin.dr, the diagonal of H as lin.diag.

def _real(lin, v, ws):
    """Whether the buffered real-arithmetic path applies to v."""
    return (ws is not None and v.shape == lin.shape and v.dtype == np.float64
            and lin.dtype == np.float64 and all(r.dtype == np.float64 for r in lin.r))


def buffered_hv(lin, v, *, transpose=False, ws=None):
    """H v (H^T v); with a :class:`Workspace` (real v) the result is its buffer."""
    net = lin.net
    V = net.layers(v)
    if not _real(lin, v, ws):
        ws = None  # buffers only for real input of the linearization's own shape

    def buf(key, shape):
        return None if ws is None else ws.buffer(key, shape)
    # H v scales v by rho' and the result by the field factor fr (rho', or 1 for a plain
    # layer); H^T v the other way round
    inner, outer = (lin.fr, lin.dr) if transpose else (lin.dr, lin.fr)
    w = [np.multiply(d, b, out=buf(("hv_w", l), b.shape))
         for l, (d, b) in enumerate(zip(inner, V))]
    out = buf("hv", lin.shape)
    if out is None:
        out = np.empty(np.broadcast_shapes(lin.shape, v.shape),
                       dtype=np.result_type(lin.dtype, v, float))
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
        diag_v = np.multiply(lin.diag[l], V[l], out=buf(("hv_t", l), shape))
        if acc is None:  # one free layer: no neighbours among the free layers
            out[..., sl] = diag_v
        else:
            np.subtract(diag_v, np.multiply(outer[l], acc, out=None if ws is None else acc),
                        out=out[..., sl])
    return out


def buffered_mv(lin, v, ws=None, factored=False):
    """M v = d/dtheta (v . dE/ds) per W_l and b_l, summed over the batch.

    With a :class:`Workspace` (real v) the results are its buffers, and the
    two products of a middle layer's weights are one GEMM over the
    stacked batch. ``factored``: the input layer's part as a
    :class:`Factored`.
    """
    net, r = lin.net, lin.r
    # the minus sign of dE/dtheta goes on the batch-sized operands, not the results
    w = [-d * b for d, b in zip(lin.fr, net.layers(v))]
    real = _real(lin, v, ws)
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
