"""An array expression written out entry by entry, as SymPy: the bridge to the 50-digit path.

At small shapes an array model is also an ordinary per-neuron model: every
entry of every array is a SymPy symbol (``s_0, s_1, ...``, ``W_0_1`` for
``W[0, 1]``), and the energy is the SymPy expression the array formula
stands for. :func:`expand` builds it for one example (the batch sum is the
identity), so the high-precision path verifies the same energy that the
realistic-size path evaluates, and the agreement tests compare the two.

Sums are built in one step (``sympy.Add(*terms)``) and products of sums in
matrix and dot products are distributed, so the energy of a layered network
is the same sum of ``-W_i_j rho(a_i) rho(b_j)`` terms that
:func:`eqprop.symbolic.builtins.hopfield` builds, and the sparse derivation
sees which states share a term.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy as sp

from . import ir

__all__ = ["scalar_names", "expand"]

_z = sp.Symbol("z", real=True)


def scalar_names(name, shape):
    """The names of an array's entries, row-major: ``W_0_0, W_0_1, ...`` (``name`` for a scalar)."""
    if not shape:
        return [name]
    return [name + "".join(f"_{i}" for i in idx) for idx in itertools.product(*map(range, shape))]


def _array(values, shape):
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out.reshape(shape)


def _terms(e):
    return sp.Add.make_args(e)


#: products of sums are distributed up to this many terms (beyond, kept as a product)
_DISTRIBUTE = 64


def _product(a, b):
    """``a * b``, distributed over the terms of both when that makes few terms."""
    ta, tb = _terms(a), _terms(b)
    if len(ta) * len(tb) > _DISTRIBUTE:
        return a * b
    return sp.Add(*[x * y for x in ta for y in tb])


def _dot(xs, ys):
    return sp.Add(*[x * y for a, b in zip(xs, ys) for x in _terms(a) for y in _terms(b)])


def _elementwise(f, *arrays):
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    arrays = [np.broadcast_to(a, shape) for a in arrays]
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape) if shape else [()]:
        out[idx] = f(*(a[idx] for a in arrays))
    return out


def _reduce(a, axes, f):
    """``f`` of the entries along ``axes`` (a tuple), the other axes kept in order."""
    keep = [k for k in range(a.ndim) if k not in axes]
    moved = np.transpose(a, keep + list(axes))
    lead = moved.shape[:len(keep)]
    flat = moved.reshape(lead + (-1,))
    out = np.empty(lead, dtype=object)
    for idx in np.ndindex(lead) if lead else [()]:
        out[idx] = f(list(flat[idx]))
    return out


#: the scalar terms one expansion may build (each a SymPy expression): a verify-sized model
#: builds thousands; past this, the sizes are a realistic-size run's (eqprop scale)
MAX_EXPANDED_TERMS = 200_000


def expansion_terms(roots):
    """An upper bound on the scalar terms :func:`expand` builds for ``roots``: every
    intermediate's entries, times the length of the sum behind each entry of a product
    or a reduction. Counted on the expression, before anything is built."""
    total = 0
    for n in ir.walk(roots):
        inner = 1
        if n.op == "matmul":
            inner = n.args[0].shape[-1] if n.args[0].shape else 1
        elif n.op in ("sum", "lse", "softmax"):
            inner = math.prod(n.args[0].shape[k] for k in n.attrs[0])
        total += n.size * inner
    return total


def expand(root, symbols):
    """``root`` as a numpy object array of SymPy expressions (a 0-d array for a scalar).

    ``symbols`` maps each variable's name to the object array of its entries'
    SymPy symbols (or numbers: values substituted).
    """
    memo = {}
    for n in ir.walk([root]):
        memo[id(n)] = _one(n, [memo[id(a)] for a in n.args], symbols)
    return memo[id(root)]


def _one(n, args, symbols):
    op = n.op
    if op == "var":
        return np.asarray(symbols[n.attrs[0]], dtype=object).reshape(n.shape)
    if op == "num":
        return _array([n.attrs[0]], ())
    if op == "zeros":
        return _array([sp.Integer(0)] * n.size, n.shape)
    if op == "add":
        return _elementwise(lambda x, y: x + y, *args)
    if op == "neg":
        return _elementwise(lambda x: -x, *args)
    if op == "mul":
        return _elementwise(_product, *args)
    if op == "pow":
        return _elementwise(lambda x, y: x ** y, *args)
    if op == "fn":
        name, order, expr = n.attrs
        f = sp.diff(expr, _z, order) if order else expr
        return _elementwise(lambda x: f.xreplace({_z: x}), *args)
    if op == "matmul":
        a, b = args
        if a.ndim == 1:
            return _array([_dot(a, b)], ())
        if b.ndim == 1:
            return _array([_dot(row, b) for row in a], (a.shape[0],))
        return _array([_dot(row, col) for row in a for col in b.T], n.shape)
    if op == "outer":
        a, b = args
        return _array([_product(x, y) for x in a for y in b], n.shape)
    if op == "transpose":
        return args[0].T
    if op == "sum":
        axes, keepdims = n.attrs
        out = _reduce(args[0], axes, lambda xs: sp.Add(*xs))
        return out.reshape(n.shape)
    if op == "lse":
        return _reduce(args[0], n.attrs[0], lambda xs: sp.log(sp.Add(*[sp.exp(x) for x in xs])))
    if op == "softmax":
        a = args[0]
        (axes,) = n.attrs
        keep = tuple(1 if k in axes else d for k, d in enumerate(a.shape))
        total = _reduce(a, axes, lambda xs: sp.Add(*[sp.exp(x) for x in xs])).reshape(keep)
        return _elementwise(lambda x, t: sp.exp(x) / t, a, total)
    if op == "roll":
        shift, axis = n.attrs
        return np.roll(args[0], shift, axis)
    if op == "reshape":
        return args[0].reshape(n.shape)
    if op == "broadcast":
        return np.broadcast_to(args[0], n.shape).copy()
    if op == "batchsum":  # one example: the batch sum is the identity
        return args[0]
    raise ValueError(f"cannot expand {op}")
