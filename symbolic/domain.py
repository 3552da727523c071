"""Where a formula leaves the real numbers: the domain hypotheses of a model.

The theorems are about real-valued E and C. A function evaluated outside
its real domain at the fixed point (log of a negative number, sqrt of one,
atanh of 1.2) makes the computation complex or infinite; that is a violated
assumption, and the report must say which function and which value. This
module finds them by evaluating, at given numbers, the argument of every
function with a restricted real domain (and every power whose base must be
positive or non-zero), without evaluating anything else.
"""

from __future__ import annotations

import functools

import flint
import sympy as sp

from .precision import arb_bits

from .balls import Unsupported, ball_value, point

__all__ = ["domain_violations", "edge_distance", "complex_point"]


def _rules():
    """(SymPy class, test of the argument, what the function needs)."""
    return [
        (sp.log, lambda a: a > 0, "a positive argument"),
        (sp.asin, lambda a: -1 <= a <= 1, "an argument in [-1, 1]"),
        (sp.acos, lambda a: -1 <= a <= 1, "an argument in [-1, 1]"),
        (sp.atanh, lambda a: -1 < a < 1, "an argument in (-1, 1)"),
        (sp.acosh, lambda a: a >= 1, "an argument >= 1"),
        (sp.tan, lambda a: abs(sp.cos(a)) > 0, "an argument that is not an odd multiple of pi/2"),
    ]


def _power_ok(pair):
    """A power whose exponent depends on a parameter: E_theta holds base**e log(base), real only
    for a positive base, whatever the exponent's value."""
    return pair[0] > 0


def _data_power_ok(pair):
    """A power whose exponent is given by the data (a fixed number): an integer exponent takes
    any base (a non-zero one if negative: a**k with k = 2 is a**2); another needs base > 0.
    The values are Floats of the working digits: 2.000 is not int 2 to SymPy's ==."""
    base, exp = pair
    if _integer_valued(exp):
        return exp >= 0 or base != 0
    return base > 0


def _integer_valued(e):
    """Whether the real number ``e`` is an integer: exactly for a Rational (data are exact:
    2 + 1e-38 is not 2), else to the digits of its Float."""
    if e.is_Rational:
        return bool(e.is_integer)
    return e.is_real and float(e).is_integer() and abs(e - round(float(e))) == 0


def _shown_exponent(e):
    """An exponent for a message: 6 digits, or as many as tell it from the nearest integer."""
    if not _integer_valued(e) and e.is_real and float(e).is_integer():
        return sp.N(e, 60)
    return sp.N(e, 6)


def _exponent(e, subs, digits):
    """An exponent's value: exact where the values make it a Rational (data and parameters are
    exact), else a Float of ``digits``."""
    v = e.xreplace(subs)
    return v if v.is_Rational else sp.N(v, digits)


def _restricted(expr, fixed=frozenset()):
    """The sub-expressions whose real value needs a condition, with the condition.

    ``fixed``: the data symbols (fixed numbers). A fractional power of a constant may be 0
    (sqrt(z) with data z = 0 is 0: real, and no derivative is taken of it)."""
    rules = _rules()
    for node in sp.preorder_traversal(expr):
        for cls, test, need in rules:
            if isinstance(node, cls):
                yield node, node.args[0], test, need
        if isinstance(node, sp.Pow) and not (node.exp.is_Integer and node.exp >= 0):
            if not node.exp.is_number and node.exp.free_symbols <= fixed:
                yield node, (node.base, node.exp), _data_power_ok, \
                    "a positive base, or an integer exponent"
            elif not node.exp.is_number:  # an exponent given by a parameter
                yield node, (node.base, node.exp), _power_ok, \
                    "a positive base: its exponent depends on a parameter"
            elif node.exp.is_Integer:
                yield node, node.base, (lambda a: a != 0), "a non-zero base"
            elif node.base.free_symbols <= fixed and node.exp > 0:
                yield node, node.base, (lambda a: a >= 0), "a base >= 0"
            else:
                yield node, node.base, (lambda a: a > 0), "a positive base"


