"""Is an array model smooth? The scalar functions of its elementwise parts, read by SymPy.

The complex step and the theorems need a twice differentiable energy; a
per-neuron model file has its non-smooth functions flagged when it is parsed.
An array model's functions act entry by entry, so :func:`check_smooth` writes
each elementwise part as one real SymPy expression (:class:`_Elementwise`)
and looks for the functions SymPy knows to be non-smooth in it.
"""

from __future__ import annotations

import sympy as sp

from eqprop.errors import EqpropError

from ..parse import NON_SMOOTH
from . import ir
from .display import text as ir_text

__all__ = ["check_smooth"]


def check_smooth(model):
    """Refuse (one line) an array model with a non-smooth function: the complex step and the
    theorems need twice differentiable functions (a per-neuron model file gets them flagged).

    Besides the functions of ``[functions]``, every fractional power is read as a function of
    real numbers, so that a composition SymPy knows to be non-smooth, ``sqrt((s - 1)**2)`` =
    ``Abs(s - 1)``, is found as ``eqprop verify`` finds it. Parts without a state or a
    parameter are numbers there (data, constants): exempt here too.
    """
    roots = [model.energy, model.cost] if model.has_energy else \
        list(model.vector_field.values()) + [model.cost]
    scalar = _Elementwise(roots)
    for n in ir.walk(roots):
        if not scalar.live[id(n)]:
            continue
        if n.op == "fn":
            found = n.attrs[2].atoms(*NON_SMOOTH) or scalar(n).atoms(*NON_SMOOTH)
            what = n.attrs[0] if n.attrs[2].atoms(*NON_SMOOTH) else f"{ir_text(n)[:60]}"
        elif n.op == "pow" and n.args[1].op == "num" and not n.args[1].attrs[0].is_integer:
            expr = sp.Pow(scalar(n.args[0]), n.args[1].attrs[0])
            found, what = expr.atoms(*NON_SMOOTH), f"the power {ir_text(n)[:60]}"
        else:
            continue
        if found:
            kinds = ", ".join(sorted({type(a).__name__ for a in found}))
            raise EqpropError(f"{what} is not smooth ({kinds}): "
                              "the theorems need a twice differentiable energy, and the complex "
                              "step a smooth one; eqprop verify flags it on a small model")


class _Elementwise:
    """The elementwise part of an array expression as one real SymPy expression, per node.

    A sum or a product of arrays becomes a real symbol, and so does a part with no state and
    no parameter in it (data are numbers in ``eqprop verify``, where |x| is smooth) and a part
    whose expression grew past ``MAX_OPS`` operations (nested functions grow it exponentially,
    and SymPy's assumptions would take minutes). Entry-preserving operations (roll, transpose,
    reshape, broadcast) are transparent. One memo serves every node of the model.
    """

    MAX_OPS = 40

    def __init__(self, roots):
        self.live, self.memo, self.leaves = {}, {}, {}
        for n in ir.walk(roots):
            self.live[id(n)] = (n.op == "var" and n.attrs[1] in ("state", "param")) or \
                any(self.live[id(a)] for a in n.args)

    def _leaf(self, n):
        return self.leaves.setdefault(id(n), sp.Symbol(f"a{len(self.leaves)}", real=True))

    def __call__(self, node):
        for n in ir.walk([node], stop=self.memo):  # operands first: no recursion
            self.memo[id(n)] = self._one(n)
        return self.memo[id(node)]

    def _one(self, n):
        a = [self.memo.get(id(x)) for x in n.args]
        if n.op == "num":
            return n.attrs[0]
        if not self.live[id(n)]:
            return self._leaf(n)
        if n.op in ("roll", "transpose", "reshape", "broadcast"):
            return a[0]
        if n.op == "neg":
            out = -a[0]
        elif n.op == "add":
            out = a[0] + a[1]
        elif n.op == "mul":
            out = a[0] * a[1]
        elif n.op == "pow":
            out = a[0] ** a[1]
        elif n.op == "fn":
            name, order, expr = n.attrs
            z = sp.Symbol("z", real=True)
            out = (sp.diff(expr, z, order) if order else expr).subs(z, a[0])
        else:
            return self._leaf(n)
        return out if sp.count_ops(out) <= self.MAX_OPS else self._leaf(n)
