"""Code generation: the one place that turns derived expressions into functions.

Stages, each testable on its own:

1. **Templates.** Every output entry is a sum of terms ``c * f(args)``; the
   number ``c`` is split off and the symbols of ``f`` are renamed, in
   argument order, to placeholders ``_p0, _p1, ...``. Terms with the same template
   (every synapse of a Hopfield layer, say) form one group, whose arguments
   are an integer index array into the flat input vector. Factors of a
   template that depend on one variable only (rho'(s_i), say) are hoisted:
   evaluated once per distinct variable, then gathered.
2. **Printing and compiling.** Each template is compiled once by
   :func:`sympy.lambdify` with ``cse=True`` and an explicit ``modules=``:
   ``"numpy"`` (vectorized: it runs on a whole group, with a leading batch
   axis, and accepts complex input for complex-step nudging) and
   ``"mpmath"`` (exact rational constants, evaluated at the caller's working
   precision), plus gmpy2 through :class:`GmpyPrinter`. Every backend's
   elementary functions return the imaginary part of a complex-step
   argument to full relative precision (see ``_DUAL``).
3. **Evaluation.** A :class:`Kernel` gathers arguments, evaluates each group
   into one buffer of terms, and a sparse matrix of coefficients adds the
   terms into their outputs.

The argument order of every compiled function is fixed here, in
:data:`ARGUMENTS`, and written into each function's docstring.
"""

from __future__ import annotations

import functools
import itertools
import types
from dataclasses import dataclass
from fractions import Fraction

import gmpy2
import mpmath
import numpy as np

import symengine as se
import sympy as sp
from sympy.printing.pycode import MpmathPrinter

from eqprop.errors import EqpropError

from .derive import Derivatives

__all__ = ["ARGUMENTS", "Kernel", "Compiled", "compile_model", "compile_unary",
           "compile_unary_joint", "GmpyPrinter"]

#: Argument order of every compiled function: state, parameters, data
#: (each a 1-D sequence in the model's declared order; numpy arrays may carry
#: leading batch axes). Hessian-vector products take a fourth argument ``v``.
ARGUMENTS = ("s", "theta", "data")


# -- elementary functions that are exact at complex-step arguments -----------
#
# A complex step reads a derivative off a tiny imaginary part,
# f(a + i b) = f(a) + i b f'(a) + O(b^2), and is exact only where every
# operation returns that imaginary part to full *relative* precision. mpmath's
# complex asin, acos, atan and erf do not: at 60 digits with |b| = 1e-70 |a|
# they return no correct digit of it (they lose about log10|a/b| digits; tan
# near a pole and asinh near 0 lose some too), and gmpy2 has no complex erf.
# Such a function evaluates an argument whose |b| is far below the scale d(a)
# on which f varies near a as that dual number, in real arithmetic: the
# dropped terms are (b/d)^2 relative, below the working precision when
# |b| <= 2^-(prec/2 + 4) d(a). Larger imaginary parts take the library's
# complex function (mpmath's with extra precision for what it loses). numpy's
# complex functions keep the imaginary part (measured from 1e-20 to 1e-300
# relative) and are used as they are; its erf is SciPy's.

def _inside_unit(L, a):  # branch points at -1 and 1
    return 1 - abs(a)


def _asin_d(L, a, fa):
    return 1 / L.sqrt((1 - a) * (1 + a))


#: name -> (f'(a) from a and fa = f(a), written to keep full relative precision;
#: the distance d(a) from a real a to the nearest singularity or branch point
#: of f -- not positive outside f's real domain; None: d = 1, f has none within
#: distance 1 of the real line). ``L`` is the real arithmetic: mpmath, or the
#: gmpy2 namespace below.
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

#: mpmath functions replaced (the others keep both parts, measured also near
#: their singularities; tan 1e-8 from a pole kept 50 of 60 digits, Re asinh(1e-20 + i b) 45)
_MP_DUAL = ("tan", "asin", "acos", "atan", "asinh", "erf")
#: gmpy2 functions replaced: erf (MPC has no complex erf) and those where two
#: real evaluations beat MPC's correctly rounded complex function
_GMPY_DUAL = ("log", "sin", "cos", "tan", "tanh", "acos", "atan", "asinh", "acosh", "erf")


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


#: the names lambdify gives mpmath-compiled code, the safe functions first
_MP_MODULES = [{name: _mp_dual(name) for name in _MP_DUAL}, "mpmath"]


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
    from eqprop.numeric.backends import GMPY
    with mpmath.workprec(gmpy2.get_context().precision):
        return GMPY.from_mp(_MP_MODULES[0]["erf"](GMPY.to_mp(z)))


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


@functools.lru_cache(maxsize=1)
def _np_modules():
    """The names lambdify gives numpy-compiled code: erf is SciPy's ufunc (not math.erf)."""
    from scipy.special import erf
    return [{"erf": erf}, "numpy"]