def _provably_inside(node, arg):
    """True when SymPy proves, from the symbols' realness, that the condition always holds
    (1 + exp(-x) in a sigmoid is never zero: no need to evaluate it at every point)."""
    if isinstance(arg, tuple):
        return arg[0].is_positive is True
    if isinstance(node, sp.Pow) and node.exp.is_Integer:
        return arg.is_zero is False
    if isinstance(node, (sp.Pow, sp.log)):
        return arg.is_positive is True
    return False


@functools.lru_cache(maxsize=16)
def _nodes(expressions, fixed=frozenset()):
    """Each restricted sub-expression once, with its argument, test and need, and the free
    symbols of the argument; those SymPy proves always inside their domain are left out."""
    out, seen = [], set()
    for expr in expressions:
        for node, arg, test, need in _restricted(expr, fixed):
            if node in seen:
                continue
            seen.add(node)
            if _provably_inside(node, arg):
                continue
            base = arg[0] if isinstance(arg, tuple) else arg
            out.append((node, arg, test, need, base.free_symbols))
    return tuple(out)


def domain_violations(expressions, values, *, digits=30, fixed=frozenset()):
    """Functions evaluated outside their real domain at ``values``.

    ``expressions``: SymPy expressions; ``values``: ``{Symbol: number}``
    (exact Rationals, or strings/mpf that SymPy reads). Returns a list of
    one-line messages such as ``"log(a - x): argument -0.3 at the fixed point
    (log needs a positive argument)"``; an argument that cannot be evaluated
    to a real number is reported too.
    """
    subs = {k: sp.Float(str(v), digits + 5) if not isinstance(v, sp.Basic) else v
            for k, v in values.items()}
    found = []
    for node, arg, test, need, _free in _nodes(tuple(expressions), frozenset(fixed)):
        try:
            if isinstance(arg, tuple):
                val = (sp.N(arg[0].xreplace(subs), digits), _exponent(arg[1], subs, digits))
                if any(v.free_symbols or not v.is_real for v in val):
                    continue
                if not test(val):
                    found.append(f"{node}: base {sp.N(val[0], 6)}, exponent {_shown_exponent(val[1])} "
                                 f"(power needs {need})")
                continue
            val = sp.N(arg.xreplace(subs), digits)
        except (TypeError, ValueError, ArithmeticError):  # pragma: no cover - defensive
            continue
        name = type(node).__name__ if not isinstance(node, sp.Pow) else "power"
        if val.free_symbols:
            continue
        if not val.is_real or val.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            shown = sp.N(val, 6) if val.is_finite else val
            found.append(f"{node}: argument {shown} is not a finite real number ({name} needs {need})")
            continue
        if not test(val):
            found.append(f"{node}: argument {sp.N(val, 6)} ({name} needs {need})")
    return found


def complex_point(values, digits=20):
    """``{symbol: (re, im)}`` as SymPy complex numbers of ``digits`` significant digits each,
    for :func:`domain_violations` at a complex point (Newton's complex fixed point: which
    functions' arguments it makes complex). ``re`` and ``im`` are numbers or decimal text."""
    return {sym: sp.Float(str(re), digits) + sp.I * sp.Float(str(im), digits)
            for sym, (re, im) in values.items()}


def _margin(node, arg):
    """How far the real value ``arg`` of ``node``'s argument is from the edge of its domain."""
    if isinstance(node, (sp.asin, sp.acos, sp.atanh)):
        return 1 - abs(arg)
    if isinstance(node, sp.acosh):
        return arg - 1
    if isinstance(node, sp.tan):  # distance to the nearest odd multiple of pi/2
        k = sp.floor(arg / sp.pi - sp.Rational(1, 2))
        return min(abs(arg - (k + sp.Rational(1, 2)) * sp.pi), abs(arg - (k + sp.Rational(3, 2)) * sp.pi))
    return abs(arg)  # log, fractional powers: a positive argument; negative powers: non-zero


def _inside(node, g):
    """Whether the ball ``g`` (the argument's values over a box) lies inside ``node``'s
    domain for certain (Arb comparisons are True only when they hold on the whole ball)."""
    if not g.is_finite():
        return False
    if isinstance(node, (sp.asin, sp.acos, sp.atanh)):
        return bool(g > -1) and bool(g < 1)
    if isinstance(node, sp.acosh):
        return bool(g > 1)
    if isinstance(node, sp.tan):
        c = g.cos()
        return c.is_finite() and (bool(c > 0) or bool(c < 0))
    if isinstance(node, sp.Pow) and node.exp.is_Integer:  # a negative power: non-zero base
        return bool(g > 0) or bool(g < 0)
    return bool(g > 0)  # log, fractional and symbolic powers: a positive argument


