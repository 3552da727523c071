"""Stage 2, numpy evaluators of one template and the shared tables of one input.

Each distinct function of one input (rho(x), rho'(x), a post factor ...) is
evaluated once per call on the inputs the steps of :mod:`.numpy_plan` need,
in a :class:`_Tables`; an :class:`_Evaluator` gathers its other arguments
from the flat input and multiplies.
"""

from __future__ import annotations

import functools
import types

import gmpy2
import numpy as np
import sympy as sp

from .gmpy import lambdify_objects


@functools.lru_cache(maxsize=1)
def _np_modules():
    """The names lambdify gives numpy-compiled code: erf is SciPy's ufunc (not math.erf)."""
    from scipy.special import erf
    return [{"erf": erf}, "numpy"]


class NumpyCode:
    """How plans are compiled for float64 or complex128 arrays (see :data:`PLAN_CODES`)."""

    name = "numpy"

    def lambdify(self, args, expr):
        """``sympy.lambdify`` with numpy's names, common subexpressions shared."""
        return sp.lambdify(args, expr, modules=_np_modules(), cse=True)

    def number(self, c):
        """A constant of a plan: a float."""
        return float(c)

    def numbers(self, values):
        """An array of plan constants."""
        return np.array([float(c) for c in values])


class GmpyCode(NumpyCode):
    """How plans are compiled for numpy object arrays of gmpy2 numbers (:mod:`.gmpy_plan`):
    exact rational constants, gmpy2's functions element by element."""

    name = "gmpy"

    def lambdify(self, args, expr):
        return lambdify_objects(args, expr)

    def number(self, c):
        """A constant of a plan: an exact gmpy2 rational (an irrational one is refused)."""
        c = sp.Rational(c.numerator, c.denominator) if hasattr(c, "numerator") and \
            not isinstance(c, float) else sp.sympify(c)
        if isinstance(c, float) or not c.is_Rational:
            raise NotImplementedError(f"an irrational plan constant {c}")
        return gmpy2.mpq(int(c.p), int(c.q))

    def numbers(self, values):
        return np.array([self.number(c) for c in values] or [], dtype=object)


#: mode name -> how a plan is compiled for it (the ``mode`` of :class:`~.numpy_plan.NumpyPlan`)
PLAN_CODES = {"numpy": NumpyCode(), "gmpy": GmpyCode()}


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

    def __init__(self, code):
        self.code = code     # a NumpyCode: how the tables are compiled
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
            fn = self.code.lambdify([self.X], [e for e, _, _ in funcs])
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
    main = tables.code.lambdify([symbols[j] for j in used] + us, body)
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