class GmpyPrinter(MpmathPrinter):
    """SymPy's mpmath printer, pointed at gmpy2 (the namespace ``_g``)."""

    def _module_format(self, fqn, register=True):
        head, _, name = fqn.rpartition(".")
        if head == "mpmath":
            if name not in _GMPY_NAMES:
                raise NotImplementedError(f"no gmpy2 version of mpmath.{name}")
            return f"_g.{name}"
        return super()._module_format(fqn, register)


def _lib(expr):
    return sp if isinstance(expr, sp.Basic) else se


def _split_term(term):
    """``term = coeff * rest`` with ``coeff`` a number."""
    lib = _lib(term)
    if isinstance(term, lib.Mul) and term.args[0].is_Number:
        return term.args[0], lib.Mul(*term.args[1:])
    if term.is_Number:
        return term, lib.Integer(1)
    return lib.Integer(1), term


@functools.lru_cache(maxsize=4096)
def _fraction(number):
    if number == 1:
        return Fraction(1)
    q = sp.Rational(sp.sympify(number))
    return Fraction(int(q.p), int(q.q))


def _index(ix):
    """``ix`` as a slice where it is an increasing arithmetic progression (a view, not a gather)."""
    ix = np.asarray(ix, dtype=np.intp)
    if len(ix) == 1:
        return slice(int(ix[0]), int(ix[0]) + 1)
    if len(ix) > 1:
        step = int(ix[1] - ix[0])
        if step > 0 and np.all(np.diff(ix) == step):
            return slice(int(ix[0]), int(ix[-1]) + 1, step)
    return ix


class _Tables:
    """Functions of one input shared by a kernel's evaluation steps.

    Each distinct function of one input (rho(x), rho'(x), a post factor such
    as u''(x) - rho''(x) ..., renamed to one variable) is evaluated once per
    call on the inputs the steps need, then gathered from. Functions needed
    on the same inputs are compiled together, with common subexpressions
    (exp(-x), say) shared.
    """

    X = sp.Symbol("_x")

    def __init__(self):
        self._requests = {}  # canonical expression -> list of (request, indices)
        self.tables = []     # (compiled function of x returning a list, input indices)
        self.outputs = []    # the expressions each compiled function returns

    def request(self, expr, symbol, indices):
        req = types.SimpleNamespace(table=None, pos=None)
        self._requests.setdefault(expr.xreplace({symbol: self.X}), []).append((req, indices))
        return req

    def finalize(self, bounds=()):
        """Compile; ``bounds`` are the starts of the argument blocks (theta, data, ...).

        A function defined on the whole real line (see :func:`_total`) is
        evaluated on the union of the inputs of all such functions in the same
        argument blocks, so that they share one call and their common
        subexpressions. Any other function (a log, a square root) is
        evaluated only where a step asked for it, so that no input it was
        never meant for can raise a floating-point warning.
        """
        groups = {}
        for expr, reqs in self._requests.items():
            idx = np.unique(np.concatenate([ix for _, ix in reqs]))
            if _total(expr, self.X):
                key = ("blocks",) + tuple(np.unique(np.searchsorted(bounds, idx, side="right")))
            else:
                key = ("inputs", idx.tobytes())
            groups.setdefault(key, []).append((expr, reqs, idx))
        n = 0
        for funcs in groups.values():
            idx = np.unique(np.concatenate([ix for _, _, ix in funcs]))
            for expr, reqs, _ in funcs:
                for req, ix in reqs:
                    req.table, req.pos = n, _index(np.searchsorted(idx, ix))
                n += 1
            fn = sp.lambdify([self.X], [e for e, _, _ in funcs], modules=_np_modules(), cse=True)
            self.tables.append((fn, _index(idx)))
            self.outputs.append([e for e, _, _ in funcs])
        return self


#: functions finite for every real argument
_TOTAL_FUNCTIONS = (sp.exp, sp.sin, sp.cos, sp.tanh, sp.sinh, sp.cosh, sp.atan, sp.asinh, sp.erf,
                    sp.Abs)


def _total(expr, x):
    """Whether ``expr`` (in the one variable x) is finite for every real x.

    Conservative: every power with a negative exponent needs a base SymPy can
    prove non-zero (positive for fractional exponents), every log a positive
    argument, and every other function must be in :data:`_TOTAL_FUNCTIONS`.
    The sigmoid 1/(1 + exp(-x)) and its derivatives qualify; log(x) does not.
    """
    xr = sp.Symbol("_xr", real=True)
    for node in sp.preorder_traversal(expr.xreplace({x: xr})):
        if isinstance(node, sp.Pow):
            e = node.exp
            if e.is_Integer and e >= 0:
                continue
            need = node.base.is_nonzero if e.is_Integer else node.base.is_positive
            if need is not True:
                return False
        elif isinstance(node, sp.log):
            if node.args[0].is_positive is not True:
                return False
        elif isinstance(node, sp.Function) and not isinstance(node, _TOTAL_FUNCTIONS):
            return False
    return True