def _certified(node, arg, subs, moving, r, digits):
    """True if ``arg`` stays inside ``node``'s domain for every state within ``r`` (max norm)
    of the point ``subs``: Arb ball arithmetic over that box (:mod:`.balls`); None if the
    balls do not cover a function of ``arg``."""
    top = max([abs(subs[s]) for s in moving] + [sp.Float(1)])
    bits = 64 + int(3.33 * (digits + max(0.0, float(sp.log(top / r, 10)))))
    with arb_bits(bits):
        env = {sym: point(value, r if sym in moving else 0, digits=digits + 5)
               for sym, value in subs.items()}
    try:
        return _inside(node, ball_value(arg, env, bits=bits))
    except Unsupported:
        return None
    except (ValueError, ZeroDivisionError, ArithmeticError):
        return False


#: Halvings of the edge distance before no neighbourhood of the point counts as proved.
HALVINGS = 200


def edge_distance(expressions, values, state, *, digits=30, fixed=frozenset()):
    """How far the state may move from ``values`` before a function leaves its domain.

    For every function with a restricted real domain (:func:`domain_violations`'
    list) whose argument ``g`` depends on the ``state`` symbols: start from
    the first-order distance, the margin of ``g(values)`` to the edge of the
    function's domain over ``|grad_s g|`` (or the margin itself where the
    gradient vanishes), and halve it until Arb's ball arithmetic proves that
    ``g`` stays inside the domain on the whole box of that half-width (max
    norm) around ``values``: a certified lower bound on the Euclidean
    distance to the edge. The start is at most 1000 times the state's size;
    where no box down to 2^-200 of it is proved inside, the distance is 0;
    where the balls do not cover a function of ``g``, the first-order
    estimate is used (and ignored where the gradient vanishes).
    Returns ``(distance, description)`` of the nearest such edge, or
    ``(None, None)`` when no argument depends on the state. Finite steps in
    state space (the real betas of EP, the random points of the KBE row)
    must stay well inside it: near an edge the derivatives of E grow without
    bound.
    """
    subs = {k: sp.Float(str(v), digits + 5) if not isinstance(v, sp.Basic) else v
            for k, v in values.items()}
    state = list(state)
    best, where = None, None
    for node, arg, _test, need, free in _nodes(tuple(expressions), frozenset(fixed)):
        if isinstance(arg, tuple) and _test is _data_power_ok:  # an exponent fixed by the data
            e = _exponent(arg[1], subs, digits)
            if _integer_valued(e):  # an integer power: no edge, or base != 0
                if e >= 0:
                    continue
                node = sp.Pow(arg[0], sp.Integer(round(float(e))), evaluate=False)
        if isinstance(arg, tuple):  # a power with a symbolic exponent: its base decides
            arg = arg[0]
        moving = [s for s in state if s in free]
        if not moving:
            continue
        try:
            val = sp.N(arg.xreplace(subs), digits)
            grad = [sp.N(arg.diff(s).xreplace(subs), digits) for s in moving]
            if not val.is_real or not all(g.is_real for g in grad):
                continue
            norm = sp.sqrt(sum(g ** 2 for g in grad))
            margin = sp.N(_margin(node, val), digits)
        except (TypeError, ValueError, ArithmeticError):  # pragma: no cover - defensive
            continue
        if not (margin.is_real and margin > 0):
            continue
        estimate = sp.N(margin / norm, digits) if norm != 0 else None
        top = max([abs(subs[x]) for x in moving] + [sp.Integer(1)])
        dist = min(estimate if estimate is not None else margin, 1000 * top)
        for _ in range(HALVINGS):
            proved = _certified(node, arg, subs, moving, dist, digits)
            if proved:
                break
            if proved is None:  # a function the balls do not cover: the estimate it is
                dist = estimate
                break
            dist = dist / 2
        else:  # no neighbourhood proved: as good as on the edge
            dist = sp.Integer(0)
        if dist is not None and dist.is_real and dist >= 0 and (best is None or dist < best):
            best, where = dist, f"{node} (needs {need})"
    return best, where
