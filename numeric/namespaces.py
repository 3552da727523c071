"""The array namespaces that generated code runs over: numpy, and PyTorch when it is installed.

Code generated from an array model (:mod:`eqprop.symbolic.arrays.program`)
writes ``+ - * / **``, indexing and ``.sum(0)`` as operators, and every
other operation as ``xp.name(...)``: ``xp.mm`` (the matrix product),
``xp.swap`` (swap the last two axes), ``xp.sum(a, axes, keepdims)``,
``xp.logsumexp``, ``xp.softmax``, ``xp.roll``, ``xp.reshape``,
``xp.broadcast_to``, ``xp.cat``, ``xp.blocks`` (assemble a flat state), and
the elementwise functions under numpy's names (``xp.exp``, ``xp.arctanh``,
``xp.erf``, ...). A namespace here provides exactly those, so one source runs
on numpy arrays and on torch tensors (CPU or CUDA) alike.

``xp.mm`` of a complex operand and a real matrix is one real product of the
stacked real and imaginary parts (never a complex copy of the weights): the
complex-step paths that fall back to complex arithmetic stay as fast as the
real ones per operation.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf as _erf

from eqprop.errors import EqpropError

__all__ = ["Factored", "NUMPY", "numpy_namespace", "torch_namespace", "namespace", "BACKENDS"]

#: the array backends a realistic-size check can run on
BACKENDS = ("numpy", "torch")


class Factored:
    """The matrix ``A^T X`` (summed over the batch) kept as its factors.

    A parameter's derivative that is a sum over the batch of outer products
    with a factor fixed by the data (the input layer's weights: ``sum_b a_b
    rho(x_b)^T``) is compared through the batch's Gram matrix ``X X^T``, so
    the weight-sized products are never formed.
    """

    __slots__ = ("A", "X", "_dense")

    def __init__(self, A, X):
        self.A, self.X, self._dense = A, X, None

    @property
    def shape(self):
        return (self.A.shape[1], self.X.shape[1])

    def dense(self):
        if self._dense is None:
            self._dense = NUMPY.mm(NUMPY.swap(self.A), self.X)
        return self._dense

    @staticmethod
    def gram(X):
        return NUMPY.mm(X, X.T)

    @staticmethod
    def sumsq(D, G):
        """|D^T X|_F^2 = sum(D * (G D)) with G = X X^T: one B x B x m product."""
        GD = NUMPY.mm(G, D)
        return max(float(np.vdot(D.ravel(), GD.ravel()).real), 0.0)  # >= 0 but for rounding


class _Numpy:
    """numpy, with the few operations generated code names (see the module docstring)."""

    name = "numpy"
    Factored = Factored
    erf = staticmethod(_erf)

    def __getattr__(self, name):  # exp, log, tanh, arcsin, ... as numpy has them
        return getattr(np, name)

    @staticmethod
    def put(a):
        """Arrays cross the network's boundary as they are."""
        return a

    @staticmethod
    def get(a):
        return a

    @staticmethod
    def mm(a, b):
        if np.iscomplexobj(a) and not np.iscomplexobj(b) and a.ndim == 2 and b.ndim <= 2:
            m = a.shape[0]
            both = np.concatenate([a.real, a.imag], axis=0) @ b
            return both[:m] + 1j * both[m:]
        if np.iscomplexobj(b) and not np.iscomplexobj(a) and b.ndim == 2 and a.ndim == 2:
            both = a @ np.concatenate([b.real, b.imag], axis=1)
            k = b.shape[1]
            return both[:, :k] + 1j * both[:, k:]
        return np.matmul(a, b)

    @staticmethod
    def swap(a):
        return a.T if a.ndim == 2 else np.swapaxes(a, -1, -2)

    @staticmethod
    def sum(a, axes, keepdims):
        return np.sum(a, axis=axes, keepdims=keepdims)

    @staticmethod
    def _shift(a, axes):
        m = np.max(a.real, axis=axes, keepdims=True)
        return np.where(np.isfinite(m), m, 0.0)

    def logsumexp(self, a, axes):
        m = self._shift(a, axes)
        return np.squeeze(np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True)) + m, axis=axes)

    def softmax(self, a, axes):
        e = np.exp(a - self._shift(a, axes))
        return e / np.sum(e, axis=axes, keepdims=True)

    @staticmethod
    def cat(parts):
        return np.concatenate(parts, axis=0)

    @staticmethod
    def blocks(B, parts, spec):
        """The flat ``(B, n)`` state array of per-block parts (``spec``: (batched, size) each)."""
        dtype = np.result_type(*[np.asarray(p).dtype for p in parts], np.float64)
        n = sum(size for _, size in spec)
        out = np.empty((B, n), dtype=dtype)
        k = 0
        for p, (batched, size) in zip(parts, spec):
            p = np.asarray(p)
            out[:, k:k + size] = p.reshape(B, size) if batched else p.reshape(-1)
            k += size
        return out