def _numpy_evaluator(expr, symbols, idx, tables):
    """numpy evaluator of ``expr`` on the rows of ``idx``: ``(z, tables) -> (..., k)``.

    ``symbols[j]`` is read from ``z[..., idx[:, j]]``. Factors that depend on
    one symbol only (rho'(s_i), say) are taken from the shared
    :class:`_Tables`; a numeric coefficient goes into the first of them.
    """
    m = idx.shape[1]
    expr = sp.expand_power_exp(expr)  # exp(-a - b) -> exp(-a) exp(-b): separable factors
    unary = {j: [] for j in range(m)}
    rest = []
    coeff = sp.Integer(1)
    for f in sp.Mul.make_args(expr):
        fs = f.free_symbols
        if f.is_Number:
            coeff *= f
        elif len(fs) == 1 and f not in symbols:
            unary[symbols.index(next(iter(fs)))].append(f)
        else:
            rest.append(f)
    requests = []
    us = []
    for j, fs in unary.items():
        if fs:
            u = sp.Symbol(f"_u{j}")
            us.append(u)
            requests.append(tables.request(coeff * sp.Mul(*fs), symbols[j], idx[:, j]))
            coeff = sp.Integer(1)
            rest.append(u)
    body = coeff * sp.Mul(*rest)
    used = [j for j in range(m) if symbols[j] in body.free_symbols]  # gather only these
    if body in us and not used:  # the product is one table: gather it
        return _Evaluator(None, [], requests)
    main = sp.lambdify([symbols[j] for j in used] + us, body, modules=_np_modules(), cse=True)
    return _Evaluator(main, [_index(idx[:, j]) for j in used], requests)


class _Evaluator:
    """``main(z[cols]..., table[pos]...) * scale``; without ``main``, one table gathered."""

    def __init__(self, main, cols, requests, scale=None):
        self.main, self.cols, self.requests, self.scale = main, cols, requests, scale

    def source(self, ns, name, batched):
        """A Python expression of ``z`` (tables ``_t<k>``), its constants put in ``ns``."""
        args = []
        for k, c in enumerate(self.cols):
            args.append(_gather_source(ns, f"{name}_c{k}", "z", c, batched))
        for k, r in enumerate(self.requests):
            args.append(_gather_source(ns, f"{name}_r{k}", f"_t{r.table}", r.pos, batched))
        if self.main is None:
            expr = args[0]
        else:
            ns[f"{name}_main"] = self.main
            expr = f"{name}_main({', '.join(args)})"
        if self.scale is not None:
            ns[f"{name}_scale"] = self.scale
            expr = f"{expr} * {name}_scale"
        return expr


def _gather_source(ns, name, array, ix, batched):
    """Source of ``array[..., ix]``: a view for a slice, ``take`` (faster than fancy indexing) else."""
    ns[name] = ix
    if isinstance(ix, slice):
        return f"{array}[..., {name}]" if batched else f"{array}[{name}]"
    return f"{array}.take({name}, axis=-1)" if batched else f"{array}.take({name})"


@dataclass
class _Group:
    """Terms sharing one template."""

    template: sp.Expr
    idx: np.ndarray          # (k, m) indices into the flat input
    out: np.ndarray          # (k,) output position of each term
    coeff: list              # k exact coefficients (Fraction)

    @functools.cached_property
    def mp_fn(self):
        ps = [sp.Symbol(f"_p{j}") for j in range(self.idx.shape[1])]
        return sp.lambdify(ps, self.template, modules=_MP_MODULES, cse=True)


@dataclass
class _Step:
    """One numpy evaluation step: values for the outputs ``out`` (unique).

    ``value = post(z) * sum over the terms of each output of body(z)``,
    where ``post`` depends only on inputs fixed by the output (rho''(s_i)
    in the diagonal entry H_ii, say) and is applied once per output, after
    the body terms are summed (``np.add.reduceat`` over ``starts``).
    """

    out: object
    body: object = None          # (z, tables) -> (..., k), coefficients included; None: constant
    starts: np.ndarray = None    # segment starts of the outputs; None: one term each
    sums: np.ndarray = None      # with body None: the sum of the coefficients per output
    post: object = None          # (z, tables) -> (..., len(out)); None: 1
    assign: bool = False         # first write to these outputs: = instead of +=
    aliases: tuple = ()          # ((which of out, positions)): outputs that copy these


