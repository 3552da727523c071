"""Derivative rules of the array operations: one tangent rule and one adjoint rule each.

SymPy differentiates scalars; what it does not do is matrix calculus on
array expressions (its ``matrices.expressions`` returns rank-4 arrays with
identity factors that its NumPy printer cannot print). These rules are that
missing piece, written over the operations of :mod:`.ir`. Each is one small
function with its identity in the docstring; every elementwise function's
derivative comes from SymPy (``fn`` carries f's formula, and its ``k``-th
derivative is ``sympy.diff(f, z, k)`` when code is generated).

- A *tangent* rule (forward mode, :data:`TANGENT`) maps the tangents of a
  node's arguments (``None`` for zero) to the node's tangent: the
  directional derivative ``d/de node(args + e dargs)`` at ``e = 0``.
- An *adjoint* rule (reverse mode, :data:`ADJOINT`) maps the cotangent
  ``g`` of a node (same shape) to its arguments' cotangents, such that
  ``sum(g * dnode) = sum_i sum(g_i * dargs_i)`` for every tangent: the
  transposed Jacobian applied to ``g``. ``need[i]`` says whether argument
  ``i``'s cotangent is wanted.

:mod:`.diff` applies them over a whole expression; ``tests/symbolic/
test_array_rules.py`` checks each against SymPy's derivative of the
expression expanded into scalars.
"""

from __future__ import annotations

import sympy as sp

from . import ir
from .ir import (add, broadcast, fn, matmul, mul, neg, num, outer, power, reshape, roll, softmax,
                 sub, total, transpose)

__all__ = ["TANGENT", "ADJOINT", "unbroadcast", "LOG"]

_z = sp.Symbol("z", real=True)
#: log as an elementwise function (the derivative of a ** b in b)
LOG = ("log", sp.log(_z))


def _log(a):
    return fn(*LOG, a)


def _sum(*terms):
    """The sum of the terms that are not None (None when all are)."""
    out = None
    for t in terms:
        if t is not None:
            out = t if out is None else add(out, t)
    return out


def _fit(t, shape):
    return None if t is None else (t if t.shape == tuple(shape) else broadcast(t, shape))


def unbroadcast(g, a):
    """A cotangent ``g`` of a broadcast result summed back to the shape of operand ``a``.

    Broadcasting repeats ``a`` along new leading axes and along its axes of
    length 1; the adjoint of repeating is summing, over the same axes.
    """
    if g.shape == a.shape:
        return g
    lead = g.ndim - a.ndim
    axes = tuple(range(lead)) + tuple(lead + k for k, d in enumerate(a.shape)
                                      if d == 1 and g.shape[lead + k] != 1)
    return reshape(total(g, axes, keepdims=True), a.shape) if axes else reshape(g, a.shape)


def _keep(node, g):
    """``g`` (a reduction's cotangent) with the reduced axes put back with length 1."""
    axes = node.attrs[0]
    shape = tuple(1 if k in axes else d for k, d in enumerate(node.args[0].shape))
    return reshape(g, shape)


# -- tangent rules (forward mode) ---------------------------------------------------------
def t_add(n, ta, tb):
    """d(a + b) = da + db."""
    return _fit(_sum(ta, tb), n.shape)


def t_neg(n, ta):
    """d(-a) = -da."""
    return neg(ta)


def t_mul(n, ta, tb):
    """d(a * b) = da * b + a * db (elementwise)."""
    a, b = n.args
    return _fit(_sum(None if ta is None else mul(ta, b), None if tb is None else mul(a, tb)), n.shape)


def t_pow(n, ta, tb):
    """d(a ** b) = b a^(b-1) da + a^b log(a) db."""
    a, b = n.args
    da = None if ta is None else mul(mul(b, power(a, sub(b, num(1)))), ta)
    db = None if tb is None else mul(mul(n, _log(a)), tb)
    return _fit(_sum(da, db), n.shape)


def t_fn(n, ta):
    """d f(a) = f'(a) * da."""
    name, order, expr = n.attrs
    return mul(fn(name, expr, n.args[0], order + 1), ta)


def t_matmul(n, ta, tb):
    """d(A B) = dA B + A dB."""
    a, b = n.args
    return _sum(None if ta is None else matmul(ta, b), None if tb is None else matmul(a, tb))


def t_transpose(n, ta):
    """d(A^T) = (dA)^T."""
    return transpose(ta)


def t_sum(n, ta):
    """d sum(a) = sum(da), over the same axes."""
    axes, keepdims = n.attrs
    return total(ta, axes, keepdims)


def t_lse(n, ta):
    """d logsumexp(a) = sum(softmax(a) * da): the softmax weights are lse's gradient."""
    (axes,) = n.attrs
    return total(mul(softmax(n.args[0], axes), ta), axes)


def t_softmax(n, ta):
    """d softmax(a) = p * (da - sum(p * da)) with p = softmax(a), summed over its axes."""
    (axes,) = n.attrs
    return mul(n, sub(ta, total(mul(n, ta), axes, keepdims=True)))


