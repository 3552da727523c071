"""Safe parsing of energy and cost strings into SymPy expressions.

User text is never handed to ``eval`` (nor to ``sympy.sympify`` or
``parse_expr``, which both evaluate Python code). The string is parsed by
Python's own grammar with :func:`ast.parse` -- which builds a syntax tree and
executes nothing -- and the tree is walked node by node. Only arithmetic
(``+ - * / **``), numbers, declared symbols and calls of the functions in
:data:`FUNCTIONS` are accepted; everything else (attribute access, lambdas,
subscripts, keyword arguments, comprehensions, strings, ...) is refused with
a one-line :class:`~eqprop.errors.EqpropError`.

Decimal literals are read exactly from their source text, so ``"0.35"``
becomes ``Rational(7, 20)`` and never passes through a binary float.

Hostile input is bounded before any work that could take long (the limits
are module constants, stated in every message that enforces them):

- a formula has at most :data:`MAX_FORMULA_CHARS` characters and
  :data:`MAX_NODES` numbers, names and operators;
- it nests at most :data:`MAX_DEPTH` levels (parentheses, calls, powers,
  signs; a chain ``a + b - c + ...`` or ``a*b/c*...`` is one level), and
  function calls at most :data:`MAX_CALL_DEPTH` deep (``tanh(tanh(...))``);
- every number -- a literal, a value, a power or product of them -- lies
  within ``10**-MAX_MAGNITUDE .. 10**MAX_MAGNITUDE`` when read and never
  needs more than :data:`MAX_DIGITS` digits in its numerator or denominator;
  the size of an exact power is estimated *before* it is computed;
- numeric exponents are at most :data:`MAX_EXPONENT` in absolute value.

The text is normalised (Unicode NFKC, as Python does to identifiers; control
and invisible formatting characters are refused) before it is parsed, so
what runs is what is shown. A long formula is cut at its ``+ - * /`` chains
into pieces that :func:`ast.parse` reads one at a time, so a sum of 50,000
terms neither exhausts Python's parser nor costs quadratic time.
"""

from __future__ import annotations

import ast
import io
import keyword
import sys
import tokenize
import unicodedata
import warnings
from contextlib import contextmanager

import sympy as sp

from eqprop.errors import EqpropError

from .confusables import check_raw
from .numbers import (MAX_DIGITS, MAX_MAGNITUDE, _cut, _digits, _rdigits, check_printable,  # noqa: F401
                      escape_controls, exact_number, shorten)

__all__ = ["FUNCTIONS", "NON_SMOOTH", "parse_expression", "exact_number", "normalize_formula",
           "formula_names", "check_real", "escape_controls", "shorten", "MAX_FORMULA_CHARS", "MAX_NODES",
           "MAX_DEPTH", "MAX_CALL_DEPTH", "MAX_MAGNITUDE", "MAX_DIGITS", "MAX_EXPONENT"]


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

_CONSTANTS = {"pi": sp.pi, "E": sp.E}

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

_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a ** b,
}
_FAMILY = {ast.Add: "add", ast.Sub: "add", ast.Mult: "mul", ast.Div: "mul"}

#: A product of more factors than this is built in one step (sp.Mul(*factors)):
#: the same value, in SymPy's canonical form, in linear instead of quadratic time.
_PAIRWISE = 32
#: Pieces of at most this many tokens go to ast.parse whole.
_SMALL = 500


def normalize_formula(text, what="expression"):
    """The text a formula is parsed from: checked, NFKC-normalised, on one line.

    Control characters and invisible formatting characters (bidirectional
    overrides, zero-width characters) are refused. Unicode compatibility
    characters are normalised with NFKC, as Python normalises identifiers
    (``ｔａｎｈ`` is ``tanh``); outside identifiers they are refused, as
    Python refuses them, so ``a²`` never silently becomes the name ``a2``.
    Whitespace, line breaks included, becomes single spaces.
    """
    if not isinstance(text, str):
        raise EqpropError(f"{what}: expected a string or a SymPy expression, got {type(text).__name__}")
    if len(text) > MAX_FORMULA_CHARS:
        raise EqpropError(f"{what}: the formula has {len(text):,} characters; at most "
                          f"{MAX_FORMULA_CHARS:,} are allowed")
    check_printable(text, what, allow_space=True)
    if "#" in text:  # Python's parser would drop the rest of the line as a comment
        raise EqpropError(f"{what}: '#' at position {text.index('#')} would start a comment, and the "
                          "rest of the formula would be ignored; a formula has no comments (write "
                          "them in the TOML file, after the closing quote)")
    if not text.isascii():
        for c in set(text):
            if ord(c) > 127 and not c.isspace() and ("a" + c).isidentifier() and \
                    any(d.isdigit() for d in unicodedata.normalize("NFKC", c)):
                name = unicodedata.name(c, "a character")  # '２', '𝟑': NFKC reads them as 2, 3
                raise EqpropError(f"{what}: the character {c!r} (U+{ord(c):04X}, {name}) would be "
                                  "read as a digit; write numbers in ASCII digits")
            if ord(c) > 127 and not c.isspace() and not ("a" + c).isidentifier():
                name = unicodedata.name(c, "a character")
                raise EqpropError(f"{what}: the character {c!r} (U+{ord(c):04X}, {name}) may "
                                  "appear only in a name; write numbers and operators in "
                                  "ASCII, e.g. a**2 rather than a\u00b2")
        check_raw(text, what)
        text = unicodedata.normalize("NFKC", text)
        if len(text) > MAX_FORMULA_CHARS:
            raise EqpropError(f"{what}: the formula has {len(text):,} characters once normalised; "
                              f"at most {MAX_FORMULA_CHARS:,} are allowed")
    text = " ".join(text.split())  # formulas may span lines (TOML multi-line strings)
    if not text:
        raise EqpropError(f"{what}: the formula is empty")
    return text