def _canonical(expr, symbols, arrays):
    """Rename ``symbols`` to ``_c0, _c1, ...`` in the order that prints smallest.

    Templates equal up to the order of their arguments (the synapses to the
    layer above and to the layer below, say) then compare equal.
    """
    n = len(symbols)
    orders = itertools.permutations(range(n)) if n <= 4 else [tuple(range(n))]
    best = None
    for order in orders:
        e = expr.xreplace({symbols[p]: sp.Symbol(f"_c{k}") for k, p in enumerate(order)})
        key = sp.srepr(e)
        if best is None or key < best[0]:
            best = (key, e, order)
    return best[1], [arrays[p] for p in best[2]]


def _sorted_terms(out, cols):
    """Order of the terms by output, then by inputs; segment starts and ids."""
    order = np.lexsort(tuple(reversed(cols)) + (out,))
    out = out[order]
    first = np.r_[True, out[1:] != out[:-1]]
    return order, np.flatnonzero(first), np.cumsum(first) - 1


def _plan_groups(groups, bounds=()):
    """Factor, merge and concatenate groups into :class:`_Step` s (see :meth:`Kernel.numpy`).

    1. Each group's template splits into a body, summed over the terms of an
       output, and a post factor in the inputs fixed by the output.
    2. Groups over the same terms with the same body merge: their post
       factors add (the expanded rho'' of a sigmoid is two terms).
    3. Parts whose canonical body and post templates agree are concatenated
       into one step (the synapses above and below a unit, say).
    """
    merged = {}
    for g in groups:
        m = g.idx.shape[1]
        order, starts, seg = _sorted_terms(g.out, [g.idx[:, j] for j in range(m)])
        out, idx = g.out[order], g.idx[order]
        coeff = [g.coeff[i] for i in order]
        ps = [sp.Symbol(f"_p{j}") for j in range(m)]
        det = {ps[j] for j in range(m) if np.array_equal(idx[:, j], idx[starts, j][seg])}
        post, body = [], []
        for f in sp.Mul.make_args(sp.expand_power_exp(g.template)):
            (post if f.free_symbols and f.free_symbols <= det else body).append(f)
        body, post = sp.Mul(*body), sp.Mul(*post)
        cols = tuple(j for j in range(m) if ps[j] in body.free_symbols)
        r = coeff[0]
        norm = tuple(c / r for c in coeff)
        key = (body, cols, idx[:, list(cols)].tobytes(), out.tobytes(), norm)
        entry = merged.setdefault(key, dict(out=out, starts=starts, seg=seg, body=body, cols=cols,
                                            idx=idx[:, list(cols)], norm=norm, posts=[]))
        entry["posts"].append((r, post, {p: idx[starts, ps.index(p)] for p in post.free_symbols}))

    parts = {}
    for e in merged.values():
        out, seg = e["out"], e["seg"]
        arrays, names, total = [], {}, sp.Integer(0)
        for r, f, cols in e["posts"]:
            sub = {}
            for p, a in cols.items():
                key = a.tobytes()
                if key not in names:
                    names[key] = sp.Symbol(f"_q{len(arrays)}")
                    arrays.append(a)
                sub[p] = names[key]
            total += sp.Rational(r.numerator, r.denominator) * f.xreplace(sub)
        norm = np.array([float(c) for c in e["norm"]])
        body = e["body"]
        if not total.free_symbols:
            norm, total = norm * float(total), sp.Integer(1)
        if not body.free_symbols:
            norm, body = norm * float(body), sp.Integer(1)
        body, bcols = _canonical(body, [sp.Symbol(f"_p{j}") for j in e["cols"]], list(e["idx"].T))
        total, pcols = _canonical(total, [sp.Symbol(f"_q{j}") for j in range(len(arrays))],
                                  [a[seg] for a in arrays])  # per term
        parts.setdefault((body, total), []).append((out, bcols, pcols, norm))

    tables = _Tables()
    steps = []
    for (body, post), group in parts.items():
        pieces = [group] if _consistent(group) else [[p] for p in group]
        for piece in pieces:
            out = np.concatenate([p[0] for p in piece])
            bcols = [np.concatenate(c) for c in zip(*[p[1] for p in piece])]
            pcols = [np.concatenate(c) for c in zip(*[p[2] for p in piece])]
            norm = np.concatenate([p[3] for p in piece])
            order, starts, _ = _sorted_terms(out, bcols)
            out, norm = out[order], norm[order]
            bcols, pcols = [c[order] for c in bcols], [c[order] for c in pcols]
            step = _Step(out=out[starts])
            if post.free_symbols:
                cs = [sp.Symbol(f"_c{j}") for j in range(len(pcols))]
                step.post = _numpy_evaluator(post, cs, np.stack([c[starts] for c in pcols], axis=1),
                                             tables)
            if body.free_symbols:
                cs = [sp.Symbol(f"_c{j}") for j in range(len(bcols))]
                fn = _numpy_evaluator(body, cs, np.stack(bcols, axis=1), tables)
                if not np.all(norm == 1):
                    fn.scale = norm
                step.body = fn
                step.starts = starts if len(starts) < len(out) else None
            else:
                step.sums = np.add.reduceat(norm, starts)
            steps.append(step)
    return steps, tables.finalize(bounds)


