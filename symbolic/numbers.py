"""Exact numbers and printable text: how eqprop reads a number and shows a string.

- :func:`exact_number` reads ints, decimal or fraction strings, floats (by
  their shortest repr), SymPy numbers and mpmath ``mpf`` as exact SymPy
  Rationals, refusing NaN, infinities and anything beyond
  10**+-:data:`MAX_MAGNITUDE` or :data:`MAX_DIGITS` digits;
- :func:`check_printable`, :func:`escape_controls`, :func:`shorten`: text from
  a model file is refused or escaped before it can reach a terminal.

Used by the parser (:mod:`eqprop.symbolic.parse`), models and model files.
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal
from fractions import Fraction

import sympy as sp

from eqprop.errors import EqpropError

__all__ = ["exact_number", "check_printable", "escape_controls", "shorten", "nonzero_text",
           "DECIMAL", "DECIMAL_OR_NONFINITE", "MAX_MAGNITUDE", "MAX_DIGITS"]

#: Numbers (literals and values) lie within 10**-MAX_MAGNITUDE .. 10**MAX_MAGNITUDE.
MAX_MAGNITUDE = 1000
#: Most decimal digits of any exact number's numerator or denominator. Below
#: Python's 4,300-digit limit on int <-> str conversion, so every number can
#: still be printed, saved in a report and compiled.
MAX_DIGITS = 4000
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


#: Letters and marks that print as nothing (default-ignorable, though Python takes them in
#: names): 'w\u3164' (HANGUL FILLER) and 'w\ufe0f' (a variation selector) print as 'w'.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0"
                       + "".join(map(chr, range(0x180B, 0x1810)))
                       + "".join(map(chr, range(0xFE00, 0xFE10)))
                       + "".join(map(chr, range(0xE0100, 0xE01F0))))


def _unprintable(c, allow_space):
    if c in _INVISIBLE:
        return True
    category = unicodedata.category(c)
    if allow_space and c.isspace() and category not in ("Zl", "Zp"):  # U+2028 is no space
        return False
    return category in ("Cc", "Cf", "Cs", "Zl", "Zp")


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
    if abs(order) >= MAX_MAGNITUDE - 1:  # near a bound the logarithms may round: compare exactly
        big = 10 ** MAX_MAGNITUDE
        if abs(p) > q * big or abs(p) * big < q:
            raise _out_of_range(what, shown)
    if d > MAX_DIGITS:
        raise _too_many_digits(what, shown, d)
    return num


def nonzero_text(text):
    """Whether decimal ``text`` ('1e-400', '0.00', '1/10**400' style 'p/q') names a number other
    than 0, read from its digits: float() turns 1e-400 into 0 silently, and a caller that gets
    0.0 from non-zero text refuses it."""
    head = str(text).split("/")[0].lower().split("e")[0]
    return any(c in "123456789" for c in head)


# -- exact numbers -----------------------------------------------------------

#: A decimal number as eqprop reads one from text, everywhere (formulas, model files, the
#: command line, a [verify] table, a saved report): an optional sign, ASCII digits with an
#: optional point (or a point and digits), an optional exponent. A regular expression to build
#: on, with no groups and no surrounding space: float() alone would also take '1_0', fullwidth
#: and Arabic-Indic digits, and read them silently.
DECIMAL = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
#: :data:`DECIMAL`, or nan, inf or infinity with an optional sign; compile it with
#: ``re.IGNORECASE | re.ASCII``. For readers of floats that take these and then refuse them as
#: not finite, with a message of their own.
DECIMAL_OR_NONFINITE = rf"(?:{DECIMAL}|[+-]?(?:nan|inf|infinity))"
_DECIMAL = re.compile(DECIMAL, re.ASCII)


def _decimal(text, what, shown):
    """An exact Rational from decimal text (``-1.5e3``), bounded before it is built."""
    if not _DECIMAL.fullmatch(text):
        raise ValueError(text)
    sign = text[0] if text[0] in "+-" else ""
    mantissa, _, ep = text.lstrip("+-").lower().partition("e")
    ip, _, fp = mantissa.partition(".")
    ep = ep or "0"
    digits = (ip + fp).lstrip("0")
    if not digits:
        return sp.Integer(0)
    if len(ep.lstrip("+-").lstrip("0")) > 9:  # an exponent beyond 1e9: far out of range
        raise _out_of_range(what, shown)
    scale = int(ep) - len(fp)
    order = len(digits) - 1 + scale
    if abs(order) > MAX_MAGNITUDE or (order == MAX_MAGNITUDE and digits.rstrip("0") != "1"):
        raise _out_of_range(what, shown)  # 1.0000001e1000 is beyond 1e+1000
    size = max(len(digits) + max(scale, 0), -scale)
    if size > MAX_DIGITS:
        raise _too_many_digits(what, shown, size)
    n = -int(digits) if sign == "-" else int(digits)
    return sp.Integer(n * 10 ** scale) if scale >= 0 else sp.Rational(n, 10 ** -scale)


def _from_text(value, what, shown):
    text = value.strip()
    if "_" in text:  # Python reads 1_0 as 10; the CLI and the [verify] table refuse it
        raise EqpropError(f"{what}: {shown} has '_' inside a number; write the digits without "
                          "separators (10, not 1_0)")
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
    shown = _Shown(value)  # the repr of a SymPy number is slow: made only for a message
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


class _Shown:
    """``shorten(value)``, computed when a message is formatted, not before."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __str__(self):
        if isinstance(self.value, Decimal):  # a TOML float: its text, not Decimal('...')
            return shorten(str(self.value))
        return shorten(self.value)

    def __format__(self, spec):
        return format(str(self), spec)


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
