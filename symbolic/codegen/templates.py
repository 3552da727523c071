"""Stage 1, templates: every output entry as a sum of terms ``c * f(args)``.

The number ``c`` of each term is split off and the symbols of ``f`` are
renamed, in argument order, to placeholders ``_p0, _p1, ...``. Terms with the
same template (every synapse of a Hopfield layer, say) form one
:class:`_Group`, whose arguments are an integer index array into the flat
input vector. An entry equal to an earlier one (H_ji = H_ij) is kept as an
alias of it and evaluated once. The later stages (:mod:`.numpy_plan`,
:mod:`.mp`, :mod:`.gmpy`) read a :class:`Templates`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp

from eqprop.errors import EqpropError

from ..derive import _lib


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


@dataclass
class _Group:
    """Terms sharing one template."""

    template: sp.Expr
    idx: np.ndarray          # (k, m) indices into the flat input
    out: np.ndarray          # (k,) output position of each term
    coeff: list              # k exact coefficients (Fraction)


class Templates:
    """``n_out`` expressions over the flat input ``symbols``, grouped by template.

    ``entries`` is a list of ``(position, expression)`` pairs (SymPy or
    SymEngine); positions not listed are zero. ``name`` labels errors.
    """

    def __init__(self, entries, symbols, n_out, *, name):
        self.name, self.n_out, self.symbols = name, n_out, symbols
        self.entries = [(pos, _printable(expr, name)) for pos, expr in entries]
        groups = {}
        index = {str(sym): k for k, sym in enumerate(symbols)}  # by name: SymPy or SymEngine
        # an entry equal to an earlier one (H_ji = H_ij) is evaluated once and copied
        first, self.aliases = {}, {}
        for pos, expr in self.entries:
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

    @property
    def n_terms(self):
        return sum(len(g.out) for g in self.groups)

    def whole_expressions(self):
        """``(zs, outputs)``: every output as one SymPy expression in ``_z0, _z1, ...``."""
        out = [sp.Integer(0)] * self.n_out
        for pos, expr in self.entries:
            out[pos] = sp.sympify(expr)
        zs = [sp.Symbol(f"_z{k}") for k in range(len(self.symbols))]
        index = {str(s): z for s, z in zip(self.symbols, zs)}
        return zs, [e.xreplace({x: index[str(x)] for x in e.free_symbols}) for e in out]
