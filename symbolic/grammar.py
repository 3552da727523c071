"""What a formula may contain, how far it may nest, and how its text splits into tokens.

Shared by the reader of scalar formulas (:mod:`.parse`, :mod:`.walker`),
the check of SymPy input (:mod:`.sympy_input`) and the reader of array
formulas (:mod:`.arrays.parse`): the whitelist of functions and constants,
the limits that bound hostile input (stated in every message that enforces
them), the tokenizer, and the walk that measures a syntax tree's nesting
before anything is built from it.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings

import sympy as sp

from .numbers import shorten


def _sigmoid(z):
    return 1 / (1 + sp.exp(-z))


def _softplus(z):
    return sp.log(1 + sp.exp(z))


def _hardsigmoid(z):
    return sp.Min(sp.Max(z, 0), 1)


def _sqrt(z):
    """sqrt of one argument: sp.sqrt(a, 3) took the 3 as its ``evaluate`` flag, silently."""
    return sp.sqrt(z)


def _log(z, *base):
    """log(z), or log(z, b) to a base b: a number b must be positive and not 1 (SymPy makes
    log(a, 0) zero, silently dropping the term, and log(a, -2) complex)."""
    if len(base) > 1:
        raise TypeError("log takes one or two arguments")
    if base and base[0].is_number and (base[0].is_extended_positive is False or base[0] == 1):
        raise ValueError(f"log(x, b) needs a base b > 0 other than 1, got {shorten(base[0], 30)}")
    return sp.log(z, *base)


_log.sympy_class = sp.log  # what check_sympy accepts in a SymPy expression


#: Functions of the whitelist that take two arguments (not elementwise functions of one variable).
TWO_ARGUMENTS = frozenset({"Min", "min", "Max", "max"})

#: Functions a string may call, by name. Smooth ones first.
FUNCTIONS = {
    "exp": sp.exp, "log": _log, "sqrt": _sqrt,
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan,
    "asinh": sp.asinh, "acosh": sp.acosh, "atanh": sp.atanh, "erf": sp.erf,
    "sigmoid": _sigmoid, "softplus": _softplus,
    # non-smooth: accepted, flagged as violating the C^2 assumption
    "Abs": sp.Abs, "abs": sp.Abs, "Min": sp.Min, "min": sp.Min,
    "Max": sp.Max, "max": sp.Max, "Heaviside": sp.Heaviside,
    "sign": sp.sign, "floor": sp.floor, "ceiling": sp.ceiling,
    "hardsigmoid": _hardsigmoid,
}

#: SymPy classes that break the twice-differentiable assumption.
NON_SMOOTH = (sp.Abs, sp.Min, sp.Max, sp.Piecewise, sp.Heaviside, sp.sign,
              sp.floor, sp.ceiling, sp.DiracDelta)

#: Names of constants a formula may use.
CONSTANTS = {"pi": sp.pi, "E": sp.E}

#: Longest formula, in characters.
MAX_FORMULA_CHARS = 1_000_000
#: Most numbers, names and operators in one formula.
MAX_NODES = 100_000
#: Deepest nesting of a formula (a chain of + - or of * / counts once).
MAX_DEPTH = 200
#: Deepest nesting of function calls, tanh(tanh(...)): SymPy's time to check
#: such a chain (is it real?) grows exponentially with its depth.
MAX_CALL_DEPTH = 8
#: Largest numeric exponent accepted (``9**9**9`` would never finish evaluating).
MAX_EXPONENT = 1000

#: The binary operators of a formula.
BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a ** b,
}
#: Operators of one family chain without nesting: ``a + b - c`` is one level, as ``a*b/c``.
FAMILY = {ast.Add: "add", ast.Sub: "add", ast.Mult: "mul", ast.Div: "mul"}

#: A product of more factors than this is built in one step (sp.Mul(*factors)):
#: the same value, in SymPy's canonical form, in linear instead of quadratic time.
PAIRWISE = 32
#: Pieces of at most this many tokens go to ast.parse whole.
SMALL = 500


#: the kinds of token :func:`tokens` tells apart (any other keeps its type name)
NAME, NUMBER, OP = "name", "number", "op"
#: the operators of a formula's grammar (others are refused with their column)
SIMPLE_OPS = frozenset({"+", "-", "*", "/", "**", "(", ")", ","})


def tokens(text):
    """``(kind, string, start, end)`` for each token of a one-line formula; TokenError at the end
    if it cannot be tokenized.

    Columns count characters. ``kind`` is "name", "number", "op" or the
    token's type name for anything else (strings, error tokens, ...).
    """
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            continue
        if tok.type == tokenize.NAME:
            kind = NAME
        elif tok.type == tokenize.NUMBER:
            kind = NUMBER
        elif tok.type == tokenize.OP:
            kind = OP
        else:
            kind = tokenize.tok_name.get(tok.type, "?")
        yield kind, tok.string, tok.start[1], tok.end[1]


def token_list(text):
    """All of :func:`tokens`, or None if the text cannot be tokenized."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(tokens(text))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None


def depth_message(depth):
    """The refusal of a formula nested ``depth`` levels (more than :data:`MAX_DEPTH`)."""
    return (f"the formula is nested {depth}+ levels deep; at most {MAX_DEPTH} levels of "
            "parentheses, function calls, powers and signs are allowed")


def calls_message():
    """The refusal of function calls nested more than :data:`MAX_CALL_DEPTH` deep."""
    return (f"function calls are nested more than {MAX_CALL_DEPTH} deep, as in tanh(tanh(...)); "
            f"at most {MAX_CALL_DEPTH} are allowed (SymPy's work grows exponentially with the depth)")


def nesting(root, depth=1, calls=0, children=(ast.expr,)):
    """``(node, depth, calls)`` for every node under ``root``, iteratively (no recursion limit).

    ``depth`` counts levels as :data:`MAX_DEPTH` does: a chain of one
    :data:`FAMILY` (``a + b - c``, ``a*b/c``) is one level. ``calls`` counts
    the function calls on the way down, the node itself included. Only the
    children of the given ``children`` types are visited. The callers check
    each node against their limits as it comes, before the rest is walked.
    """
    stack = [(root, depth, calls)]
    while stack:
        node, d, c = stack.pop()
        if isinstance(node, ast.Call):
            c += 1
        yield node, d, c
        if isinstance(node, ast.BinOp):
            fam = FAMILY.get(type(node.op))
            left = node.left
            same = fam and isinstance(left, ast.BinOp) and FAMILY.get(type(left.op)) == fam
            stack.append((left, d if same else d + 1, c))
            stack.append((node.right, d + 1, c))
        else:
            stack.extend((ch, d + 1, c) for ch in ast.iter_child_nodes(node)
                         if isinstance(ch, children))
