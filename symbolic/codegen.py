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
   precision).
3. **Evaluation.** A :class:`Kernel` gathers arguments, evaluates each group
   into one buffer of terms, and a sparse matrix of coefficients adds the
   terms into their outputs.

The argument order of every compiled function is fixed here, in
:data:`ARGUMENTS`, and written into each function's docstring.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

import gmpy2
import mpmath
import numpy as np

import scipy.sparse
import symengine as se
import sympy as sp
from sympy.printing.pycode import MpmathPrinter

from .derive import Derivatives

__all__ = ["ARGUMENTS", "Kernel", "Compiled", "compile_model", "compile_unary", "GmpyPrinter"]

#: Argument order of every compiled function: state, parameters, data
#: (each a 1-D sequence in the model's declared order; numpy arrays may carry
#: leading batch axes). Hessian-vector products take a fourth argument ``v``.
ARGUMENTS = ("s", "theta", "data")


class _GmpyFunctions:
    """The namespace ``_g`` of gmpy2-compiled code (MPFR/MPC in C).

    Constants are properties: they are evaluated at the caller's precision.
    """

    mpf = staticmethod(gmpy2.mpfr)
    log, sqrt = staticmethod(gmpy2.log), staticmethod(gmpy2.sqrt)
    sin, cos, tan = staticmethod(gmpy2.sin), staticmethod(gmpy2.cos), staticmethod(gmpy2.tan)
    sinh, cosh, tanh = staticmethod(gmpy2.sinh), staticmethod(gmpy2.cosh), staticmethod(gmpy2.tanh)
    asin, acos, atan = staticmethod(gmpy2.asin), staticmethod(gmpy2.acos), staticmethod(gmpy2.atan)
    asinh, atanh = staticmethod(gmpy2.asinh), staticmethod(gmpy2.atanh)

    @staticmethod
    def exp(z):
        # MPC's correctly rounded complex exp is slow; e^x (cos y + i sin y) is
        # accurate to an ulp in each part, which is all the integrator needs
        if isinstance(z, _MPC):
            r = gmpy2.exp(z.real)
            sn, cs = gmpy2.sin_cos(z.imag)
            return gmpy2.mpc(r * cs, r * sn)
        return gmpy2.exp(z)

    @property
    def pi(self):
        return gmpy2.const_pi()

    @property
    def e(self):
        return gmpy2.exp(1)


_MPC = type(gmpy2.mpc(0))
_GMPY_NAMES = {"exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "asin",
               "acos", "atan", "asinh", "atanh", "mpf", "pi", "e"}


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


@dataclass
class _Group:
    """Terms sharing one template."""

    template: sp.Expr
    idx: np.ndarray          # (k, m) indices into the flat input
    out: np.ndarray          # (k,) output position of each term
    coeff: list              # k exact coefficients (Fraction)

    @functools.cached_property
    def np_fn(self):
        """numpy evaluator of the group: ``z -> (..., k)`` values, unary factors hoisted."""
        m = self.idx.shape[1]
        ps = [sp.Symbol(f"_p{j}") for j in range(m)]
        # exp(-a - b) -> exp(-a) exp(-b), so that each factor can be hoisted
        template = sp.expand_power_exp(self.template)
        factors = template.args if isinstance(template, sp.Mul) else (template,)
        unary = {j: [] for j in range(m)}
        rest = []
        for f in factors:
            fs = f.free_symbols
            if len(fs) == 1 and f not in ps:
                unary[ps.index(next(iter(fs)))].append(f)
            else:
                rest.append(f)
        hoisted = []  # (column, unique indices, inverse, compiled unary product)
        us = []
        for j, fs in unary.items():
            if fs:
                u = sp.Symbol(f"_u{j}")
                us.append(u)
                uniq, inv = np.unique(self.idx[:, j], return_inverse=True)
                hoisted.append((uniq, inv, sp.lambdify([ps[j]], sp.Mul(*fs), modules="numpy", cse=True)))
                rest.append(u)
        body = sp.Mul(*rest)
        used = [j for j in range(m) if ps[j] in body.free_symbols]  # gather only these
        main = sp.lambdify([ps[j] for j in used] + us, body, modules="numpy", cse=True)
        cols = [self.idx[:, j] for j in used]

        def evaluate(z):
            args = [z[..., c] for c in cols]
            for uniq, inv, fn in hoisted:
                args.append(np.asarray(fn(z[..., uniq]))[..., inv])
            return main(*args)
        return evaluate

    @functools.cached_property
    def mp_fn(self):
        ps = [sp.Symbol(f"_p{j}") for j in range(self.idx.shape[1])]
        return sp.lambdify(ps, self.template, modules="mpmath", cse=True)


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

    def __init__(self, entries, symbols, n_out, *, name, doc=""):
        self.name, self.n_out, self.__doc__ = name, n_out, doc
        self._entries, self._symbols = entries, symbols
        groups = {}
        index = {str(sym): k for k, sym in enumerate(symbols)}  # by name: SymPy or SymEngine
        for pos, expr in entries:
            lib = _lib(expr)
            terms = expr.args if isinstance(expr, lib.Add) else (expr,)
            for term in terms:
                coeff, rest = _split_term(term)
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
        # terms -> outputs, with the coefficients: out = terms @ summation
        out = np.concatenate([g.out for g in self.groups]) if self.groups else np.zeros(0, np.intp)
        weights = [float(c) for g in self.groups for c in g.coeff]
        self.summation = scipy.sparse.csr_matrix(
            (weights, (np.arange(len(out)), out)), shape=(len(out), n_out))

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
        fn = sp.lambdify([zs], out, modules="mpmath", cse=True)
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

    def numpy(self, z):
        """Evaluate on a numpy array ``z`` of shape ``(..., len(symbols))``."""
        z = np.asarray(z)
        dtype = np.result_type(z.dtype, np.float64)
        batch = z.shape[:-1]
        if self.n_terms == 0:
            return np.zeros(batch + (self.n_out,), dtype=dtype)
        terms = np.empty(batch + (self.n_terms,), dtype=dtype)
        start = 0
        for g in self.groups:
            stop = start + len(g.out)
            terms[..., start:stop] = g.np_fn(z)
            start = stop
        flat = terms.reshape(-1, self.n_terms)
        return np.asarray(flat @ self.summation).reshape(batch + (self.n_out,))

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
        return out


