"""The nodes of array expressions: one interned object per operation on its arguments.

:mod:`.ir` builds and simplifies expressions of these nodes (see its
docstring for what ``shape``, ``batched`` and ``level`` mean); this module
holds the node itself, the table that interns nodes, the walk over an
expression, the leaves (variables, numbers, zeros) and numpy's broadcast
rule for shapes.
"""

from __future__ import annotations

import math
import weakref

import sympy as sp

from eqprop.errors import EqpropError

from .display import text

__all__ = ["Node", "ShapeError", "ROLES", "make_node", "walk", "var", "num", "zeros", "is_zero",
           "is_num", "shape_text", "broadcast_shapes"]

#: a variable's role -> its level (see the module docstring)
ROLES = {"param": 0, "constant": 0, "data": 1, "state": 2, "tangent": 3}
_BATCHED_ROLES = ("data", "state", "tangent")


class ShapeError(EqpropError):
    """Two shapes that do not fit (the message names both)."""


class Node:
    """One array operation; build nodes with the module's constructors, never directly.

    ``op`` names the operation, ``args`` are its operand nodes, ``attrs`` its
    other (hashable) data; ``shape`` is per example, ``batched`` whether a
    batch axis goes in front, ``level`` the latest input it depends on.
    """

    __slots__ = ("op", "args", "attrs", "shape", "batched", "level", "__weakref__")

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<{self.op} {text(self)} {self.shape}{' batched' if self.batched else ''}>"

    # a node is its own key: interning makes structural equality identity
    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other


_TABLE = weakref.WeakValueDictionary()


def make_node(op, args, attrs, shape, batched=None, level=None):
    """The one :class:`Node` of this operation on these arguments (built on first request)."""
    key = (op, tuple(id(a) for a in args), attrs, tuple(shape))
    found = _TABLE.get(key)
    if found is not None:
        return found
    n = object.__new__(Node)
    n.op, n.args, n.attrs, n.shape = op, tuple(args), attrs, tuple(int(d) for d in shape)
    n.batched = any(a.batched for a in args) if batched is None else batched
    n.level = max((a.level for a in args), default=-1) if level is None else level
    _TABLE[key] = n
    return n


def walk(roots, stop=()):
    """Every node reachable from ``roots``, each once, arguments before their users.

    The walk does not go below a node whose id is in ``stop`` (values already known).
    """
    seen, order = set(), []
    stack = [(r, False) for r in reversed(list(roots))]
    while stack:
        n, done = stack.pop()
        if done:
            order.append(n)
            continue
        if id(n) in seen:
            continue
        seen.add(id(n))
        stack.append((n, True))
        if id(n) not in stop:
            stack.extend((a, False) for a in reversed(n.args) if id(a) not in seen)
    return order


# -- leaves -----------------------------------------------------------------------------
def var(name, role, shape):
    """A declared variable: ``role`` is one of :data:`ROLES`."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return make_node("var", (), (name, role), shape, batched=role in _BATCHED_ROLES,
                 level=ROLES[role])


def num(value):
    """A scalar number (a SymPy number: exact where it can be)."""
    value = sp.sympify(value)
    return make_node("num", (), (value,), ())


def zeros(shape):
    """An array of zeros (unbatched: it broadcasts against any batch)."""
    return make_node("zeros", (), (tuple(shape),), shape)


def is_zero(n):
    return n.op == "zeros" or (n.op == "num" and n.attrs[0] == 0)


def is_num(n, value=None):
    """Whether ``n`` is a number (equal to ``value``, where given)."""
    return n.op == "num" and (value is None or n.attrs[0] == value)


def shape_text(shape):
    """A shape as Python writes a tuple: ``(3,)``, ``(2, 3)``."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def broadcast_shapes(a, b, what="combine"):
    """numpy's broadcast of two shapes, or a :class:`ShapeError` naming both."""
    out = []
    for x, y in zip(reversed((1,) * (len(b) - len(a)) + tuple(a)),
                    reversed((1,) * (len(a) - len(b)) + tuple(b))):
        if x != y and 1 not in (x, y):
            raise ShapeError(f"cannot {what} shapes {shape_text(a)} and {shape_text(b)}: "
                             f"{x} against {y}")
        out.append(max(x, y) if 1 in (x, y) else x)
    return tuple(reversed(out))