def _consistent(parts):
    """Whether concatenated parts give each output one post factor (same arguments)."""
    if len(parts) == 1:
        return True
    out = np.concatenate([p[0] for p in parts])
    for c in zip(*[p[2] for p in parts]):
        col = np.concatenate(c)
        order, starts, seg = _sorted_terms(out, [col])
        if not np.array_equal(col[order], col[order][starts][seg]):
            return False
    return True


#: functions constant between their jumps: derivative 0 almost everywhere
_STEP_FUNCTIONS = (sp.floor, sp.ceiling)


def _printable(expr, name):
    """``expr`` without what SymPy cannot print: derivatives of jumps.

    The derivatives of floor and ceiling, which SymPy leaves unevaluated
    (``Subs(Derivative(floor(x), x), x, 2*s)``), and DiracDelta (Heaviside's)
    are 0 away from the jumps: the derivative almost everywhere, as derive
    takes it for the other non-smooth functions. Any other unevaluated
    derivative is refused with a one-line error, never a printer traceback.
    """
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Derivative, sp.DiracDelta):
        return expr

    def flat(t):
        d = t.expr if isinstance(t, sp.Subs) else t
        return isinstance(d, sp.DiracDelta) or (isinstance(d, sp.Derivative)
                                                and isinstance(d.expr, _STEP_FUNCTIONS))
    expr = expr.xreplace({t: sp.S.Zero for t in expr.atoms(sp.Subs, sp.Derivative, sp.DiracDelta)
                          if flat(t)})
    left = expr.atoms(sp.Derivative)
    if left:
        raise EqpropError(f"{name}: cannot compile the unevaluated derivative {min(left, key=str)}")
    return expr