class _Function:
    """A compiled function of (s, theta, data[, v]) built on a :class:`Kernel`."""

    def __init__(self, kernel, shape, sizes):
        self.kernel, self.shape, self.sizes = kernel, shape, sizes
        self.__doc__ = kernel.__doc__
        self.__name__ = kernel.name

    def _flat_np(self, args):
        arrays = [np.asarray(a) for a in args]
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
                            f"({', '.join(ARGUMENTS + ('v',))[:len(self.sizes)]}), got {len(args)}")


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
        return _Function(Kernel(entries, syms, n_out, name=name, doc=doc), shape, sizes)

    def __getattr__(self, name):
        if name.startswith("_") or name not in self._SPEC:
            raise AttributeError(name)
        fn = self._build(name)
        setattr(self, name, fn)
        return fn

    def taylor(self, prec, tol):
        """The optional heyoka Taylor integrator of the flows (see eqprop.symbolic.heyoka_gen)."""
        cache = self.__dict__.setdefault("_taylor", {})
        tol = mpmath.nstr(mpmath.mpf(tol), 5)  # one canonical spelling per tolerance
        key = (prec, tol)
        if key not in cache:
            from .heyoka_gen import taylor_integrator
            cache[key] = taylor_integrator(self.derivs, prec, tol)
        return cache[key]

    def warm(self, names=None, backends=("numpy",)):
        """Compile the named kernels now (all by default); returns self."""
        for name in names or self._SPEC:
            if name == "E" and self.derivs.E is None:
                continue
            if name == "dE_dtheta" and self.derivs.dE_dtheta is None:
                continue
            fn = getattr(self, name)
            for g in fn.kernel.groups:
                for b in backends:
                    getattr(g, "np_fn" if b == "numpy" else "mp_fn")
        return self


def compile_model(derivs: Derivatives) -> Compiled:
    """Compile ``derivs`` (from :func:`eqprop.symbolic.derive`)."""
    return Compiled(derivs)


def compile_unary(expr, name=""):
    """A scalar function of one variable and its first two derivatives, for numpy.

    ``expr`` is a SymPy expression in one symbol (rho or the neuron
    potential u of :mod:`eqprop.numeric.layered`). Returns
    ``(f, df, ddf, dddf, free_symbol)``; each accepts real or complex arrays
    and keeps their shape.
    """
    free = sorted(expr.free_symbols, key=str)
    if len(free) != 1:
        raise ValueError(f"{name or 'function'}: expected one variable, got {free}")
    z = free[0]
    out = []
    for e in (expr, sp.diff(expr, z), sp.diff(expr, z, 2), sp.diff(expr, z, 3)):
        fn = sp.lambdify([z], e, modules="numpy", cse=True)
        if not e.free_symbols:  # a constant derivative must still broadcast
            out.append(lambda a, c=fn(0): np.full(np.shape(a), c, dtype=np.result_type(a, float)))
        else:
            out.append(fn)
    return out[0], out[1], out[2], out[3], z
