"""gmpy2 evaluation (MPFR/MPC in C), with the constant part evaluated once.

SymPy's mpmath printer is pointed at gmpy2 (:class:`GmpyPrinter`, the
namespace ``_g``: :class:`_GmpyFunctions`). :func:`gmpy_bind` compiles a
kernel's outputs as functions of the first inputs (the state), every
subexpression of the others computed once per binding.
:func:`lambdify_objects` compiles for numpy object arrays of gmpy2 numbers
(the plan on gmpy2 numbers, :mod:`.gmpy_plan`).
"""

from __future__ import annotations

import functools

import gmpy2
import mpmath
import numpy as np
import sympy as sp
from sympy.printing.pycode import MpmathPrinter

from ..backends import GMPY
from .dual import _DUAL
from .mp import MP_MODULES, MP_WHOLE_LIMIT

#: gmpy2 functions replaced: erf (MPC has no complex erf) and those where two
#: real evaluations beat MPC's correctly rounded complex function
_GMPY_DUAL = ("log", "sin", "cos", "tan", "tanh", "acos", "atan", "asinh", "acosh", "erf")


def _gmpy_dual(name):
    f = getattr(gmpy2, name)
    df, dist = _DUAL[name]
    complex_f = _gmpy_erf_complex if name == "erf" else f
    get_exp = gmpy2.get_exp

    def safe(z):
        if not isinstance(z, _MPC):
            return f(z)
        a, b = z.real, z.imag
        # |b| <= 2^-(prec/2 + 4) d, from exponents: 2^(e-1) <= |x| < 2^e
        limit = gmpy2.get_context().precision // 2 + 5
        if dist is None:
            ok = not b or get_exp(b) <= 1 - limit
        else:
            d = dist(_G, a)
            ok = d > 0 and (not b or get_exp(b) <= get_exp(d) - limit)
        if ok:
            fa = f(a)
            return fa + _I * (b * df(_G, a, fa))  # faster than the mpc constructor
        return complex_f(z)
    safe.__name__ = name
    return staticmethod(safe)


def _gmpy_erf_complex(z):
    """erf of a genuinely complex gmpy2 number, through mpmath at the same precision."""
    with mpmath.workprec(gmpy2.get_context().precision):
        return GMPY.from_mp(MP_MODULES[0]["erf"](GMPY.to_mp(z)))


class _GmpyFunctions:
    """The namespace ``_g`` of gmpy2-compiled code (MPFR/MPC in C).

    Constants are properties: they are evaluated at the caller's precision.
    """

    mpf = staticmethod(gmpy2.mpfr)
    # MPC's own complex versions (the others: _GMPY_DUAL, set below)
    sqrt, sinh, cosh = staticmethod(gmpy2.sqrt), staticmethod(gmpy2.sinh), staticmethod(gmpy2.cosh)
    asin, atanh = staticmethod(gmpy2.asin), staticmethod(gmpy2.atanh)

    @staticmethod
    def exp(z):
        # MPC's correctly rounded complex exp is slow; e^x (cos y + i sin y) is
        # accurate to an ulp in each part, which is all the integrator needs
        if isinstance(z, _MPC):
            r = gmpy2.exp(z.real)
            sn, cs = gmpy2.sin_cos(z.imag)
            return r * cs + _I * (r * sn)
        return gmpy2.exp(z)

    @property
    def pi(self):
        return gmpy2.const_pi()

    @property
    def e(self):
        return gmpy2.exp(1)


for _name in _GMPY_DUAL:
    setattr(_GmpyFunctions, _name, _gmpy_dual(_name))
_MPC = type(gmpy2.mpc(0))
_I = gmpy2.mpc(0, 1)  # exact at any precision
_G = _GmpyFunctions()
_GMPY_NAMES = {"exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "asin",
               "acos", "atan", "asinh", "acosh", "atanh", "erf", "mpf", "pi", "e"}


class GmpyPrinter(MpmathPrinter):
    """SymPy's mpmath printer, pointed at gmpy2 (the namespace ``_g``)."""

    def _module_format(self, fqn, register=True):
        head, _, name = fqn.rpartition(".")
        if head == "mpmath":
            if name not in _GMPY_NAMES:
                raise NotImplementedError(f"no gmpy2 version of mpmath.{name}")
            return f"_g.{name}"
        return super()._module_format(fqn, register)


class _VectorFunctions(_GmpyFunctions):
    """The namespace ``_g`` of object-array code: gmpy2's functions element by element (the
    constructor ``mpf`` and the constants as in gmpy2-compiled code)."""


for _name in _GMPY_NAMES - {"mpf", "pi", "e"}:
    setattr(_VectorFunctions, _name, staticmethod(np.frompyfunc(getattr(_G, _name), 1, 1)))
del _name


def lambdify_objects(args, expr):
    """``sympy.lambdify`` for numpy object arrays of gmpy2 numbers (see :mod:`.gmpy_plan`)."""
    return sp.lambdify(args, expr, modules=[{"_g": _VectorFunctions()}], printer=GmpyPrinter,
                       cse=True)


def gmpy_bind(templates, n_dynamic, static):
    """A gmpy2 evaluator of the first ``n_dynamic`` inputs, the rest fixed to ``static``.

    Partial evaluation: every subexpression free of the dynamic inputs
    (rho(x) of a clamped input, products of weights, beta times a
    constant) is computed once here, not at every call. Returns
    ``f(dynamic) -> list``, or None where gmpy2 cannot compile the outputs
    of ``templates`` (a :class:`~.templates.Templates`). Call inside a gmpy2
    precision context.
    """
    parts = _gmpy_partial(templates, n_dynamic)
    if parts is None:
        return None
    static_fn, dynamic_fn = parts
    static = list(static)
    consts = static_fn(static)
    return lambda dynamic: dynamic_fn(list(dynamic), static, consts)


def gmpy_supported(templates, n_dynamic):
    """Whether :func:`gmpy_bind` can compile ``templates`` (else the caller uses mpmath)."""
    return _gmpy_partial(templates, n_dynamic) is not None


@functools.lru_cache(maxsize=4)
def _gmpy_partial(templates, n_dynamic):
    if templates.n_terms > MP_WHOLE_LIMIT:
        return None
    zs, out = templates.whole_expressions()
    dynamic = set(zs[:n_dynamic])
    memo, consts = {}, []

    def hoist(e):
        if e.is_Atom or not isinstance(e, sp.Expr):
            return e
        if e in memo:
            return memo[e]
        if not e.free_symbols & dynamic:
            new = sp.Symbol(f"_c{len(consts)}")
            consts.append(e)
        else:
            new = e.func(*[hoist(a) for a in e.args])
        memo[e] = new
        return new
    reduced = [hoist(e) for e in out]
    cs = [sp.Symbol(f"_c{k}") for k in range(len(consts))]
    ns = [{"_g": _GmpyFunctions()}]
    try:
        static_fn = sp.lambdify([zs[n_dynamic:]], consts, modules=ns, printer=GmpyPrinter,
                                cse=True)
        dynamic_fn = sp.lambdify([zs[:n_dynamic], zs[n_dynamic:], cs], reduced, modules=ns,
                                 printer=GmpyPrinter, cse=True)
    except (NotImplementedError, TypeError, KeyError):
        return None
    return static_fn, dynamic_fn
