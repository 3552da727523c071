"""What ``eqprop derive`` prints for an array model: the derivation in matrix notation.

The blocks of :mod:`eqprop.symbolic.display` (headings, notes, equations as
text and LaTeX): the declared arrays, the energy and cost as written, and
each derived quantity per state block or parameter, exactly the expressions
the realistic-size code is generated from (:mod:`.program`)::

    dE/ds1 = s1 - rho'(s1) * (W01^T rho(s0) + W12 rho(x))

For a teacher this is the derivation students do by hand; for a reviewer, the
generated ``H v`` can be read against it (``Program.source`` carries each
line's expression as a comment).
"""

from __future__ import annotations

import sympy as sp

from .display import latex, text
from .program import derive_arrays

__all__ = ["array_blocks"]

#: An expression printed longer than this many characters is named, not printed.
MAX_CHARS = 4000
_z = sp.Symbol("z", real=True)


def _shape(shape):
    return "scalar" if not shape else " x ".join(map(str, shape))


def _eq(lhs, lhs_tex, node, written=None):
    """An equation block; ``written``: the formula's text as the model gives it (shown as is)."""
    t = written or text(node)
    if len(t) > MAX_CHARS:
        return ("math", f"{lhs} = (an expression of {len(t):,} characters, not printed)",
                f"{lhs_tex} &= \\text{{(not printed: {len(t):,} characters)}}")
    return ("math", f"{lhs} = {t}", f"{lhs_tex} &= {latex(node)}")


def _tex_name(name):
    return sp.latex(sp.Symbol(name))


def array_blocks(model):
    """The blocks of ``eqprop derive`` for an :class:`~.model.ArrayModel`."""
    d = derive_arrays(model)
    blocks = [("head", "model (an array model: every quantity below is per example; over a batch "
                       "a parameter's derivatives are summed)")]
    if model.dims:
        blocks.append(("note", "sizes: " + ", ".join(f"{k} = {v}" for k, v in model.dims.items())))
    blocks.append(("note", "state s: " + "; ".join(f"{b} ({_shape(s)})" for b, s in model.state.items())
                   + f" -- {model.n_state:,} units"))
    for role, label in (("param", "parameters theta"), ("constant", "constants"), ("data", "data")):
        names = [f"{n} ({_shape(s.shape)})" for n, s in model.specs.items() if s.role == role]
        if names:
            blocks.append(("note", f"{label}: " + "; ".join(names)))
    if model.functions:
        for name, expr in model.functions.items():
            blocks.append(("math", f"{name}(z) = {sp.sstr(expr)}",
                           f"{_tex_name(name)}(z) &= {sp.latex(expr)}"))
    written = model.formulas
    if model.has_energy:
        blocks.append(("head", "energy and cost, as written"))
        blocks.append(_eq("E", "E", model.energy, written.get("energy")))
    else:
        blocks.append(("head", "vector field and cost, as written: ds/dt = F(s)"))
        for b, f in model.vector_field.items():
            blocks.append(_eq(f"F_{b}", f"F_{{{_tex_name(b)}}}", f, written.get(f"vector_field '{b}'")))
    blocks.append(_eq("C", "C", model.cost, written.get("cost")))
    blocks.append(("head", "free dynamics (paper 2.1): ds/dt = -dE/ds, per state block" if model.has_energy
                   else "the negative force g = -F, per state block"))
    for b, g in d.g.items():
        lhs = f"dE/d{b}" if model.has_energy else f"g_{b}"
        blocks.append(_eq(lhs, f"\\frac{{\\partial E}}{{\\partial {_tex_name(b)}}}" if model.has_energy
                          else f"g_{{{_tex_name(b)}}}", g))
    tangents = ", ".join(v.attrs[0] for v in d.v.values())
    blocks.append(("head", f"Hessian-vector product H v, v = ({tangents}) (RBP's side network, "
                           "paper 3.5): the tangent of dE/ds along v"))
    for b, h in d.Hv.items():
        blocks.append(_eq(f"(H v)_{b}", f"(H v)_{{{_tex_name(b)}}}", h))
    if model.has_energy:
        blocks.append(("note", "H is symmetric: eqprop scale computes H^T v = d/ds (v . dE/ds) by "
                               "the reverse route as well, and compares the two (the gradient-field "
                               "hypothesis)"))
    else:
        blocks.append(("head", "the transpose H^T v = d/ds (v . g): RBP's side network (a vector "
                               "field's H is not symmetric)"))
        for b, h in d.HTv.items():
            blocks.append(_eq(f"(H^T v)_{b}", f"(H^T v)_{{{_tex_name(b)}}}", h))
    blocks.append(("head", "mixed derivative M v = d/dtheta (v . dE/ds) (paper 3.7), per parameter"))
    for p, m in d.Mv.items():
        blocks.append(_eq(f"(M v)_{p}", f"(M v)_{{{_tex_name(p)}}}", m))
    if model.has_energy:
        blocks.append(("head", "EP's readout dE/dtheta (paper 4.4), per parameter"))
        for p, e in d.E_theta.items():
            blocks.append(_eq(f"dE/d{p}", f"\\frac{{\\partial E}}{{\\partial {_tex_name(p)}}}", e))
    blocks.append(("head", "RBP's initial values (paper 3.5-3.6): Sbar_0 = dC/ds(s0), "
                           "Thetabar_0 = dC/dtheta(s0)"))
    zero = [b for b, c in d.C_s.items() if c.op == "zeros"]
    for b, c in d.C_s.items():
        if c.op != "zeros":
            blocks.append(_eq(f"dC/d{b}", f"\\frac{{\\partial C}}{{\\partial {_tex_name(b)}}}", c))
    if zero:
        blocks.append(("note", f"dC/ds = 0 on {', '.join(zero)}: the cost reads the other blocks only"))
    nonzero = {p: c for p, c in d.C_theta.items() if c.op != "zeros"}
    for p, c in nonzero.items():
        blocks.append(_eq(f"dC/d{p}", f"\\frac{{\\partial C}}{{\\partial {_tex_name(p)}}}", c))
    if not nonzero:
        blocks.append(("note", "dC/dtheta = 0: the cost depends on theta only through s"))
    from ..summary import vector_form_blocks
    return blocks + vector_form_blocks(model)
