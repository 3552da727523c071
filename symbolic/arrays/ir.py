"""Array expressions: the nodes an array model's energy, cost and derivatives are made of.

A :class:`Node` is one operation on arrays with a *per-example* shape: the
energy is written for one example, and the batch axis that the realistic-size
path adds in front of every state and data array is not part of the shape.
Whether a value carries that axis is the node's ``batched`` flag: state,
data and tangent variables do, parameters and constants do not, and a node
does when any argument does (``batchsum`` removes it).

Every node also has a ``level``, the latest input it depends on:
``-1`` numbers, ``0`` parameters and constants, ``1`` data, ``2`` the state,
``3`` a tangent (the ``v`` of ``H v``). Generated code computes each node
once per change of its level: ``W @ rho(x)`` once per batch, ``rho'(s)``
once per state, and only the level-3 part inside ``H v``.

Nodes are interned: building the same operation on the same arguments twice
returns the same object, so structural equality is identity and a
subexpression shared by the gradient and ``H v`` is computed once.

The constructors below (:func:`add`, :func:`mul`, :func:`matmul`, ...) check
shapes with numpy's rules and simplify as they build: zeros vanish, numbers
fold, signs move outwards (``-a * b`` is ``-(a * b)``), a vector times a
matrix is written ``W^T v``, and a sum over the batch moves inside products
with unbatched factors. A shape that does not fit raises :class:`ShapeError`
naming both shapes.
"""

from __future__ import annotations

import math

import sympy as sp

from .nodes import (ROLES, Node, ShapeError, broadcast_shapes, is_num, is_zero, make_node, num,
                    shape_text, var, walk, zeros)

__all__ = ["Node", "ShapeError", "ROLES", "var", "num", "zeros", "add", "neg", "sub", "mul", "div",
           "power", "fn", "matmul", "transpose", "total", "lse", "softmax", "roll", "reshape",
           "broadcast", "outer", "batchsum", "is_zero", "broadcast_shapes", "walk"]


def _fit(n, shape):
    """``n`` broadcast to ``shape`` (itself when it already has it)."""
    return n if n.shape == tuple(shape) else broadcast(n, shape)


# -- elementwise ------------------------------------------------------------------------
def add(a, b):
    """``a + b``, elementwise with broadcasting."""
    shape = broadcast_shapes(a.shape, b.shape, "add")
    if is_zero(a):
        return _fit(b, shape) if not is_zero(b) else zeros(shape)
    if is_zero(b):
        return _fit(a, shape)
    a, b = _unwrap(a, b, shape)
    if is_num(a) and is_num(b):
        return num(a.attrs[0] + b.attrs[0])
    if a.op == "neg" and b.op == "neg":  # -x - y = -(x + y)
        return neg(add(a.args[0], b.args[0]))
    return make_node("add", (a, b), (), shape)


def neg(a):
    """``-a``."""
    if is_zero(a):
        return a
    if is_num(a):
        return num(-a.attrs[0])
    if a.op == "neg":
        return a.args[0]
    return make_node("neg", (a,), (), a.shape)


def sub(a, b):
    return add(a, neg(b))


def _coefficient(n):
    """``(c, rest)``: a node as a number times the rest (rest None for a number)."""
    if n.op == "num":
        return n.attrs[0], None
    if n.op == "neg":
        c, rest = _coefficient(n.args[0])
        return -c, rest
    if n.op == "mul" and n.args[0].op == "num":
        return n.args[0].attrs[0], n.args[1]
    if n.op == "broadcast" and n.args[0].op == "num":
        return n.args[0].attrs[0], None
    return sp.Integer(1), n


def _unwrap(a, b, shape):
    """An operand broadcast to ``shape`` by hand need not be, where the other has that shape."""
    if a.op == "broadcast" and b.shape == shape:
        a = a.args[0]
    if b.op == "broadcast" and a.shape == shape:
        b = b.args[0]
    return a, b


