"""Derivation: every derivative the theorems need, as SymPy objects.

For an energy model (paper notation, MATH.md section 1)::

    dE_ds          = dE/ds                     n-vector
    d2E_ds2   H    = d2E/ds2                   n x n, symmetric
    d2E_dtheta_ds M = d2E/(dtheta ds)          p x n
    dE_dtheta, dC_ds, dC_dtheta, d2C_ds2 (for Newton on the nudged fixed point)
    dEbeta_ds = dE/ds + beta dC/ds           the nudged force, beta a symbol (paper 4.2)
    Hv = d/ds (v . dE/ds)  (= H^T v)           n-vector in auxiliary symbols v
    Mv = d/dtheta (v . dE/ds)  (= M v)         p-vector

For a vector-field model ds/dt = F(s) the same names hold the negative
force: ``dE_ds = -F``, ``d2E_ds2 = -dF/ds`` (no longer symmetric),
``d2E_dtheta_ds = -(dF/dtheta)^T``, and there is no ``dE_dtheta``.

Differentiation runs in SymEngine (a C++ symbolic core), 40-50x faster
than SymPy's ``diff`` on the layered Hopfield model (bench/RESULTS.md); the
stored expressions are SymEngine objects that convert to SymPy with
:meth:`Derivatives.sympy` or ``sympy.sympify``.

Sparsity is exploited instead of calling ``sympy.hessian`` (which
differentiates every pair): the energy is split into its additive terms,
each term is differentiated only by the variables it contains, and an entry
H_ij is formed only when s_i and s_j occur in a common term. Matrices are
stored as ``{(row, col): expr}`` dictionaries of their structural non-zeros.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import symengine as se
import sympy as sp

from eqprop.errors import EqpropError

from .model import Model
from .parse import NON_SMOOTH
from .sympy_input import SYMPY_FUNCTIONS

__all__ = ["Derivatives", "derive", "to_sympy"]


@dataclass(frozen=True, eq=False)
class Derivatives:
    """The derived quantities of a :class:`Model` (see the module docstring)."""

    model: Model
    E: se.Basic | None
    C: se.Basic
    dE_ds: tuple
    d2E_ds2: dict
    d2E_dtheta_ds: dict
    dE_dtheta: tuple | None
    dC_ds: tuple
    dC_dtheta: tuple
    d2C_ds2: dict
    beta: object
    dEbeta_ds: tuple
    v: tuple
    Hv: tuple
    Mv: tuple

    @property
    def n(self):
        return len(self.model.state)

    @property
    def p(self):
        return len(self.model.params)

    def sympy(self, name, index=None):
        """A derived quantity as SymPy: a dense :class:`sympy.Matrix`, or a scalar; with ``index``,
        entry ``index`` of a vector only (the others are not converted)."""
        shape = {"d2E_ds2": (self.n, self.n), "d2E_dtheta_ds": (self.p, self.n),
                 "d2C_ds2": (self.n, self.n)}
        cache = self.__dict__.setdefault("_sympy_memo", {})  # shared sub-expressions: once
        names = cache.get("names")
        if names is None:
            model = self.model
            names = cache["names"] = {x.name: x for x in (*model.state, *model.theta,
                                                           *model.data_symbols)}
        memo = cache.setdefault("memo", {})

        def back(e):
            return to_sympy(e, names, memo)
        if name in shape:
            m = sp.zeros(*shape[name])
            for (i, j), e in getattr(self, name).items():
                m[i, j] = back(e)
            return m
        value = getattr(self, name)
        if value is None or name in ("E", "C"):
            return None if value is None else back(value)
        if index is not None:
            return back(value[index])
        return sp.Matrix([back(e) for e in value])


#: SymEngine node types rebuilt as the SymPy class of the same name (the formula whitelist's)
_REBUILT = {"Add", "Mul", "Pow", *(cls.__name__ for cls in SYMPY_FUNCTIONS)}


def to_sympy(expr, names, memo=None):
    """A SymEngine expression as SymPy, its symbols those of ``names`` (by name: the model's real
    symbols), in time linear in its number of distinct sub-expressions.

    Not ``sympy.sympify``: that rebuilds the tree over symbols without
    assumptions, and SymPy then asks of every ``tanh(tanh(...))`` whether it
    is real, a question whose cost doubles with each level of nesting (a
    derivative of tanh nested 10 deep took 10 s, 12 deep minutes). Over the
    model's real symbols the answer is found at once, and shared
    sub-expressions are converted once (``memo``, shared between calls).
    A SymPy expression (non-smooth models are derived in SymPy) only gets its
    symbols renamed.
    """
    memo = {} if memo is None else memo
    if isinstance(expr, sp.Basic):
        return expr.xreplace({x: names[x.name] for x in expr.free_symbols
                              if x.name in names and names[x.name] != x})
    stack = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if node in memo:
            continue
        args = node.args
        if not args:
            if isinstance(node, se.Symbol):
                name = str(node)
                memo[node] = names.get(name) or sp.Symbol(name)
            else:
                memo[node] = node._sympy_()
            continue
        kind = type(node).__name__
        if kind not in _REBUILT:  # pragma: no cover - not built from a whitelisted formula
            memo[node] = to_sympy(sp.sympify(node), names)
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in args if a not in memo)
            continue
        memo[node] = getattr(sp, kind)(*[memo[a] for a in args])
    return memo[expr]


def _index_terms(terms, variables):
    """Map each variable index to the terms in which it occurs."""
    pos = {v: i for i, v in enumerate(variables)}
    where = defaultdict(list)
    for t in terms:
        for sym in t.free_symbols:
            i = pos.get(sym)
            if i is not None:
                where[i].append(t)
    return where


def _lib(expr):
    """The symbolic library an expression belongs to (SymEngine, or SymPy for non-smooth models)."""
    return sp if isinstance(expr, sp.Basic) else se


def _terms(expr):
    return expr.args if isinstance(expr, _lib(expr).Add) else (expr,)


def _gradient(expr, variables):
    """d expr / d variables, differentiating each additive term only where needed."""
    where = _index_terms(_terms(expr), variables)
    Add = _lib(expr).Add
    return tuple(Add(*[t.diff(v) for t in where.get(i, ())]) for i, v in enumerate(variables))


def _jacobian(rows, variables, symmetric=False):
    """Sparse Jacobian {(i, j): d rows[i] / d variables[j]} of structural non-zeros.

    ``symmetric``: rows are a gradient (dE/ds), so the Jacobian is a Hessian
    and H_ji = H_ij (Schwarz); only j >= i is differentiated, and the mirror
    image is the same expression object (evaluated once by codegen).
    """
    out = {}
    for i, r in enumerate(rows):
        Add = _lib(r).Add
        for j, ts in sorted(_index_terms(_terms(r), variables).items()):
            if symmetric and j < i:
                continue
            d = Add(*[t.diff(variables[j]) for t in ts])
            if d != 0:
                out[(i, j)] = d
                if symmetric and j != i:
                    out[(j, i)] = d
    return dict(sorted(out.items())) if symmetric else out


def _piecewise(expr):
    """``expr`` with each non-smooth function application rewritten, on its own, as a Piecewise.

    Folding the whole energy instead (``piecewise_fold(E.rewrite(Piecewise))``)
    multiplies out the branches of every factor of every term into one
    Piecewise over all their conditions: 161 branches for a 2-2 hard-sigmoid
    network, and no additive terms left for the sparse derivatives, so that
    SymPy ran for minutes. Here each ``Min(1, Max(0, s))`` becomes a
    three-branch Piecewise in ``s`` alone, the sum and products around it stay
    as they are, and the product rule differentiates it branch by branch.
    """
    expr = sp.sympify(expr)
    flat = {f: sp.piecewise_fold(f.rewrite(sp.Piecewise)) for f in expr.atoms(*NON_SMOOTH)}
    return expr.xreplace(flat)  # outermost applications first: Min(1, Max(0, s)) as a whole


def derive(model: Model) -> Derivatives:
    """Derive every quantity of the module docstring for ``model``."""
    if not isinstance(model, Model):
        raise EqpropError(f"derive: expected a Model (eqprop.Model, or eqprop.load_model('name')), "
                          f"got {type(model).__name__}")
    if model.non_smooth_atoms:
        # SymEngine cannot hold the conditions of Min/Max/Abs/...; SymPy
        # differentiates their Piecewise forms branch by branch (the
        # derivative almost everywhere; the kinks are reported as violated
        # assumptions, never differentiated through).
        lib, conv = sp, _piecewise
    else:
        lib, conv = se, se.sympify
    s = tuple(conv(x) for x in model.state)
    theta = tuple(conv(x) for x in model.theta)
    E = conv(model.energy) if model.has_energy else None
    C = conv(model.cost)
    if E is not None:
        dE_ds = _gradient(E, s)
        dE_dtheta = _gradient(E, theta)
    else:
        dE_ds = tuple(-conv(f) for f in model.vector_field)
        dE_dtheta = None
    H = _jacobian(dE_ds, s, symmetric=E is not None and not model.non_smooth_atoms)
    # M[k, i] = d/dtheta_k of dE/ds_i: the transpose of the Jacobian of dE_ds in theta
    M = {(k, i): e for (i, k), e in _jacobian(dE_ds, theta).items()}
    dC_ds = _gradient(C, s)
    # internal symbols start with "_", which no user name may (model.py): they
    # cannot collide with a parameter called beta or a state called v_0
    beta = lib.Symbol("_beta")
    v = tuple(lib.Symbol(f"_v{i}") for i in range(len(s)))
    Hv = [[] for _ in s]
    for (i, j), e in H.items():  # distribute v_i over the terms: better templates
        Hv[j].extend(v[i] * t for t in _terms(e))
    Mv = [[] for _ in theta]
    for (k, i), e in M.items():
        Mv[k].extend(v[i] * t for t in _terms(e))
    return Derivatives(
        model=model, E=E, C=C, dE_ds=dE_ds, d2E_ds2=H, d2E_dtheta_ds=M, dE_dtheta=dE_dtheta,
        dC_ds=dC_ds, dC_dtheta=_gradient(C, theta), d2C_ds2=_jacobian(dC_ds, s), v=v,
        beta=beta, dEbeta_ds=tuple(a + beta * b for a, b in zip(dE_ds, dC_ds)),
        Hv=tuple(lib.Add(*t) for t in Hv), Mv=tuple(lib.Add(*t) for t in Mv))
