"""A batched network of any array model, evaluated through its generated functions.

:class:`ArrayNetwork` is what the realistic-size check runs on. It holds
the functions generated from the model's array expressions
(:mod:`eqprop.symbolic.arrays.program`, compiled for a namespace of
:mod:`.namespaces`), the parameter and constant arrays, and one batch of
data. The state of the batch is one float64 (or complex128) array of shape
``(B, n)``, the model's state blocks side by side (``slices``). The energy
of a batch is the sum of its examples' energies, so a parameter's
derivative is summed over the batch.

Nothing here knows the model's formulas and nothing forms an ``n x n`` or
``p x p`` matrix: ``H`` enters only through ``H v`` and ``H^T v``, ``M``
through ``M v``, at the cost of a few passes over the expression.

With the torch namespace the arrays live on the namespace's device; every
method takes and returns numpy arrays (no copy on the CPU).
"""

from __future__ import annotations

import numpy as np

from .namespaces import NUMPY, Factored

__all__ = ["ArrayNetwork", "Linearization", "cg_solve"]


class ArrayNetwork:
    """One array model's generated functions, bound to its numbers and a batch of data.

    ``functions``: the compiled module (``setup``, ``grad``, ``hv``, ...);
    ``blocks``: ``(name, shape, slice)`` per state block; ``params``:
    ``(name, shape)`` per parameter; ``fixed`` and ``data``: the arrays
    ``setup`` takes (parameters and constants in the module's order, named
    ``fixed_names``; data with the batch axis in front); ``has_energy``:
    False for a vector field.
    """

    def __init__(self, functions, *, blocks, params, fixed, data, has_energy, xp=NUMPY,
                 name="array model", batch=None, fixed_names=None):
        self.f, self.xp, self.name = functions, xp, name
        self.blocks = list(blocks)
        self.slices = [sl for _, _, sl in self.blocks]
        self.block_names = [b for b, _, _ in self.blocks]
        self.params = list(params)
        self.param_names = [p for p, _ in self.params]
        self.has_energy = bool(has_energy)
        self.fixed = [np.asarray(a, dtype=float) for a in fixed]
        #: the parameter and constant arrays by name (numpy)
        self.arrays = dict(zip(fixed_names or (), self.fixed))
        self.data = [np.asarray(a, dtype=float) for a in data]
        B = batch if batch is not None else (self.data[0].shape[0] if self.data else 1)
        self.batch = int(B)
        self._put = None if xp.name == "numpy" else xp.put
        self._get = None if xp.name == "numpy" else xp.get
        self.K = self.f["setup"](tuple(self._in(a) for a in self.fixed),
                                 tuple(self._in(a) for a in self.data), self.batch)

    # -- the boundary ---------------------------------------------------------------------------
    def _in(self, a):
        return a if self._put is None else self._put(a)

    def _out(self, a):
        if self._get is None:
            return a
        if isinstance(a, (list, tuple)):
            return type(a)(self._out(x) for x in a)
        return self._get(a)

    # -- shapes and facts ---------------------------------------------------------------------------
    @property
    def n_free(self):
        return self.slices[-1].stop if self.slices else 0

    @property
    def gradient_field(self):
        """Whether the dynamics is the gradient of an energy (the model has one)."""
        return self.has_energy

    def layers(self, s):
        return [s[..., sl] for sl in self.slices]

    # -- the energy and its derivatives --------------------------------------------------------------
    def energy_and_grad(self, s):
        """``(E, dE/ds)``: the energy per example, shape (B,), and its gradient (energy models)."""
        E, g = self.f["energy_grad"](self.K, self._in(s))
        return self._out(E), self._out(g)

    def dE_ds(self, s):
        """dE/ds (for a vector field, -F), shape like s."""
        return self._out(self.f["grad"](self.K, self._in(s)))

    def linearize(self, s):
        """The network's derivatives at s, shared by many products H v, H^T v, M v."""
        return Linearization(self, s)

    def hv(self, s, v, *, transpose=False):
        return self.linearize(s).hv(v, transpose=transpose)

    def mv(self, s, v):
        return self.linearize(s).mv(v)

    def dE_dtheta(self, s):
        """dE/dtheta summed over the batch, one array per parameter (energy models)."""
        return self._out(self.f["readout"](self.K, self._in(s)))

    def step(self, s):
        """``(dE/ds, dC/ds, dE/dtheta)`` at s in one pass (a real-beta nudged step)."""
        return self._out(self.f["step"](self.K, self._in(s)))

    def dual(self, a, u, factored=False):
        """The complex-step force at ``s = a + i h u`` (h -> 0), in one pass.

        Returns ``(dE/ds(a), H(a) u, dC/ds(a), E_theta'(a)[u])``: the real
        part of the nudged force is ``dE/ds(a)``, its imaginary part over h
        ``H(a) u + dC/ds(a)``, and the readout's imaginary part over h the
        tangent of dE/dtheta; the last is None for a vector field.
        ``factored``: a parameter's readout as a :class:`Factored` where it
        is one.
        """
        out = self.f["dual"](self.K, self._in(a), self._in(u))
        g, t, cs = (self._out(x) for x in out[:3])
        readout = None
        if len(out) > 3:
            readout = self._params_out(out[3], factored)
        return g, t, cs, readout

    def _params_out(self, values, factored):
        values = self._out(values)
        return [v if factored or not isinstance(v, Factored) else v.dense() for v in values]

    # -- the cost -----------------------------------------------------------------------------------
    def cost_value(self, s):
        """C summed over the batch."""
        return np.sum(self._out(self.f["cost"](self.K, self._in(s))))

    def dC_ds(self, s):
        return self._out(self.f["cost_grad"](self.K, self._in(s)))

    def dC_dtheta(self, s):
        return self._out(self.f["cost_theta"](self.K, self._in(s)))

    def dC_ds_v(self, s, v):
        """d2C/ds2 v (for Newton on a nudged fixed point with real beta)."""
        return self.linearize(s).cssv(v)

    # -- fixed points ---------------------------------------------------------------------------------
    def newton(self, s, *, beta=0.0, tol=1e-12, maxiter=30, cg_tol=1e-14):
        """Newton-CG on dE^beta/ds = 0 from s; returns (s, max |residual|, iterations)."""
        def residual(z):
            r = self.dE_ds(z)
            return r + beta * self.dC_ds(z) if beta != 0 else r

        for k in range(1, maxiter + 1):
            r = residual(s)
            res = float(np.max(np.abs(r)))
            if res <= tol:
                return s, res, k - 1
            lin = self.linearize(s)

            def op(v, lin=lin, transpose=False):  # the residual's Jacobian H + beta C_ss
                out = lin.hv(v, transpose=transpose)
                return out + beta * lin.cssv(v) if beta != 0 else out
            if not self.gradient_field:  # not symmetric: CG on the normal equations
                z = cg_solve(lambda v: op(op(v), transpose=True), op(r, transpose=True),
                             tol=cg_tol)
            else:
                z = cg_solve(op, r, tol=cg_tol)
            s = s - z
        r = residual(s)
        return s, float(np.max(np.abs(r))), maxiter

    def relax(self, s, *, eps, steps):
        """Euler steps of the free dynamics: s <- s - eps dE/ds."""
        for _ in range(steps):
            s = s - eps * self.dE_ds(s)
        return s


class Linearization:
    """The values that ``H v``, ``H^T v``, ``M v`` and ``C_ss v`` share at one state."""

    def __init__(self, net, s):
        self.net = net
        self.shape, self.dtype = s.shape, np.asarray(s).dtype
        self.L = net.f["linearize"](net.K, net._in(s))

    def hv(self, v, *, transpose=False, ws=None):
        """H v (H^T v) with H = d(dE/ds)/ds at the state."""
        f = self.net.f["hvT" if transpose else "hv"]
        return self.net._out(f(self.net.K, self.L, self.net._in(v)))

    def mv(self, v, ws=None, factored=False):
        """M v = d/dtheta (v . dE/ds), summed over the batch: one array per parameter.

        ``factored``: a parameter's result as a :class:`Factored` where it is one.
        """
        out = self.net.f["mv"](self.net.K, self.L, self.net._in(v))
        return self.net._params_out(out, factored)

    def cssv(self, v):
        return self.net._out(self.net.f["cssv"](self.net.K, self.L, self.net._in(v)))


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