def mul(a, b):
    """``a * b``, elementwise with broadcasting: the numbers in front as one, signs outside."""
    shape = broadcast_shapes(a.shape, b.shape, "multiply")
    if is_zero(a) or is_zero(b):
        return zeros(shape)
    a, b = _unwrap(a, b, shape)
    ca, ra = _coefficient(a)
    cb, rb = _coefficient(b)
    c = ca * cb
    if c == 0:
        return zeros(shape)
    if ra is None and rb is None:
        return _fit(num(c), shape)
    rest = _product([f for r in (ra, rb) if r is not None for f in _factors(r)])
    if rest is None:
        return _fit(num(c), shape)
    return neg(_scaled(-c, rest, shape)) if c.is_negative else _scaled(c, rest, shape)


def _factors(n):
    """The factors of a product (nested products flattened, broadcasting left implicit: the
    product is broadcast to its shape at the end), left to right."""
    if n.op == "mul" and not is_num(n.args[0]):
        return _factors(n.args[0]) + _factors(n.args[1])
    if n.op == "broadcast":
        return _factors(n.args[0])
    return [n]


def _product(factors):
    """The product of ``factors`` with powers of one base combined (x * x**-1 cancels)."""
    powers = {}
    for f in factors:
        base, e = (f.args[0], f.args[1].attrs[0]) if f.op == "pow" and is_num(f.args[1]) \
            else (f, sp.Integer(1))
        key = id(base)
        if key in powers:
            powers[key][1] += e
        else:
            powers[key] = [base, e]
    out = None
    for base, e in powers.values():
        if e == 0:
            continue
        f = base if e == 1 else power(base, num(e))
        out = f if out is None else make_node("mul", (out, f), (), broadcast_shapes(out.shape, f.shape))
    return out


def _scaled(c, rest, shape):
    """``c * rest`` (c a positive number) with the shape ``shape``."""
    if c == 1:
        return _fit(rest, shape)
    out = make_node("mul", (num(c), rest), (), rest.shape)
    return _fit(out, shape)


def div(a, b):
    """``a / b``: ``a * b**-1``."""
    if is_num(b):
        if b.attrs[0] == 0:
            raise ShapeError("division by the number 0")
        return mul(num(1 / b.attrs[0]), a)
    return mul(a, power(b, num(-1)))


def power(a, b):
    """``a ** b``, elementwise; ``b`` a number (the usual case) or an array."""
    shape = broadcast_shapes(a.shape, b.shape, "raise")
    if is_num(b, 1):
        return _fit(a, shape)
    if is_num(b, 0):
        return _fit(num(1), shape)
    if is_num(a) and is_num(b):
        return num(a.attrs[0] ** b.attrs[0])
    if a.op == "pow" and is_num(a.args[1]) and is_num(b) and b.attrs[0].is_integer:
        return power(a.args[0], num(a.args[1].attrs[0] * b.attrs[0]))  # (a**c)**k, k whole
    return make_node("pow", (a, b), (), shape)


def fn(name, expr, a, order=0):
    """``f^(order)`` applied elementwise to ``a``; ``expr`` is f as a SymPy expression in ``z``.

    ``name`` is how f prints (``tanh``, or a function of the model file such
    as ``rho``); the derivatives' formulas come from SymPy when code is
    generated.
    """
    if is_num(a):
        z = sp.Symbol("z", real=True)
        value = sp.diff(expr, z, order).subs(z, a.attrs[0]) if order else expr.subs(z, a.attrs[0])
        if value.is_number and value.is_real and value.is_finite:
            return num(value)
    return make_node("fn", (a,), (name, int(order), expr), a.shape)