_NAME, _NUMBER_T, _OP = "name", "number", "op"
_SIMPLE_OPS = frozenset({"+", "-", "*", "/", "**", "(", ")", ","})


def _tokens(text):
    """``(kind, string, start, end)`` for each token of a one-line formula; TokenError at the end
    if it cannot be tokenized.

    Columns count characters. ``kind`` is "name", "number", "op" or the
    token's type name for anything else (strings, error tokens, ...).
    """
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            continue
        if tok.type == tokenize.NAME:
            kind = _NAME
        elif tok.type == tokenize.NUMBER:
            kind = _NUMBER_T
        elif tok.type == tokenize.OP:
            kind = _OP
        else:
            kind = tokenize.tok_name.get(tok.type, "?")
        yield kind, tok.string, tok.start[1], tok.end[1]


def _token_list(text):
    """All of :func:`_tokens`, or None if the text cannot be tokenized."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(_tokens(text))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None


def formula_names(text, what="expression"):
    """The names a formula uses (variables and functions), without parsing it."""
    text = normalize_formula(text, what)
    toks = _token_list(text)
    if toks is None:
        return set()
    return {s for kind, s, _, _ in toks if kind == _NAME and not keyword.iskeyword(s)}


@contextmanager
def _stack_room(frames=2000):
    """Make sure ``frames`` more Python frames fit under the recursion limit (restored after)."""
    depth, f = 0, sys._getframe()
    while f is not None:
        depth, f = depth + 1, f.f_back
    old = sys.getrecursionlimit()
    raised = old < depth + frames
    if raised:
        sys.setrecursionlimit(depth + frames)
    try:
        yield
    finally:
        if raised:
            sys.setrecursionlimit(old)


def parse_expression(text, symbols, *, what="expression"):
    """Parse ``text`` into a SymPy expression over the given ``symbols``.

    Parameters
    ----------
    text : str
        The formula, in Python syntax: ``"(a**2 + b**2)/2 - w*tanh(a)*tanh(b)"``.
    symbols : dict[str, sympy.Symbol]
        Every name the formula may use (state, parameters, data).
    what : str
        Used in error messages ("energy", "cost", ...).
    """
    from .walker import _Parser, _depth_message  # the reader (imports this module's tables)
    text = normalize_formula(text, what)
    try:
        with _stack_room():
            return check_real(_Parser(text, symbols, what).run(), what)
    except EqpropError:
        raise
    except RecursionError:
        raise EqpropError(f"{what}: {_depth_message(MAX_DEPTH)}") from None
    except (TypeError, ValueError, ArithmeticError) as exc:  # SymPy refusing an operation
        raise EqpropError(f"{what}: cannot evaluate the formula ({type(exc).__name__}: "
                          f"{_cut(' '.join(str(exc).split()), 120)}); check for undefined "
                          "operations such as 0/0") from None


def check_real(expr, what="expression"):
    """``expr``, unless it holds a constant that is not real: a negative number to a power that
    is not an integer (``(-2)**a``, ``(-8)**(1/3)``, which SymPy keeps as ``2*(-1)**(1/3)``), or a
    function of numbers off its real domain (``asin(2)``, ``atanh(2)``). SymPy writes neither with
    the imaginary unit, and the numeric path met them as an internal error (complex to float)."""
    for p in expr.atoms(sp.Pow):
        if p.base.is_number and p.base.is_extended_negative and not p.exp.is_integer:
            raise EqpropError(f"{what}: {shorten(p, 60)} raises a negative number to a power that "
                              "is not an integer, which is complex, not real; write the power of "
                              "its absolute value, e.g. 2**a rather than (-2)**a")
    for f in expr.atoms(sp.Function):
        if not f.free_symbols and f.is_extended_real is False:
            raise EqpropError(f"{what}: {shorten(f, 60)} is not real (its argument is outside the "
                              "function's real domain); energies and costs must be real")
    return expr