class Kernel:
    """Evaluate ``n_out`` expressions over a flat input vector ``z``.

    ``z`` is the concatenation of the arguments in :data:`ARGUMENTS` order
    (plus ``v`` for Hessian-vector products). ``entries`` is a list of
    ``(position, expression)`` pairs; positions not listed are zero.
    """

    #: up to this many terms, the mpmath backend compiles all outputs into one
    #: function (common subexpressions shared across outputs); above, it
    #: loops over the templates.
    MP_WHOLE_LIMIT = 3000

    def __init__(self, entries, symbols, n_out, *, name, doc="", blocks=None):
        self.name, self.n_out, self.__doc__ = name, n_out, doc
        #: starts of the argument blocks after the first (see _Tables.finalize)
        self.bounds = tuple(np.cumsum(blocks)[:-1]) if blocks else ()
        entries = [(pos, _printable(expr, name)) for pos, expr in entries]
        self._entries, self._symbols = entries, symbols
        groups = {}
        index = {str(sym): k for k, sym in enumerate(symbols)}  # by name: SymPy or SymEngine
        # an entry equal to an earlier one (H_ji = H_ij) is evaluated once and copied
        first, self.aliases = {}, {}
        for pos, expr in entries:
            if expr in first:
                self.aliases.setdefault(first[expr], []).append(pos)
                continue
            first[expr] = pos
            lib = _lib(expr)
            terms = expr.args if isinstance(expr, lib.Add) else (expr,)
            for term in terms:
                coeff, rest = _split_term(term)
                if coeff == 0:  # an entry that is exactly 0: nothing to evaluate
                    continue
                # placeholders follow the argument order, so that all synapses of
                # a layer, say, share one template
                syms = sorted(rest.free_symbols, key=lambda x: index[str(x)])
                placeholders = [lib.Symbol(f"_p{j}") for j in range(len(syms))]
                template = rest.xreplace(dict(zip(syms, placeholders))) if syms else rest
                g = groups.setdefault(template, ([], [], []))
                g[0].append([index[str(s)] for s in syms])
                g[1].append(pos)
                g[2].append(coeff)
        self.groups = []
        for template, (idx, out, coeff) in groups.items():
            m = len(idx[0])
            self.groups.append(_Group(
                template=sp.sympify(template),
                idx=np.array(idx, dtype=np.intp).reshape(len(idx), m),
                out=np.array(out, dtype=np.intp),
                coeff=[_fraction(c) for c in coeff]))

    @functools.cached_property
    def steps(self):
        """The numpy evaluation plan: a list of :class:`_Step` (compiled on first use)."""
        steps, self._tables = _plan_groups(self.groups, self.bounds)
        written = np.zeros(self.n_out, dtype=bool)
        for step in steps:
            step.assign = not written[step.out].any()
            written[step.out] = True
            # copies, level by level: the first alias of each output, then the second...
            lists = [self.aliases.get(int(o), ()) for o in step.out]
            levels = []
            for level in range(max(map(len, lists), default=0)):
                which = np.array([k for k, a in enumerate(lists) if len(a) > level], dtype=np.intp)
                pos = np.array([lists[k][level] for k in which], dtype=np.intp)
                levels.append((None if len(which) == len(lists) else which, pos))
            step.aliases = tuple(levels)
        return steps

    def _whole_expressions(self):
        out = [sp.Integer(0)] * self.n_out
        for pos, expr in self._entries:
            out[pos] = sp.sympify(expr)
        zs = [sp.Symbol(f"_z{k}") for k in range(len(self._symbols))]
        index = {str(s): z for s, z in zip(self._symbols, zs)}
        return zs, [e.xreplace({x: index[str(x)] for x in e.free_symbols}) for e in out]

    @functools.cached_property
    def _mp_whole(self):
        if self.n_terms > self.MP_WHOLE_LIMIT:
            return None
        zs, out = self._whole_expressions()
        fn = sp.lambdify([zs], out, modules=_MP_MODULES, cse=True)
        return lambda z: fn(list(z))

    def gmpy_bind(self, n_dynamic, static):
        """A gmpy2 evaluator of the first ``n_dynamic`` inputs, the rest fixed to ``static``.

        Partial evaluation: every subexpression free of the dynamic inputs
        (rho(x) of a clamped input, products of weights, beta times a
        constant) is computed once here, not at every call. Returns
        ``f(dynamic) -> list``, or None where gmpy2 cannot compile the model.
        Call inside a gmpy2 precision context.
        """
        parts = self._gmpy_partial(n_dynamic)
        if parts is None:
            return None
        static_fn, dynamic_fn = parts
        static = list(static)
        consts = static_fn(static)
        return lambda dynamic: dynamic_fn(list(dynamic), static, consts)

    def gmpy_supported(self, n_dynamic):
        """Whether :meth:`gmpy_bind` can compile this kernel (else the caller uses mpmath)."""
        return self._gmpy_partial(n_dynamic) is not None

    @functools.lru_cache(maxsize=4)
    def _gmpy_partial(self, n_dynamic):
        if self.n_terms > self.MP_WHOLE_LIMIT:
            return None
        zs, out = self._whole_expressions()
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

    @property
    def n_terms(self):
        return sum(len(g.out) for g in self.groups)

    def _plan(self, batched):
        """The evaluation plan as one generated straight-line function ``(z, dtype) -> out``.

        No interpretation at call time (attribute lookups, branches,
        closures): at the size of a 100-unit Hessian that overhead was a fifth
        of the time. ``batched``: ``z`` has leading batch axes, indexed as
        ``[..., positions]``; without them plain ``[positions]`` is three
        times faster. The source holds generated names only, never user text.
        Built once per kind of input.
        """
        plans = self.__dict__.setdefault("_plans", {})
        if batched not in plans:
            plans[batched] = self._generate(batched)
        return plans[batched]

    def _generate(self, batched):
        steps, ns = self.steps, {"np": np, "_add": np.add}
        at = "r[..., {}]" if batched else "r[{}]"
        lines = ["def _plan(z, dtype):"]
        for k, (fn, idx) in enumerate(self._tables.tables):
            ns[f"_tab{k}"] = fn
            first = sum(len(f) for f in self._tables.outputs[:k])
            names = [f"_t{first + j}" for j in range(len(self._tables.outputs[k]))]
            arg = _gather_source(ns, f"_ti{k}", "z", idx, batched)
            lines.append(f"    {', '.join(names)}, = _tab{k}({arg})")
        lines.append(f"    r = np.zeros(z.shape[:-1] + ({self.n_out},), dtype)")
        for k, step in enumerate(steps):
            if step.body is None:
                ns[f"_s{k}"] = step.sums
                val = f"_s{k}"
            else:
                val = step.body.source(ns, f"_b{k}", batched)
                if step.starts is not None:
                    ns[f"_st{k}"] = step.starts
                    val = f"_add.reduceat({val}, _st{k}, axis=-1)"
            if step.post is not None:
                val = f"({val}) * {step.post.source(ns, f'_p{k}', batched)}"
            lines.append(f"    v = {val}")
            op = "=" if step.assign else "+="
            ns[f"_o{k}"] = step.out
            lines.append(f"    {at.format(f'_o{k}')} {op} v")
            for j, (which, pos) in enumerate(step.aliases):
                ns[f"_a{k}_{j}"] = pos
                src = "v"
                if which is not None:
                    ns[f"_w{k}_{j}"] = which
                    src = f"np.asarray(v).take(_w{k}_{j}, axis=-1)"
                lines.append(f"    {at.format(f'_a{k}_{j}')} {op} {src}")
        lines.append("    return r")
        exec(compile("\n".join(lines), f"<eqprop plan {self.name}>", "exec"), ns)  # noqa: S102
        return ns["_plan"]

    def numpy(self, z):
        """Evaluate on a numpy array ``z`` of shape ``(..., len(symbols))``."""
        z = np.asarray(z)
        return self._plan(z.ndim > 1)(z, np.result_type(z.dtype, np.float64))

    def mpmath(self, z):
        """Evaluate on a sequence of mpmath numbers at the current precision."""
        if self._mp_whole is not None:
            return self._mp_whole(z)
        out = [mpmath.mpf(0)] * self.n_out
        for g in self.groups:
            for row, pos, c in zip(g.idx, g.out, g.coeff):
                val = g.mp_fn(*[z[i] for i in row])
                if c != 1:
                    val = val * c.numerator / c.denominator
                out[pos] = out[pos] + val
        for pos, copies in self.aliases.items():
            for a in copies:
                out[a] = out[pos]
        return out