# -- linear algebra -----------------------------------------------------------------------
def transpose(a):
    """``a^T`` of a matrix; a vector or a scalar is its own transpose (as in numpy)."""
    if a.ndim < 2:
        return a
    if a.ndim != 2:
        raise ShapeError(f"transpose: takes a vector or a matrix, got shape {shape_text(a.shape)}")
    if a.op == "transpose":
        return a.args[0]
    if is_zero(a):
        return zeros(a.shape[::-1])
    if a.op == "neg":
        return neg(transpose(a.args[0]))
    if a.op == "outer":  # (a b^T)^T = b a^T
        return outer(a.args[1], a.args[0])
    if a.op == "batchsum":
        return batchsum(transpose(a.args[0]))
    return make_node("transpose", (a,), (), a.shape[::-1])


def matmul(a, b):
    """``a @ b`` for vectors and matrices, as numpy; ``v @ W`` is written ``W^T @ v``."""
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"@ needs vectors or matrices, got shapes {shape_text(a.shape)} and "
                         f"{shape_text(b.shape)} (use * to multiply by a scalar)")
    if a.ndim > 2 or b.ndim > 2:
        raise ShapeError(f"@ takes vectors and matrices, got shapes {shape_text(a.shape)} and "
                         f"{shape_text(b.shape)}; reshape or sum first")
    inner_a = a.shape[-1]
    inner_b = b.shape[0]
    if inner_a != inner_b:
        what = (f"{inner_a} entries against {inner_b}" if a.ndim == 1 and b.ndim == 1 else
                f"{inner_a} {'entries' if a.ndim == 1 else 'columns'} against {inner_b} "
                f"{'entries' if b.ndim == 1 else 'rows'}")
        raise ShapeError(f"@: shapes {shape_text(a.shape)} and {shape_text(b.shape)} do not "
                         f"fit ({what})")
    shape = a.shape[:-1] + b.shape[1:]
    if is_zero(a) or is_zero(b):
        return zeros(shape)
    if a.op == "neg":
        return neg(matmul(a.args[0], b))
    if b.op == "neg":
        return neg(matmul(a, b.args[0]))
    if a.ndim == 1 and b.ndim == 2:
        return matmul(transpose(b), a)
    return make_node("matmul", (a, b), (), shape)


def outer(a, b):
    """The outer product ``a b^T`` of two vectors."""
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: takes two vectors, got shapes {shape_text(a.shape)} and "
                         f"{shape_text(b.shape)}")
    shape = (a.shape[0], b.shape[0])
    if is_zero(a) or is_zero(b):
        return zeros(shape)
    if a.op == "neg":
        return neg(outer(a.args[0], b))
    if b.op == "neg":
        return neg(outer(a, b.args[0]))
    return make_node("outer", (a, b), (), shape)


# -- reductions and rearrangements -------------------------------------------------------
def _axes(a, axis, what):
    """``axis`` (None, an int or a tuple) as a sorted tuple of non-negative axes of ``a``."""
    if axis is None:
        return tuple(range(a.ndim))
    items = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for k in items:
        if not -a.ndim <= k < a.ndim:
            raise ShapeError(f"{what}: axis {k} is out of range for an array of shape "
                             f"{shape_text(a.shape)} ({a.ndim} axes)")
        out.append(k % a.ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"{what}: axis {axis} names an axis twice")
    return tuple(sorted(out))


def _reduced(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if k in axes else d for k, d in enumerate(shape))
    return tuple(d for k, d in enumerate(shape) if k not in axes)


def total(a, axis=None, keepdims=False):
    """``sum(a, axis)``: over every axis (the default) or the given ones."""
    axes = _axes(a, axis, "sum")
    shape = _reduced(a.shape, axes, keepdims)
    if not axes:
        return a
    if is_zero(a):
        return zeros(shape)
    if a.op == "neg":
        return neg(total(a.args[0], axes, keepdims))
    return make_node("sum", (a,), (axes, bool(keepdims)), shape)


def lse(a, axis=None):
    """``logsumexp(a, axis)`` = log(sum(exp(a), axis)), computed without overflow."""
    axes = _axes(a, axis, "logsumexp")
    if not axes:
        return a
    return make_node("lse", (a,), (axes,), _reduced(a.shape, axes, False))


