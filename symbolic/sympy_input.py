"""A SymPy expression given to :class:`~eqprop.symbolic.model.Model`, held to the formula whitelist.

A formula given as text can only call the functions of
:data:`~eqprop.symbolic.parse.FUNCTIONS`; a SymPy expression built in Python
could hold anything SymPy has (``frac``, ``Mod``, ``gamma``, ``Integral``,
undefined functions), which eqprop would then differentiate wrongly or fail
on with a raw exception. :func:`check_sympy` walks such an expression, node
by node and without recursion, under the same rules and limits as the text
parser:

- the functions of the whitelist (the SymPy classes behind ``FUNCTIONS``:
  ``exp``, ``tanh``, ``Abs``, ``Min``, ...), declared symbols, ``pi`` and
  ``E``, and ``+ - * / **``; anything else is refused with the parser's
  message ("unknown function 'frac'; allowed: ...");
- nesting at most :data:`~eqprop.symbolic.parse.MAX_DEPTH` levels, function
  calls at most :data:`~eqprop.symbolic.parse.MAX_CALL_DEPTH` deep, numeric
  exponents at most :data:`~eqprop.symbolic.parse.MAX_EXPONENT`, numbers
  within the magnitude and digit limits.

Two SymPy-only forms are kept, as before this check existed: ``Piecewise``
(non-smooth, flagged by ``Model.non_smooth``; its conditions compare
whitelisted expressions), and binary ``Float`` numbers, which are read as
the exact decimal they print as (``0.1`` is 1/10), as values are.
"""

from __future__ import annotations

import sympy as sp
from sympy.logic.boolalg import BooleanAtom, BooleanFunction

from eqprop.errors import EqpropError

from .parse import FUNCTIONS, MAX_CALL_DEPTH, check_real, MAX_DEPTH, MAX_EXPONENT, exact_number, shorten
from .grammar import calls_message, depth_message

__all__ = ["check_sympy", "SYMPY_FUNCTIONS"]

#: The SymPy classes a formula's functions build (sqrt, sigmoid, softplus and
#: hardsigmoid are written with these).
SYMPY_FUNCTIONS = frozenset(getattr(f, "sympy_class", f) for f in FUNCTIONS.values()
                            if isinstance(getattr(f, "sympy_class", f), type))
_CONSTANTS = (sp.core.numbers.Pi, sp.core.numbers.Exp1)
_LOGIC = (sp.core.relational.Relational, BooleanFunction, BooleanAtom)
#: refused by the Model afterwards, with the messages formulas get (division by zero, ...)
_JUDGED_LATER = (sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I)
_PAIR = sp.functions.elementary.piecewise.ExprCondPair


def _allowed_functions():
    return ", ".join(sorted(FUNCTIONS))


def _refuse(node, what):
    """The one-line error for a node off the whitelist."""
    if isinstance(node, sp.Function) or getattr(node, "is_Function", False):
        name = getattr(node.func, "__name__", type(node).__name__)
        return EqpropError(f"{what}: unknown function '{name}'; allowed: {_allowed_functions()}")
    if isinstance(node, sp.NumberSymbol):
        return EqpropError(f"{what}: the constant {type(node).__name__} is not allowed; the "
                           "constants are pi and E (give others as a decimal value)")
    kind = type(node).__name__
    return EqpropError(f"{what}: {kind} ({shorten(node, 60)}) is not allowed in a formula; only "
                       "numbers, declared symbols, pi, E, + - * / ** and the functions "
                       f"{_allowed_functions()}")


def _kind(node, in_condition):
    """'leaf', 'call', 'node', or None when ``node`` is off the whitelist."""
    if node.is_Symbol:
        return "leaf"
    if node.is_Number or isinstance(node, _CONSTANTS) or node in _JUDGED_LATER:
        return "leaf"
    if node.is_Add or node.is_Mul or node.is_Pow:
        return "node"
    if type(node) in SYMPY_FUNCTIONS:
        return "call"
    if isinstance(node, (sp.Piecewise, _PAIR)):
        return "node"
    if in_condition and isinstance(node, _LOGIC):
        return "node"
    return None


def check_sympy(expr, what="expression"):
    """``expr`` if it keeps to the formula whitelist and limits (binary Floats made exact), else
    a one-line :class:`~eqprop.errors.EqpropError` naming the function or object and what is
    accepted.

    Iterative and linear in the number of distinct sub-expressions (shared
    ones are walked once), so a model of 200,000 terms is checked in about a
    second and no nesting can exhaust Python's stack.
    """
    height = {}  # node -> (levels below and including it, calls below and including it)
    floats = {}
    stack = [(expr, False, False)]
    while stack:
        node, in_condition, expanded = stack.pop()
        if node in height and not expanded:
            continue
        if not isinstance(node, sp.Basic):  # pragma: no cover - SymPy args are Basic
            raise EqpropError(f"{what}: {shorten(node, 60)} is not a SymPy expression")
        kind = _kind(node, in_condition)
        if kind is None:
            raise _refuse(node, what)
        if kind == "leaf":
            if node.is_Float and node.is_finite:
                floats[node] = exact_number(node, what)
            elif node.is_Rational:
                exact_number(node, what)
            height[node] = (1, 0)
            continue
        if node.is_Pow and node.exp.is_Rational and abs(node.exp) > MAX_EXPONENT:
            raise EqpropError(f"{what}: exponent {shorten(node.exp, 40)} is too large (at most "
                              f"{MAX_EXPONENT}); a formula must stay small enough to differentiate")
        kids = node.args
        if not expanded:
            stack.append((node, in_condition, True))
            if isinstance(node, _PAIR):  # (value, condition): the condition may compare
                stack.extend(((kids[0], in_condition, False), (kids[1], True, False)))
            else:
                stack.extend((k, in_condition, False) for k in kids if k not in height)
            continue
        levels = 1 + max((height[k][0] for k in kids), default=0)
        calls = (kind == "call") + max((height[k][1] for k in kids), default=0)
        if levels > MAX_DEPTH:
            raise EqpropError(f"{what}: {depth_message(levels)}")
        if calls > MAX_CALL_DEPTH:
            raise EqpropError(f"{what}: {calls_message()}")
        height[node] = (levels, calls)
    return check_real(expr.xreplace(floats) if floats else expr, what)
