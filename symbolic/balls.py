"""Evaluate a SymPy expression over balls (Arb interval arithmetic, python-flint).

``ball_value(expr, env)`` returns an ``arb`` that is guaranteed to contain
``expr`` at every point of the box ``env`` (``{Symbol: arb}``): each
operation widens its result to cover all of its arguments' values, so the
enclosure is rigorous, if sometimes wide (a variable that occurs twice is
treated as two independent ones). It is what turns "the argument of log
stays positive near s0" from an estimate into a proof: see
:func:`eqprop.symbolic.domain.edge_distance`.

Only what the formula parser accepts is evaluated (its smooth functions,
sums, products, powers, numbers, pi and E); anything else raises
:class:`Unsupported` and the caller falls back to an estimate.
"""

from __future__ import annotations

import flint
import sympy as sp

from .precision import arb_bits

__all__ = ["ball_value", "point", "Unsupported", "PRECISION_BITS"]

#: Default working precision of the balls' midpoints.
PRECISION_BITS = 256

_UNARY = {
    sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos", sp.tan: "tan",
    sp.sinh: "sinh", sp.cosh: "cosh", sp.tanh: "tanh", sp.asin: "asin", sp.acos: "acos",
    sp.atan: "atan", sp.asinh: "asinh", sp.acosh: "acosh", sp.atanh: "atanh", sp.erf: "erf",
}


class Unsupported(ValueError):
    """The expression uses something the ball evaluator does not cover."""


def ball_value(expr, env, *, bits=PRECISION_BITS):
    """An ``arb`` enclosing ``expr`` over the box ``env`` (``{Symbol: arb}``), computed with
    ``bits`` of midpoint precision; NaN (or an infinite radius) where a function's argument
    may leave its domain."""
    with arb_bits(bits):
        return _value(expr, env, {})


def point(value, radius=0, *, digits=40):
    """The ball ``value +- radius`` (each an exact SymPy Rational, a SymPy Float, an mpmath
    number or a decimal string); rationals are exact up to the current precision."""
    mid = _number(value, digits)
    return mid if not radius else mid + flint.arb(0, 1) * abs(_number(radius, digits))


def _number(value, digits):
    if isinstance(value, sp.Rational):
        return flint.arb(int(value.p)) / int(value.q)
    return flint.arb(str(sp.Float(str(value), digits)))


def _point_power(x, k):
    """``x^k`` for a thin ball and ``k >= 0`` by repeated squaring (Arb's power of a ball
    with a non-positive point is NaN: it goes through the logarithm)."""
    out, square = flint.arb(1), x
    while k:
        if k & 1:
            out = out * square
        square, k = square * square, k >> 1
    return out


def _integer_power(x, k):
    """The range of ``t^k`` over the ball ``x`` (even k: from its distance to 0; odd k:
    monotone, from its endpoints), so that a ball around 0 keeps its sign information."""
    if k == 0:
        return flint.arb(1)
    if k % 2 == 0:
        return _point_power(x.abs_lower(), k).union(_point_power(x.abs_upper(), k))
    return _point_power(x.lower(), k).union(_point_power(x.upper(), k))


def _value(e, env, memo):
    if e in memo:
        return memo[e]
    if e.is_Symbol:
        if e not in env:
            raise Unsupported(f"no value for {e}")
        out = env[e]
    elif e.is_Integer:
        out = flint.arb(int(e))
    elif e.is_Rational:
        out = flint.arb(int(e.p)) / int(e.q)
    elif e.is_Float:
        out = flint.arb(sp.Float(e, 80).__str__())  # a decimal string: exact enough at 256 bits
    elif e is sp.pi:
        out = flint.arb.pi()
    elif e is sp.E:
        out = flint.arb.const_e()
    elif e.is_Add:
        out = flint.arb(0)
        for a in e.args:
            out = out + _value(a, env, memo)
    elif e.is_Mul:
        out = flint.arb(1)
        for a in e.args:
            out = out * _value(a, env, memo)
    elif e.is_Pow:
        base = _value(e.base, env, memo)
        if e.exp.is_Integer:
            k = int(e.exp)
            out = _integer_power(base, abs(k))
            if k < 0:
                out = 1 / out
        else:
            out = base ** _value(e.exp, env, memo)
    elif isinstance(e, sp.atanh):  # Arb's atanh of a ball around 0 is NaN; this is not
        x = _value(e.args[0], env, memo)
        out = ((x.log1p()) - (-x).log1p()) / 2
    elif type(e) in _UNARY:
        out = getattr(_value(e.args[0], env, memo), _UNARY[type(e)])()
    else:
        raise Unsupported(f"{type(e).__name__} is not evaluated over balls")
    memo[e] = out
    return out
