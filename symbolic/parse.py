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
import math
import re
import sys
import tokenize
import unicodedata
import warnings
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction

import sympy as sp

from eqprop.errors import EqpropError

__all__ = ["FUNCTIONS", "NON_SMOOTH", "parse_expression", "exact_number", "normalize_formula",
           "formula_names", "escape_controls", "shorten", "MAX_FORMULA_CHARS", "MAX_NODES",
           "MAX_DEPTH", "MAX_CALL_DEPTH", "MAX_MAGNITUDE", "MAX_DIGITS", "MAX_EXPONENT"]


def _sigmoid(z):
    return 1 / (1 + sp.exp(-z))


def _softplus(z):
    return sp.log(1 + sp.exp(z))


def _hardsigmoid(z):
    return sp.Min(sp.Max(z, 0), 1)


#: Functions a string may call, by name. Smooth ones first.
FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt,
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
#: Numbers (literals and values) lie within 10**-MAX_MAGNITUDE .. 10**MAX_MAGNITUDE.
MAX_MAGNITUDE = 1000
#: Most decimal digits of any exact number's numerator or denominator. Below
#: Python's 4,300-digit limit on int <-> str conversion, so every number can
#: still be printed, saved in a report and compiled.
MAX_DIGITS = 4000
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
_LOG10_2 = math.log10(2)


# -- small helpers, shared with model.py and builtins.py -------------------

def _cut(text, limit):
    return text if len(text) <= limit else text[:limit - 3] + "..."


