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
are constants of :mod:`.grammar`, offered here too, and stated in every
message that enforces them):

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
terms neither exhausts Python's parser nor costs quadratic time (the
reader: :mod:`.walker`).
"""

from __future__ import annotations

import keyword
import sys
import unicodedata
from contextlib import contextmanager

import sympy as sp

from eqprop.errors import EqpropError

from .confusables import check_raw
from .grammar import (FUNCTIONS, MAX_CALL_DEPTH, MAX_DEPTH, MAX_EXPONENT, MAX_FORMULA_CHARS,
                      MAX_NODES, NAME, NON_SMOOTH, depth_message, token_list)
from .numbers import MAX_DIGITS, MAX_MAGNITUDE, _cut, check_printable, escape_controls, exact_number, shorten
from .walker import FormulaReader

__all__ = ["FUNCTIONS", "NON_SMOOTH", "parse_expression", "exact_number", "normalize_formula",
           "formula_names", "check_real", "escape_controls", "shorten", "MAX_FORMULA_CHARS", "MAX_NODES",
           "MAX_DEPTH", "MAX_CALL_DEPTH", "MAX_MAGNITUDE", "MAX_DIGITS", "MAX_EXPONENT"]


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


def formula_names(text, what="expression"):
    """The names a formula uses (variables and functions), without parsing it."""
    text = normalize_formula(text, what)
    toks = token_list(text)
    if toks is None:
        return set()
    return {s for kind, s, _, _ in toks if kind == NAME and not keyword.iskeyword(s)}


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
    text = normalize_formula(text, what)
    try:
        with _stack_room():
            return check_real(FormulaReader(text, symbols, what).run(), what)
    except EqpropError:
        raise
    except RecursionError:
        raise EqpropError(f"{what}: {depth_message(MAX_DEPTH)}") from None
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