def softmax(a, axis=None):
    """``exp(a - logsumexp(a, axis))``, same shape as ``a`` (over no axis, of a scalar: 1)."""
    axes = _axes(a, axis, "softmax")
    if not axes:
        return broadcast(num(1), a.shape) if a.shape else num(1)
    return make_node("softmax", (a,), (axes,), a.shape)


def roll(a, shift, axis):
    """numpy's ``roll``: element i moves to i + shift along ``axis``, cyclically."""
    (axis,) = _axes(a, axis, "roll")
    shift = int(shift) % a.shape[axis] if a.shape[axis] else 0
    if shift == 0 or is_zero(a):
        return a
    if a.op == "roll" and a.attrs[1] == axis:
        return roll(a.args[0], a.attrs[0] + shift, axis)
    if a.op == "neg":
        return neg(roll(a.args[0], shift, axis))
    return make_node("roll", (a,), (shift, axis), a.shape)


def reshape(a, shape):
    """``a`` with the same entries in another shape (row-major, as numpy)."""
    shape = tuple(int(d) for d in shape)
    if math.prod(shape) != a.size:
        raise ShapeError(f"reshape: cannot put the {a.size} entries of shape "
                         f"{shape_text(a.shape)} into shape {shape_text(shape)}")
    if shape == a.shape:
        return a
    if a.ndim == 0 or (a.op == "broadcast" and a.args[0].ndim == 0):
        return broadcast(a if a.ndim == 0 else a.args[0], shape)
    if a.op == "reshape":
        return reshape(a.args[0], shape)
    if is_zero(a):
        return zeros(shape)
    if a.op == "neg":
        return neg(reshape(a.args[0], shape))
    return make_node("reshape", (a,), (shape,), shape)


def broadcast(a, shape):
    """``a`` repeated to ``shape`` by numpy's broadcasting rules."""
    shape = tuple(shape)
    if broadcast_shapes(a.shape, shape, "broadcast") != shape:
        raise ShapeError(f"cannot broadcast shape {shape_text(a.shape)} to {shape_text(shape)}")
    if a.shape == shape:
        return a
    if is_zero(a):
        return zeros(shape)
    if a.op == "neg":
        return neg(broadcast(a.args[0], shape))
    if a.op == "broadcast":
        return broadcast(a.args[0], shape)
    return make_node("broadcast", (a,), (shape,), shape)


def batchsum(a):
    """The sum over the batch of a batched value (an unbatched one counts once per example).

    The energy of a batch is the sum of its examples' energies, so a
    parameter's derivative sums its per-example derivatives. The sum moves
    inside sums, signs and products with unbatched factors, so that
    ``sum_b outer(a_b, c)`` becomes ``outer(sum_b a_b, c)``.
    """
    if is_zero(a):
        return a
    if a.op in ("neg", "add"):  # a chain of thousands of terms: walked with a stack, not recursion
        out, stack = None, [(a, 1)]
        while stack:
            n, sign = stack.pop()
            if n.op == "neg":
                stack.append((n.args[0], -sign))
            elif n.op == "add":
                stack += [(n.args[1], sign), (n.args[0], sign)]
            elif not is_zero(n):
                t = batchsum(n)
                t = t if sign > 0 else neg(t)
                out = t if out is None else add(out, t)
        return out if out is not None else zeros(a.shape)
    if a.batched and a.op in ("mul", "outer", "matmul") and sum(x.batched for x in a.args) == 1:
        # linear in its one batched argument: sum_b (x_b y) = (sum_b x_b) y
        x, y = a.args
        build = {"mul": mul, "outer": outer, "matmul": matmul}[a.op]
        return build(batchsum(x), y) if x.batched else build(x, batchsum(y))
    if a.batched and a.op in ("transpose", "sum", "reshape", "roll", "broadcast"):
        return make_node(a.op, (batchsum(a.args[0]),), a.attrs, a.shape)
    return make_node("batchsum", (a,), (), a.shape, batched=False)