class _Function:
    """A compiled function of (s, theta, data[, v]) built on a :class:`Kernel`."""

    def __init__(self, kernel, shape, sizes, names=ARGUMENTS + ("v",)):
        self.kernel, self.shape, self.sizes, self.names = kernel, shape, sizes, names
        self.__doc__ = kernel.__doc__
        self.__name__ = kernel.name

    def _flat_np(self, args):
        arrays = [np.asarray(a) for a in args]
        for a, n, name in zip(arrays, self.sizes, self.names):
            if a.ndim == 0 or a.shape[-1] != n:
                raise ValueError(f"{self.__name__}(): {name} has shape {a.shape}; expected {n} "
                                 f"values along the last axis")
        if all(a.ndim == 1 for a in arrays):  # the common unbatched call: one copy
            return np.concatenate(arrays, dtype=np.result_type(*arrays, np.float64))
        batch = np.broadcast_shapes(*[a.shape[:-1] for a in arrays])
        dtype = np.result_type(*arrays, np.float64)
        return np.concatenate([np.broadcast_to(a, batch + a.shape[-1:]).astype(dtype, copy=False)
                               for a in arrays], axis=-1)

    def __call__(self, *args):
        """numpy evaluation; output shape ``batch + shape``."""
        self._check(args)
        out = self.kernel.numpy(self._flat_np(args))
        return out.reshape(out.shape[:-1] + self.shape)

    def mp(self, *args):
        """mpmath evaluation at the working precision: a list, or an mpmath matrix."""
        self._check(args)
        flat = [x for a in args for x in a]
        out = self.kernel.mpmath(flat)
        if len(self.shape) == 2:
            m = mpmath.matrix(*self.shape)
            for k, val in enumerate(out):
                if val != 0:
                    m[k // self.shape[1], k % self.shape[1]] = val
            return m
        return out[0] if self.shape == () else out

    def bind(self, *static):
        """gmpy2 function of s alone, the other arguments fixed (see Kernel.gmpy_bind)."""
        n = self.sizes[0]
        return self.kernel.gmpy_bind(n, [x for a in static for x in a])

    def _check(self, args):
        if len(args) != len(self.sizes):
            raise TypeError(f"{self.__name__}() takes {len(self.sizes)} arguments "
                            f"({', '.join(self.names)}), got {len(args)}")


class Compiled:
    """Compiled numpy/mpmath functions of a model's derived quantities.

    Every function takes ``(s, theta, data)`` (see :data:`ARGUMENTS`), and
    ``Hv``/``Mv`` also ``v``. Called directly they evaluate with numpy
    (leading batch axes allowed, complex input allowed); ``.mp(...)``
    evaluates with mpmath at the current working precision. Kernels are
    compiled on first use.
    """

    _SPEC = {
        "E": "energy E (scalar)",
        "C": "cost C (scalar)",
        "dE_ds": "dE/ds (n,)",
        "dE_dtheta": "dE/dtheta (p,)",
        "dC_ds": "dC/ds (n,)",
        "dC_dtheta": "dC/dtheta (p,)",
        "d2E_ds2": "H = d2E/ds2 (n, n)",
        "d2E_dtheta_ds": "M = d2E/(dtheta ds) (p, n)",
        "d2C_ds2": "d2C/ds2 (n, n)",
        "dEbeta_ds": "dE^beta/ds = dE/ds + beta dC/ds (n,)",
        "Hv": "H^T v = d/ds (v . dE/ds) (n,)",
        "Mv": "M v = d/dtheta (v . dE/ds) (p,)",
    }

    def __init__(self, derivs: Derivatives):
        self.derivs = derivs
        m = derivs.model
        self.n, self.p, self.d = len(m.state), len(m.params), len(m.data)
        self._symbols = [se.sympify(x) for x in (*m.state, *m.theta, *m.data_symbols)]

    def _build(self, name):
        d = self.derivs
        n, p = self.n, self.p
        syms, sizes = self._symbols, (n, p, self.d)
        if name in ("Hv", "Mv"):
            syms, sizes = syms + [se.sympify(x) for x in d.v], sizes + (n,)
        if name == "dEbeta_ds":
            syms, sizes = syms + [se.sympify(d.beta)], sizes + (1,)
        if name in ("d2E_ds2", "d2E_dtheta_ds", "d2C_ds2"):
            cols = n
            rows = p if name == "d2E_dtheta_ds" else n
            entries = [(i * cols + j, e) for (i, j), e in getattr(d, name).items()]
            shape, n_out = (rows, cols), rows * cols
        elif name in ("E", "C"):
            expr = d.E if name == "E" else d.C
            if expr is None:
                raise AttributeError("E: this model is given by a vector field and has no energy")
            entries, shape, n_out = [(0, expr)], (), 1
        else:
            vec = getattr(d, name)
            if vec is None:
                raise AttributeError(f"{name}: this model is given by a vector field and has no energy")
            entries = [(i, e) for i, e in enumerate(vec) if e != 0]
            shape, n_out = (len(vec),), len(vec)
        extra = {"Hv": ("v",), "Mv": ("v",), "dEbeta_ds": ("beta",)}.get(name, ())
        args = ", ".join(ARGUMENTS + extra)
        doc = f"{self._SPEC[name]} as a function of ({args})."
        return _Function(Kernel(entries, syms, n_out, name=name, doc=doc, blocks=sizes), shape, sizes,
                         ARGUMENTS + extra)

    def __getattr__(self, name):
        if name.startswith("_") or name not in self._SPEC:
            raise AttributeError(name)
        fn = self._build(name)
        setattr(self, name, fn)
        return fn

    def taylor(self, prec, tol, *, perturbed=False):
        """The optional heyoka Taylor integrator of the flows: a ``heyoka_gen.TaylorFlow``."""
        cache = self.__dict__.setdefault("_taylor", {})
        tol = mpmath.nstr(mpmath.mpf(tol), 5)  # one canonical spelling per tolerance
        key = (prec, tol, perturbed)
        if key not in cache:
            from .heyoka_gen import taylor_integrator
            cache[key] = taylor_integrator(self.derivs, prec, tol, perturbed=perturbed)
        return cache[key]

    def warm(self, names=None, backends=("numpy",)):
        """Compile the named kernels now (all by default); returns self."""
        for name in names or self._SPEC:
            if name == "E" and self.derivs.E is None:
                continue
            if name == "dE_dtheta" and self.derivs.dE_dtheta is None:
                continue
            fn = getattr(self, name)
            if "numpy" in backends:
                fn.kernel._plan(False)
            if "mpmath" in backends:
                for g in fn.kernel.groups:
                    g.mp_fn
        return self


def compile_model(derivs: Derivatives) -> Compiled:
    """Compile ``derivs`` (from :func:`eqprop.symbolic.derive`)."""
    return Compiled(derivs)


def _one_variable(expr, name):
    free = sorted(expr.free_symbols, key=str)
    if len(free) != 1:
        raise ValueError(f"{name or 'function'}: expected one variable, got {free}")
    return free[0]


def _derivatives(expr, z, order, name):
    """``[expr, expr', ..., expr^(order)]`` in ``z``, printable (see :func:`_printable`)."""
    return [_printable(sp.diff(expr, z, k) if k else expr, name or "rho") for k in range(order + 1)]


def compile_unary(expr, name=""):
    """A scalar function of one variable and its first two derivatives, for numpy.

    ``expr`` is a SymPy expression in one symbol (rho or the neuron
    potential u of :mod:`eqprop.numeric.layered`). Returns
    ``(f, df, ddf, dddf, free_symbol)``; each accepts real or complex arrays
    and keeps their shape.
    """
    z = _one_variable(expr, name)
    out = []
    for e in _derivatives(expr, z, 3, name):
        fn = sp.lambdify([z], e, modules=_np_modules(), cse=True)
        if not e.free_symbols:  # a constant derivative must still broadcast
            out.append(lambda a, c=fn(0): np.full(np.shape(a), c, dtype=np.result_type(a, float)))
        else:
            out.append(fn)
    return out[0], out[1], out[2], out[3], z


def compile_unary_joint(expr, name=""):
    """``z -> (f(z), f'(z), f''(z))`` in one numpy function, common subexpressions shared.

    For the sigmoid, one exp serves all three. Constant derivatives are
    broadcast to the shape of ``z``.
    """
    z = _one_variable(expr, name)
    exprs = _derivatives(expr, z, 2, name)
    fn = sp.lambdify([z], exprs, modules=_np_modules(), cse=True)

    def joint(a):
        return tuple(v if np.shape(v) == np.shape(a) else np.broadcast_to(v, np.shape(a))
                     for v in fn(a))
    return joint
