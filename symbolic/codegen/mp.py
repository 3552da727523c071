"""mpmath evaluation: exact rational constants, at the caller's working precision.

Templates are compiled by :func:`sympy.lambdify` with ``cse=True`` and
``modules=`` :data:`MP_MODULES`, whose elementary functions return the
imaginary part of a complex-step argument to full relative precision (see
:mod:`.dual`).
"""

from __future__ import annotations

import functools

import mpmath
import sympy as sp

from .dual import _DUAL

#: up to this many terms, a kernel's outputs are compiled into one function
#: (common subexpressions shared across outputs, for mpmath and gmpy2); above,
#: mpmath loops over the templates and gmpy2 is not offered.
MP_WHOLE_LIMIT = 3000

#: mpmath functions replaced (the others keep both parts, measured also near
#: their singularities; tan 1e-8 from a pole kept 50 of 60 digits, Re asinh(1e-20 + i b) 45)
_MP_DUAL = ("tan", "asin", "acos", "atan", "asinh", "erf")


def _mp_dual(name):
    f = getattr(mpmath, name)
    df, dist = _DUAL[name]

    def safe(z):
        if not isinstance(z, mpmath.mpc):
            return f(z)
        a, b = z.real, z.imag
        d = 1 if dist is None else dist(mpmath, a)
        if d > 0 and abs(b) <= mpmath.ldexp(d, -(mpmath.mp.prec // 2) - 4):
            fa = f(a)
            return mpmath.mpc(fa, b * df(mpmath, a, fa))
        extra = max(0, mpmath.mag(a) - mpmath.mag(b)) if b else 0
        with mpmath.extraprec(extra + 10):  # mpmath's formula loses about log2|a/b| bits of Im
            w = f(z)
        return +w
    safe.__name__ = name
    return safe


#: the names lambdify gives mpmath-compiled code, the safe functions first (a constant table)
MP_MODULES = ({name: _mp_dual(name) for name in _MP_DUAL}, "mpmath")


def _group_function(group):
    """``group``'s template compiled for mpmath: a function of ``_p0, _p1, ...``."""
    ps = [sp.Symbol(f"_p{j}") for j in range(group.idx.shape[1])]
    return sp.lambdify(ps, group.template, modules=MP_MODULES, cse=True)


class MpEvaluator:
    """Evaluate a :class:`~.templates.Templates` on a sequence of mpmath numbers.

    Up to :data:`MP_WHOLE_LIMIT` terms, one function of all outputs; above,
    one function per template, looped over its terms. Compiled on first use.
    """

    def __init__(self, templates):
        self.templates = templates

    @functools.cached_property
    def whole(self):
        """The function of all outputs, or None above :data:`MP_WHOLE_LIMIT` terms."""
        if self.templates.n_terms > MP_WHOLE_LIMIT:
            return None
        zs, out = self.templates.whole_expressions()
        fn = sp.lambdify([zs], out, modules=MP_MODULES, cse=True)
        return lambda z: fn(list(z))

    @functools.cached_property
    def group_functions(self):
        """One compiled template per group (the path above :data:`MP_WHOLE_LIMIT` terms)."""
        return [_group_function(g) for g in self.templates.groups]

    def warm(self):
        """Compile what :meth:`__call__` uses."""
        if self.whole is None:
            self.group_functions
        return self

    def __call__(self, z):
        """The outputs at ``z`` (current precision), a list of mpmath numbers."""
        if self.whole is not None:
            return self.whole(z)
        t = self.templates
        out = [mpmath.mpf(0)] * t.n_out
        for g, fn in zip(t.groups, self.group_functions):
            for row, pos, c in zip(g.idx, g.out, g.coeff):
                val = fn(*[z[i] for i in row])
                if c != 1:
                    val = val * c.numerator / c.denominator
                out[pos] = out[pos] + val
        for pos, copies in t.aliases.items():
            for a in copies:
                out[a] = out[pos]
        return out
