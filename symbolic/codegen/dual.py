"""Elementary functions that are exact at complex-step arguments: the shared table.

A complex step reads a derivative off a tiny imaginary part,
f(a + i b) = f(a) + i b f'(a) + O(b^2), and is exact only where every
operation returns that imaginary part to full *relative* precision. mpmath's
complex asin, acos, atan and erf do not: at 60 digits with |b| = 1e-70 |a|
they return no correct digit of it (they lose about log10|a/b| digits; tan
near a pole and asinh near 0 lose some too), and gmpy2 has no complex erf.
Such a function evaluates an argument whose |b| is far below the scale d(a)
on which f varies near a as that dual number, in real arithmetic: the
dropped terms are (b/d)^2 relative, below the working precision when
|b| <= 2^-(prec/2 + 4) d(a). Larger imaginary parts take the library's
complex function (mpmath's with extra precision for what it loses). numpy's
complex functions keep the imaginary part (measured from 1e-20 to 1e-300
relative) and are used as they are; its erf is SciPy's.

This module holds what the mpmath (:mod:`.mp`) and gmpy2 (:mod:`.gmpy`)
replacements share: each function's derivative and its distance to the
nearest singularity.
"""

from __future__ import annotations


def _inside_unit(L, a):  # branch points at -1 and 1
    return 1 - abs(a)


def _asin_d(L, a, fa):
    return 1 / L.sqrt((1 - a) * (1 + a))


#: name -> (f'(a) from a and fa = f(a), written to keep full relative precision;
#: the distance d(a) from a real a to the nearest singularity or branch point
#: of f -- not positive outside f's real domain; None: d = 1, f has none within
#: distance 1 of the real line). ``L`` is the real arithmetic: mpmath, or the
#: gmpy2 namespace of :mod:`.gmpy`.
_DUAL = {
    "log": (lambda L, a, fa: 1 / a, lambda L, a: a),
    "sin": (lambda L, a, fa: L.cos(a), None),
    "cos": (lambda L, a, fa: -L.sin(a), None),
    "tan": (lambda L, a, fa: 1 + fa * fa, lambda L, a: abs(L.cos(a))),
    "tanh": (lambda L, a, fa: 1 / L.cosh(a) ** 2, None),  # not 1 - fa^2: it cancels
    "asin": (_asin_d, _inside_unit),
    "acos": (lambda L, a, fa: -_asin_d(L, a, fa), _inside_unit),
    "atan": (lambda L, a, fa: 1 / (1 + a * a), None),
    "asinh": (lambda L, a, fa: 1 / L.sqrt(1 + a * a), None),
    "acosh": (lambda L, a, fa: 1 / L.sqrt((a - 1) * (a + 1)), lambda L, a: a - 1),
    "erf": (lambda L, a, fa: 2 * L.exp(-a * a) / L.sqrt(L.pi), lambda L, a: 1 / (1 + abs(a))),
}
