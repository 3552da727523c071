"""Exact arithmetic on formulas, every number sized before it is computed.

The readers of scalar formulas (:mod:`.walker`) and of array formulas
(:mod:`.arrays.parse`) build their SymPy results through :class:`Arith`:
sums, products and powers whose exact numbers would need more than
:data:`~.numbers.MAX_DIGITS` digits are refused from an estimate, before
SymPy spends the time to build them, and names and calls are checked
against the declared symbols and :data:`~.grammar.FUNCTIONS`.
"""

from __future__ import annotations

import sympy as sp

from eqprop.errors import EqpropError

from .confusables import check_name
from .grammar import CONSTANTS, FUNCTIONS, MAX_EXPONENT, PAIRWISE
from .numbers import MAX_DIGITS, _cut, _digits, _rdigits, shorten


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


class Arith:
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
        if len(rest) <= PAIRWISE:
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
            check_name(name, self.what)  # 'tаnh' with a Cyrillic 'а' says so
            known = ", ".join(sorted(FUNCTIONS))
            self.fail(f"unknown function '{name}'; allowed: {known}")
        try:
            return self.checked(FUNCTIONS[name](*args))
        except TypeError:
            self.fail(f"wrong number of arguments to {name}(): got {len(args)}")

    def name(self, ident, symbols):
        if ident in symbols:
            return symbols[ident]
        if ident in CONSTANTS:
            return CONSTANTS[ident]
        if ident in FUNCTIONS:
            self.fail(f"'{ident}' is a function; call it, e.g. {ident}(s)")
        check_name(ident, self.what)  # a lookalike of a declared name says so
        declared = ", ".join(sorted(symbols)) or "none"
        self.fail(f"undeclared symbol '{ident}'; declare it in state, params or data "
                  f"(declared: {_cut(declared, 200)})")