def shorten(value, limit=80):
    """``repr(value)``, cut to ``limit`` characters for an error message."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's int -> str limit
        return f"<an integer of about {_digits(value):,} digits>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _unprintable(c, allow_space):
    if allow_space and c.isspace():
        return False
    return unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def _first_unprintable(text, *, allow_space):
    """``(index, char)`` of the first control or invisible formatting character, or None."""
    bad = {c for c in set(text) if _unprintable(c, allow_space)}
    if not bad:
        return None
    return next((i, c) for i, c in enumerate(text) if c in bad)


def check_printable(text, what, *, allow_space=False):
    """Refuse control characters, bidirectional overrides and other invisible formatting.

    Such characters in a model's name or formula could rewrite the terminal
    (``ESC [``, ``\\r``) or the reading order (U+202E) of a report.
    """
    found = _first_unprintable(text, allow_space=allow_space)
    if found:
        i, c = found
        raise EqpropError(f"{what}: contains the control or invisible character U+{ord(c):04X} at "
                          f"position {i}; use printable text only (no escape sequences, line "
                          "breaks or bidirectional overrides)")


def escape_controls(text):
    """``text`` with control and invisible formatting characters written visibly (``\\x1b``)."""
    if not _first_unprintable(text, allow_space=False):
        return text
    return "".join(c.encode("unicode_escape").decode("ascii") if _unprintable(c, False) else c
                   for c in text)


def _digits(n):
    """Decimal digits of the integer ``|n|`` (exact to within one)."""
    n = abs(int(n))
    return 1 if n == 0 else int(n.bit_length() * _LOG10_2) + 1


def _rdigits(r):
    """Digits of an exact rational's numerator or denominator, whichever is longer."""
    return max(_digits(r.p), _digits(r.q))


def _too_many_digits(what, shown, digits):
    return EqpropError(f"{what}: {shown} needs about {digits:,} digits; an exact number may have "
                       f"at most {MAX_DIGITS:,} digits in its numerator and in its denominator")


def _out_of_range(what, shown):
    return EqpropError(f"{what}: {shown} is out of range; numbers must lie between "
                       f"1e-{MAX_MAGNITUDE} and 1e+{MAX_MAGNITUDE} in absolute value (or be 0)")


def _check_rational(num, what, shown):
    """``num`` (a SymPy Rational) within the magnitude and digit limits, else EqpropError."""
    p, q = int(num.p), int(num.q)
    if p == 0:
        return num
    d = max(_digits(p), _digits(q))
    if d > MAX_DIGITS + MAX_MAGNITUDE + 2:  # far out: no need to look closer
        raise _too_many_digits(what, shown, d)
    order = math.floor(math.log10(abs(p)) - math.log10(q))
    if abs(order) > MAX_MAGNITUDE:
        raise _out_of_range(what, shown)
    if d > MAX_DIGITS:
        raise _too_many_digits(what, shown, d)
    return num


# -- exact numbers -----------------------------------------------------------

_DEC = r"(?:[0-9](?:_?[0-9])*)"
_NUMBER = re.compile(rf"([+-]?)({_DEC}?)(?:\.({_DEC}?))?(?:[eE]([+-]?{_DEC}))?", re.ASCII)


def _decimal(text, what, shown):
    """An exact Rational from decimal text (``-1.5e3``), bounded before it is built."""
    m = _NUMBER.fullmatch(text)
    if not m or not (m.group(2) or m.group(3)):
        raise ValueError(text)
    sign, ip, fp, ep = m.group(1), m.group(2).replace("_", ""), (m.group(3) or "").replace("_", ""), \
        (m.group(4) or "0").replace("_", "")
    digits = (ip + fp).lstrip("0")
    if not digits:
        return sp.Integer(0)
    if len(ep.lstrip("+-").lstrip("0")) > 9:  # an exponent beyond 1e9: far out of range
        raise _out_of_range(what, shown)
    scale = int(ep) - len(fp)
    if abs(len(digits) - 1 + scale) > MAX_MAGNITUDE:
        raise _out_of_range(what, shown)
    size = max(len(digits) + max(scale, 0), -scale)
    if size > MAX_DIGITS:
        raise _too_many_digits(what, shown, size)
    n = -int(digits) if sign == "-" else int(digits)
    return sp.Integer(n * 10 ** scale) if scale >= 0 else sp.Rational(n, 10 ** -scale)


def _from_text(value, what, shown):
    text = value.strip()
    if text.lower().lstrip("+-") in ("nan", "inf", "infinity", "oo"):
        raise EqpropError(f"{what}: got {shown}; values must be finite numbers")
    if text.count("/") != 1:
        return _decimal(text, what, shown)
    top, bottom = text.split("/")
    num, den = _decimal(top.strip(), what, shown), _decimal(bottom.strip(), what, shown)
    if den == 0:
        raise EqpropError(f"{what}: {shown} divides by zero; give a finite number such as '7/20'")
    return _check_rational(num / den, what, shown)


def exact_number(value, what="value"):
    """Return ``value`` as an exact SymPy number (Rational where possible).

    Accepts ints, decimal or fraction strings (``"0.35"``, ``"7/20"``,
    ``"1e-3"``), :class:`fractions.Fraction`, :class:`decimal.Decimal`, SymPy
    numbers and mpmath ``mpf``. A Python float is converted through its
    shortest repr, so ``0.1`` means 1/10, not the nearest binary fraction.
    NaN and infinities are refused, and so are numbers beyond the limits
    (magnitude ``1e-1000 .. 1e+1000``, at most 4,000 digits): each is
    checked before the exact number is built.
    """
    if isinstance(value, bool):
        raise EqpropError(f"{what}: got a boolean {value!r}; give a number such as 0.5")
    shown = shorten(value)
    try:
        if isinstance(value, str):
            num = _from_text(value, what, shown)
        elif isinstance(value, sp.Basic):
            num = _from_sympy(value, what, shown)
        elif isinstance(value, int) or (type(value).__name__.startswith(("int", "uint"))
                                        and hasattr(value, "item")):
            num = _check_rational(sp.Integer(int(value)), what, shown)
        elif isinstance(value, Fraction):
            num = _check_rational(sp.Rational(value.numerator, value.denominator), what, shown)
        elif isinstance(value, float) or type(value).__name__ in ("float64", "float32", "float16"):
            if not math.isfinite(float(value)):
                raise EqpropError(f"{what}: got {shown}; values must be finite numbers")
            num = _from_text(repr(float(value)), what, shown)
        elif isinstance(value, Decimal):
            if not value.is_finite():
                raise EqpropError(f"{what}: got {shown}; values must be finite numbers")
            num = _from_text(str(value), what, shown)
        else:  # mpmath mpf and friends
            num = _from_mpmath(value, what, shown)
    except EqpropError:
        raise
    except (TypeError, ValueError, SyntaxError, ArithmeticError):
        raise EqpropError(
            f"{what}: cannot read {shown} as a number; write an int, a decimal "
            "string like '0.35' or a fraction like '7/20'") from None
    if not getattr(num, "is_number", False) or num.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise EqpropError(f"{what}: got {shown}; values must be finite real numbers")
    if not num.is_real:
        raise EqpropError(f"{what}: got {shown}; values must be real")
    if not num.is_Rational:
        raise EqpropError(f"{what}: got {shown}; give an exact decimal or fraction, "
                          "e.g. '1.4142135623730950488' rather than sqrt(2)")
    return num


def _from_sympy(value, what, shown):
    if isinstance(value, sp.Rational):
        return _check_rational(value, what, shown)
    if isinstance(value, sp.Float):
        if not value.is_finite:
            raise EqpropError(f"{what}: got {shown}; values must be finite numbers")
        if value != 0:
            _sign, man, exp, bc = value._mpf_
            if abs((exp + bc) * _LOG10_2) > MAX_MAGNITUDE + 1:
                raise _out_of_range(what, shown)
        return _from_text(str(value), what, shown)
    return value  # judged by exact_number's checks (pi, sqrt(2), I, oo, a symbol)


def _from_mpmath(value, what, shown):
    import mpmath
    if not isinstance(value, mpmath.mpf):
        raise TypeError(type(value).__name__)
    if not mpmath.isfinite(value):
        raise EqpropError(f"{what}: got {shown}; values must be finite numbers")
    man, exp = value.man_exp
    if man == 0:
        return sp.Integer(0)
    if abs((exp + int(man).bit_length()) * _LOG10_2) > MAX_MAGNITUDE + 1:
        raise _out_of_range(what, shown)
    if -exp * _LOG10_2 > MAX_DIGITS or _digits(man) > MAX_DIGITS:
        raise _too_many_digits(what, shown, max(_digits(man), int(-exp * _LOG10_2) + 1))
    return sp.Integer(man) * sp.Integer(2) ** exp


# -- formula text --------------------------------------------------------------

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
    if not text.isascii():
        for c in set(text):
            if ord(c) > 127 and not c.isspace() and not ("a" + c).isidentifier():
                name = unicodedata.name(c, "a character")
                raise EqpropError(f"{what}: the character {c!r} (U+{ord(c):04X}, {name}) may "
                                  "appear only in a name; write numbers and operators in "
                                  "ASCII, e.g. a**2 rather than a\u00b2")
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
    text = normalize_formula(text, what)
    try:
        with _stack_room():
            return _Parser(text, symbols, what).run()
    except EqpropError:
        raise
    except RecursionError:
        raise EqpropError(f"{what}: {_depth_message(MAX_DEPTH)}") from None
    except (TypeError, ValueError, ArithmeticError) as exc:  # SymPy refusing an operation
        raise EqpropError(f"{what}: cannot evaluate the formula ({type(exc).__name__}: "
                          f"{_cut(' '.join(str(exc).split()), 120)}); check for undefined "
                          "operations such as 0/0") from None


# -- arithmetic with bounded numbers ---------------------------------------------

def _coeff_digits(e):
    """An upper bound on the digits that ``e``'s numbers add to a product they join."""
    if e.is_Rational:
        return _rdigits(e)
    if e.is_Pow:
        if e.base.is_Rational and e.exp.is_Rational:  # sqrt(2): combines with others
            return int(_rdigits(e.base) * abs(e.exp)) + 1
        return 0
    if e.is_Mul:
        return sum(_coeff_digits(a) for a in e.args if a.is_Rational or a.is_Pow)
    if e.is_Add:  # a number times a sum multiplies every term's coefficient
        return max(_coeff_digits(a) for a in e.args)
    return 0


def _pow_digits(base):
    """Digits per unit of exponent of the numbers that ``base**n`` computes."""
    if base.is_Rational:
        return _rdigits(base)
    if base.is_Pow and base.base.is_Rational and base.exp.is_Rational:
        return _rdigits(base.base) * abs(base.exp)
    if base.is_Mul:  # (2*a)**n is 2**n * a**n
        return sum(_pow_digits(a) for a in base.args)
    return 0  # a sum, a symbol or a function: base**n stays unexpanded


class _Arith:
    """``+ - * / **`` and calls, refusing numbers beyond MAX_DIGITS before building them."""

    def __init__(self, what):
        self.what = what

    def fail(self, msg):
        raise EqpropError(f"{self.what}: {msg}")

    def grown(self, kind, digits):
        self.fail(f"the numbers in this {kind} would need about {digits:,} digits; an exact "
                  f"number may have at most {MAX_DIGITS:,}")

    def checked(self, e):
        if e.is_Rational and _rdigits(e) > MAX_DIGITS:
            self.grown("expression", _rdigits(e))
        return e

    def add(self, terms):
        """``terms[0] + terms[1] + ...``: the same as adding them one by one, in linear time."""
        if len(terms) == 1:
            return terms[0]
        # like terms' coefficients add up: bound the digits of each sum first
        groups = {}
        for t in terms:
            for u in (t.args if t.is_Add else (t,)):
                c, rest = u.as_coeff_Mul()
                if not c.is_Rational:
                    continue
                g = groups.get(rest)
                if g is None:
                    g = groups[rest] = [set(), 0, 0]
                q = int(c.q)
                if q not in g[0]:
                    g[0].add(q)
                    g[1] += _digits(q)
                g[2] = max(g[2], _digits(c.p))
                bound = g[1] + g[2] + _digits(len(terms))
                if bound > MAX_DIGITS:
                    self.grown("sum", bound)
        return self.checked(sp.Add(*terms))

    def mul(self, first, rest):
        """``first`` times (or divided by, where the flag says so) each of ``rest``, left to right."""
        if len(rest) <= _PAIRWISE:
            acc = first
            for div, f in rest:
                bound = _coeff_digits(acc) + _coeff_digits(f)
                if bound > MAX_DIGITS:
                    self.grown("product", bound)
                acc = self.checked(acc / f if div else acc * f)
            return acc
        factors = [first] + [sp.Pow(f, -1) if div else f for div, f in rest]
        bound = sum(_coeff_digits(f) for f in factors)
        if bound > MAX_DIGITS:
            self.grown("product", bound)
        return self.checked(sp.Mul(*factors))

    def power(self, base, exp):
        if exp.is_Rational and abs(exp) > MAX_EXPONENT:
            self.fail(f"exponent {shorten(exp, 40)} is too large (at most {MAX_EXPONENT}); "
                      "a formula must stay small enough to differentiate")
        if exp.is_Rational:
            size = _pow_digits(base) * abs(exp)
            if size > MAX_DIGITS:
                self.fail(f"a power would need about {int(size):,} digits; an exact number may "
                          f"have at most {MAX_DIGITS:,} (the base and the exponent are both "
                          "bounded before the power is computed)")
        return self.checked(base ** exp)

    def call(self, name, args):
        if name not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            self.fail(f"unknown function '{name}'; allowed: {known}")
        try:
            return self.checked(FUNCTIONS[name](*args))
        except TypeError:
            self.fail(f"wrong number of arguments to {name}(): got {len(args)}")

    def name(self, ident, symbols):
        if ident in symbols:
            return symbols[ident]
        if ident in _CONSTANTS:
            return _CONSTANTS[ident]
        if ident in FUNCTIONS:
            self.fail(f"'{ident}' is a function; call it, e.g. {ident}(s)")
        declared = ", ".join(sorted(symbols)) or "none"
        self.fail(f"undeclared symbol '{ident}'; declare it in state, params or data "
                  f"(declared: {_cut(declared, 200)})")


def _depth_message(depth):
    return (f"the formula is nested {depth}+ levels deep; at most {MAX_DEPTH} levels of "
            "parentheses, function calls, powers and signs are allowed")


def _calls_message():
    return (f"function calls are nested more than {MAX_CALL_DEPTH} deep, as in tanh(tanh(...)); "
            f"at most {MAX_CALL_DEPTH} are allowed (SymPy's work grows exponentially with the depth)")


class _Parser(_Arith):
    """Parses one normalised formula: small ones with ast.parse whole, long ones in pieces."""

    def __init__(self, text, symbols, what):
        super().__init__(what)
        self.text, self.symbols = text, symbols

    def run(self):
        toks, nodes, level, deepest = [], 0, 0, 0
        odd = None  # the first token outside the arithmetic grammar
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for tok in _tokens(self.text):
                    toks.append(tok)
                    nodes += tok[0] in (_NAME, _NUMBER_T) or (tok[0] == _OP and tok[1] not in "()[]{},")
                    if nodes > MAX_NODES:
                        self.fail(f"the formula has more than {MAX_NODES:,} numbers, names and "
                                  f"operators; at most {MAX_NODES:,} are allowed")
        except (tokenize.TokenError, SyntaxError, ValueError) as exc:
            if isinstance(exc, EqpropError):
                raise
            return self.leaf(self.text, 0, 0)  # unbalanced brackets and the like: Python says where
        for tok in toks:
            kind, s = tok[0], tok[1]
            if kind == _NAME or kind == _NUMBER_T:
                if kind == _NUMBER_T:
                    self.check_literal(s)
                elif keyword.iskeyword(s) and odd is None:
                    odd = tok
            elif kind == _OP:
                if s in "([{":
                    level += 1
                    deepest = max(deepest, level)
                elif s in ")]}":
                    level -= 1
                if s not in _SIMPLE_OPS and odd is None:
                    odd = tok
            elif odd is None:
                odd = tok
        if deepest > MAX_DEPTH:
            self.fail(f"the formula nests {deepest} levels of brackets; at most {MAX_DEPTH} "
                      "are allowed")
        if len(toks) <= _SMALL:
            return self.leaf(self.text, 0, 0)
        if odd is not None:
            what = "a string" if odd[0] == "STRING" else repr(_cut(odd[1], 20))
            self.fail(f"{what} at column {odd[2] + 1} is not allowed in a formula; only numbers, "
                      "declared symbols, + - * / ** and whitelisted functions")
        self.toks, self.match = toks, self.brackets(toks)
        if self.match is None:  # let Python's parser say where
            return self.leaf(self.text, 0, 0)
        return self.span(0, len(toks), 0, 0)

    def check_literal(self, s):
        """A decimal literal within the limits, checked before Python's parser builds it."""
        if s[-1] in "jJ" or s[:2].lower() in ("0x", "0o", "0b"):
            return  # judged by the walker
        exact_number(s, what=self.what)

    @staticmethod
    def brackets(toks):
        """Index of each '(' -> its ')'; None when they do not balance."""
        match, stack = {}, []
        for i, tok in enumerate(toks):
            if tok[0] == _OP and tok[1] == "(":
                stack.append(i)
            elif tok[0] == _OP and tok[1] == ")":
                if not stack:
                    return None
                match[stack.pop()] = i
        return None if stack else match

    # -- one piece through Python's parser
    def leaf(self, src, depth, column, calls=0):
        try:
            with warnings.catch_warnings():  # "invalid decimal literal" and such: not a second line
                warnings.simplefilter("ignore")
                tree = ast.parse(src, mode="eval")
        except SyntaxError as exc:
            col = f" at column {exc.offset + column}" if exc.offset else ""
            self.fail(f"malformed formula {shorten(src, 120)}{col}: {exc.msg}; "
                      "write it in Python syntax, e.g. 'x**2/2 - w*tanh(x)'")
        except (RecursionError, MemoryError):
            self.fail(_depth_message(MAX_DEPTH))
        self.check_tree(tree.body, depth, calls)
        return _Walker(src, self.symbols, self).visit(tree.body)

    def check_tree(self, root, depth, calls):
        """Depth of the tree (a chain of + - or * / counts once), iteratively, before walking it."""
        stack = [(root, depth + 1, calls)]
        while stack:
            node, d, c = stack.pop()
            if d > MAX_DEPTH:
                self.fail(_depth_message(d))
            if isinstance(node, ast.BinOp):
                fam = _FAMILY.get(type(node.op))
                left = node.left
                same = fam and isinstance(left, ast.BinOp) and _FAMILY.get(type(left.op)) == fam
                stack.append((left, d if same else d + 1, c))
                stack.append((node.right, d + 1, c))
                continue
            if isinstance(node, ast.Call):
                c += 1
                if c > MAX_CALL_DEPTH:
                    self.fail(_calls_message())
            stack.extend((ch, d + 1, c) for ch in ast.iter_child_nodes(node) if isinstance(ch, ast.expr))

    # -- a long formula, cut at its operators
    def malformed(self, i):
        col = self.toks[min(i, len(self.toks) - 1)][2] if self.toks else 0
        near = self.text[max(0, col - 20):col + 20]
        self.fail(f"malformed formula near column {col + 1} ({near!r}); write it in Python syntax, "
                  "e.g. 'x**2/2 - w*tanh(x)'")

    def span(self, lo, hi, depth, calls=0):
        """The expression of tokens ``lo:hi`` (an arithmetic expression, brackets balanced)."""
        toks, match = self.toks, self.match
        while lo < hi and toks[lo][1] == "(" and match.get(lo) == hi - 1:
            lo, hi = lo + 1, hi - 1  # redundant brackets
        if lo >= hi:
            self.malformed(lo)
        if hi - lo <= _SMALL:
            return self.leaf(self.text[toks[lo][2]:toks[hi - 1][3]], depth, toks[lo][2], calls)
        if depth >= MAX_DEPTH:
            self.fail(_depth_message(depth + 1))
        adds, muls, power, operand = [], [], None, False
        i = lo
        while i < hi:
            kind, s = toks[i][0], toks[i][1]
            if s == "(":
                i, operand = match[i] + 1, True
                continue
            if kind == _OP:
                if s == ",":
                    self.fail(f"a comma outside a function call (column {toks[i][2] + 1}) is not "
                              "allowed; a formula is one scalar expression")
                if s in ("+", "-") and operand:
                    adds.append(i)
                elif s in ("*", "/"):
                    muls.append(i)
                elif s == "**" and power is None:
                    power = i
                operand = False
            else:
                operand = True
            i += 1
        if adds:
            cuts = [lo - 1] + adds + [hi]
            terms = []
            for a, b in zip(cuts, cuts[1:]):
                term = self.span(a + 1, b, depth + 1, calls)
                terms.append(-term if a >= lo and toks[a][1] == "-" else term)
            return self.add(terms)
        if muls:
            cuts = [lo - 1] + muls + [hi]
            first = self.span(lo, cuts[1], depth + 1, calls)
            rest = [(toks[a][1] == "/", self.span(a + 1, b, depth + 1, calls))
                    for a, b in zip(cuts[1:], cuts[2:])]
            return self.mul(first, rest)
        if toks[lo][0] == _OP and toks[lo][1] in ("+", "-"):
            negative = False
            while lo < hi and toks[lo][0] == _OP and toks[lo][1] in ("+", "-"):
                negative ^= toks[lo][1] == "-"
                lo, depth = lo + 1, depth + 1
                if depth > MAX_DEPTH:
                    self.fail(_depth_message(depth))
            operand = self.span(lo, hi, depth, calls)
            return -operand if negative else operand
        if power is not None:
            return self.power(self.span(lo, power, depth + 1, calls),
                              self.span(power + 1, hi, depth + 1, calls))
        if toks[lo][0] == _NAME and toks[lo + 1][1] == "(" and match.get(lo + 1) == hi - 1:
            args, start = [], lo + 2
            i = start
            while i < hi - 1:
                if toks[i][1] == "(":
                    i = match[i] + 1
                    continue
                if toks[i][1] == ",":
                    args.append((start, i))
                    start = i + 1
                i += 1
            if start < hi - 1 or args:
                args.append((start, hi - 1))
            if args and args[-1][0] == args[-1][1] and len(args) > 1:
                args.pop()  # a trailing comma, as Python allows
            name = toks[lo][1]
            if name not in FUNCTIONS:
                self.call(name, [])
            if calls + 1 > MAX_CALL_DEPTH:
                self.fail(_calls_message())
            return self.call(name, [self.span(a, b, depth + 1, calls + 1) for a, b in args])
        self.malformed(lo + 1)


class _Walker:
    """Turns one checked syntax tree into SymPy, refusing anything off the whitelist."""

    def __init__(self, source, symbols, arith):
        self.source = source.encode("utf-8")  # ast columns count UTF-8 bytes
        self.symbols, self.arith, self.what = symbols, arith, arith.what

    def fail(self, msg):
        raise EqpropError(f"{self.what}: {msg}")

    def chain(self, node, family):
        """The operands of ``a op b op c ...`` (one family, left to right), without recursing."""
        items = []
        while isinstance(node, ast.BinOp) and _FAMILY.get(type(node.op)) == family:
            items.append((type(node.op), node.right))
            node = node.left
        first = self.visit(node)
        return first, [(op, self.visit(right)) for op, right in reversed(items)]

    def visit(self, node):
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                hint = " (use ** for powers)" if isinstance(node.op, ast.BitXor) else ""
                self.fail(f"operator {type(node.op).__name__} is not allowed{hint}; "
                          "use + - * / **")
            family = _FAMILY.get(type(node.op))
            if family == "add":
                first, rest = self.chain(node, "add")
                return self.arith.add([first] + [-t if op is ast.Sub else t for op, t in rest])
            if family == "mul":
                first, rest = self.chain(node, "mul")
                return self.arith.mul(first, [(op is ast.Div, f) for op, f in rest])
            return self.arith.power(self.visit(node.left), self.visit(node.right))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.visit(node.operand)
            if isinstance(node.op, ast.UAdd):
                return self.visit(node.operand)
            self.fail(f"unary operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                self.fail(f"only numbers may appear as literals, got {shorten(node.value, 40)}")
            segment = self.source[node.col_offset:node.end_col_offset].decode("utf-8")
            return exact_number(segment or repr(node.value), what=self.what)
        if isinstance(node, ast.Name):
            return self.arith.name(node.id, self.symbols)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                self.fail("only plain function calls like tanh(s) are allowed, "
                          "not attribute access or computed functions")
            name = node.func.id
            if name not in FUNCTIONS:
                self.arith.call(name, [])
            if node.keywords:
                self.fail(f"keyword arguments are not allowed in {name}(...)")
            return self.arith.call(name, [self.visit(a) for a in node.args])
        kind = {ast.Attribute: "attribute access", ast.Lambda: "lambda",
                ast.Subscript: "subscripting", ast.Compare: "comparison",
                ast.BoolOp: "boolean operator", ast.IfExp: "conditional expression"}
        self.fail(f"{kind.get(type(node), type(node).__name__)} is not allowed in a formula; "
                  "only numbers, declared symbols, + - * / ** and whitelisted functions")