def t_roll(n, ta):
    """d roll(a) = roll(da): rolling is linear."""
    shift, axis = n.attrs
    return roll(ta, shift, axis)


def t_reshape(n, ta):
    """d reshape(a) = reshape(da)."""
    return reshape(ta, n.shape)


def t_broadcast(n, ta):
    """d broadcast(a) = broadcast(da)."""
    return broadcast(ta, n.shape)


def t_outer(n, ta, tb):
    """d(a b^T) = da b^T + a db^T."""
    a, b = n.args
    return _sum(None if ta is None else outer(ta, b), None if tb is None else outer(a, tb))


def t_batchsum(n, ta):
    """The batch sum is linear: d sum_b a_b = sum_b da_b."""
    return ir.batchsum(ta)


TANGENT = {"add": t_add, "neg": t_neg, "mul": t_mul, "pow": t_pow, "fn": t_fn, "matmul": t_matmul,
           "transpose": t_transpose, "sum": t_sum, "lse": t_lse, "softmax": t_softmax,
           "roll": t_roll, "reshape": t_reshape, "broadcast": t_broadcast, "outer": t_outer,
           "batchsum": t_batchsum}


# -- adjoint rules (reverse mode) ---------------------------------------------------------
def a_add(n, g, need):
    """(a + b)^* g = (g, g), each summed over the axes it was broadcast along."""
    a, b = n.args
    return (unbroadcast(g, a) if need[0] else None, unbroadcast(g, b) if need[1] else None)


def a_neg(n, g, need):
    """(-a)^* g = -g."""
    return (neg(g),)


def a_mul(n, g, need):
    """(a * b)^* g = (g * b, g * a), each summed back to its operand's shape."""
    a, b = n.args
    return (unbroadcast(mul(g, b), a) if need[0] else None,
            unbroadcast(mul(g, a), b) if need[1] else None)


def a_pow(n, g, need):
    """(a ** b)^* g = (g * b a^(b-1), g * a^b log a)."""
    a, b = n.args
    return (unbroadcast(mul(g, mul(b, power(a, sub(b, num(1))))), a) if need[0] else None,
            unbroadcast(mul(g, mul(n, _log(a))), b) if need[1] else None)


def a_fn(n, g, need):
    """f(a)^* g = f'(a) * g (the Jacobian of an elementwise function is diagonal)."""
    name, order, expr = n.attrs
    return (mul(fn(name, expr, n.args[0], order + 1), g),)


def a_matmul(n, g, need):
    """(A b)^* g = (g b^T, A^T g) for a matrix A and a vector b; (a . b)^* g = (g b, g a) for
    two vectors; (A B)^* G = (G B^T, A^T G) for two matrices."""
    a, b = n.args
    if a.ndim == 2 and b.ndim == 1:
        return (outer(g, b) if need[0] else None, matmul(transpose(a), g) if need[1] else None)
    if a.ndim == 1:  # a vector times a vector: a scalar g
        return (mul(g, b) if need[0] else None, mul(g, a) if need[1] else None)
    return (matmul(g, transpose(b)) if need[0] else None,
            matmul(transpose(a), g) if need[1] else None)


def a_transpose(n, g, need):
    """(A^T)^* G = G^T."""
    return (transpose(g),)


def a_sum(n, g, need):
    """sum(a)^* g = g repeated along the summed axes."""
    a = n.args[0]
    return (broadcast(g if n.attrs[1] else _keep(n, g), a.shape),)


def a_lse(n, g, need):
    """logsumexp(a)^* g = g * softmax(a), g repeated along the reduced axes."""
    a = n.args[0]
    return (mul(broadcast(_keep(n, g), a.shape), softmax(a, n.attrs[0])),)


def a_softmax(n, g, need):
    """softmax(a)^* g = p * (g - sum(p * g)): its Jacobian diag(p) - p p^T is symmetric."""
    (axes,) = n.attrs
    return (mul(n, sub(g, total(mul(g, n), axes, keepdims=True))),)


def a_roll(n, g, need):
    """roll(a, k)^* g = roll(g, -k): a permutation's adjoint is its inverse."""
    shift, axis = n.attrs
    return (roll(g, -shift, axis),)


def a_reshape(n, g, need):
    """reshape(a)^* g = g in a's shape."""
    return (reshape(g, n.args[0].shape),)


def a_broadcast(n, g, need):
    """broadcast(a)^* g = g summed over the broadcast axes."""
    return (unbroadcast(g, n.args[0]),)


def a_outer(n, g, need):
    """(a b^T)^* G = (G b, G^T a)."""
    a, b = n.args
    return (matmul(g, b) if need[0] else None, matmul(transpose(g), a) if need[1] else None)


ADJOINT = {"add": a_add, "neg": a_neg, "mul": a_mul, "pow": a_pow, "fn": a_fn, "matmul": a_matmul,
           "transpose": a_transpose, "sum": a_sum, "lse": a_lse, "softmax": a_softmax,
           "roll": a_roll, "reshape": a_reshape, "broadcast": a_broadcast, "outer": a_outer}