NUMPY = _Numpy()


def numpy_namespace():
    return NUMPY


class _Torch:
    """PyTorch (CPU, or CUDA with ``device="cuda"``) under the names generated code uses."""

    name = "torch"
    _RENAMED = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
                "arccosh": "acosh", "arctanh": "atanh", "power": "pow"}

    def __init__(self, device="cpu"):
        import torch
        self.torch, self.device = torch, torch.device(device)
        self.Factored = Factored

    def __getattr__(self, name):
        if name == "pi":
            return math.pi
        return getattr(self.torch, self._RENAMED.get(name, name))

    def erf(self, a):
        return self.torch.special.erf(a)

    def mm(self, a, b):
        if a.is_complex() != b.is_complex():
            a, b = (a, b.to(a.dtype)) if a.is_complex() else (a.to(b.dtype), b)
        return self.torch.matmul(a, b)

    @staticmethod
    def swap(a):
        return a.transpose(-1, -2)

    def sum(self, a, axes, keepdims):
        return self.torch.sum(a, dim=axes, keepdim=keepdims)

    def logsumexp(self, a, axes):
        return self.torch.logsumexp(a, dim=axes)

    def softmax(self, a, axes):
        m = self.torch.amax(a.real if a.is_complex() else a, dim=axes, keepdim=True)
        e = self.torch.exp(a - m)
        return e / self.torch.sum(e, dim=axes, keepdim=True)

    def roll(self, a, shift, axis):
        return self.torch.roll(a, shift, axis)

    def reshape(self, a, shape):
        return self.torch.reshape(a, shape)

    def broadcast_to(self, a, shape):
        return self.torch.broadcast_to(self.asarray(a), shape)

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.torch.float64, device=self.device)

    def full_like(self, a, value):
        return self.torch.full_like(a, value)

    def asarray(self, a):
        if isinstance(a, self.torch.Tensor):
            return a
        return self.torch.as_tensor(np.asarray(a), device=self.device)

    def cat(self, parts):
        return self.torch.cat(parts, dim=0)

    def blocks(self, B, parts, spec):
        parts = [self.asarray(p) for p in parts]
        return self.torch.cat([p.reshape(B, size) if batched else
                               p.reshape(1, size).expand(B, size)
                               for p, (batched, size) in zip(parts, spec)], dim=1)

    # -- conversions at the network's boundary
    def put(self, a):
        """A numpy array as a tensor on the device (no copy on the CPU)."""
        return self.torch.as_tensor(np.ascontiguousarray(a), device=self.device)

    def get(self, t):
        """A tensor as a numpy array (no copy on the CPU)."""
        if isinstance(t, Factored):
            return Factored(self.get(t.A), self.get(t.X))
        if not isinstance(t, self.torch.Tensor):
            return np.asarray(t)
        return t.detach().cpu().numpy()


def torch_namespace(device="cpu"):
    return _Torch(device)


def namespace(backend="numpy", device=None):
    """The namespace of a backend name (``"numpy"`` or ``"torch"``); an ImportError names the
    extra to install when PyTorch is missing."""
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise EqpropError(f"device: {str(device)[:40]!r} needs the torch backend "
                              "(--backend torch); numpy computes on the CPU")
        return NUMPY
    if backend == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise ImportError("the torch backend needs PyTorch: pip install 'eqprop[torch]'") from None
        return torch_namespace(device or "cpu")
    raise ValueError(f"unknown backend {backend!r}")
