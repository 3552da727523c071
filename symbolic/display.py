"""Human-readable derivations: what ``eqprop derive`` prints (pretty or LaTeX).

The energy and cost are printed from the SymPy expressions the model holds,
which were parsed from the NFKC-normalised text: what is shown is what runs
(a formula typed with fullwidth ``ｔａｎｈ`` is shown, and computed, as tanh).
"""

from __future__ import annotations

import itertools

import sympy as sp

from .derive import derive
from .parse import escape_controls

__all__ = ["describe"]

#: Above this many state variables, matrices are summarized, not printed.
FULL_LIMIT = 12
#: An expression (or matrix) of more nodes than this is summarized, not printed:
#: pretty-printing grows faster than the expression (a derivative of nested
#: functions would take minutes to print).
PRINT_LIMIT = 2000


def _too_large(e):
    """True when ``e`` (an expression or a matrix) has more than PRINT_LIMIT nodes."""
    parts = list(e) if isinstance(e, sp.MatrixBase) else [e]
    nodes = itertools.chain.from_iterable(sp.preorder_traversal(p) for p in parts)
    return sum(1 for _ in itertools.islice(nodes, PRINT_LIMIT + 1)) > PRINT_LIMIT


def describe(model, *, latex=False):
    """The derived free dynamics, Hessian, mixed derivative and EP/RBP equations."""
    d = derive(model)
    beta = sp.Symbol("beta")
    show = (lambda e: sp.latex(e)) if latex else (lambda e: sp.pretty(e, use_unicode=False))
    s = model.state
    grad = d.sympy("dE_ds")
    dC = d.sympy("dC_ds")
    out = []

    def eq(lhs, rhs):
        if _too_large(rhs):
            note = (f"an expression of more than {PRINT_LIMIT:,} nodes, not printed; "
                    "eqprop.derive(model) holds it")
            out.append(f"{lhs} &= \\text{{({note})}} \\\\" if latex else f"  {lhs} = ({note})")
            return
        if latex:
            out.append(f"{lhs} &= {show(rhs)} \\\\")
        else:
            body = show(rhs)
            pad = " " * (len(lhs) + 5)
            lines = body.split("\n")
            # pretty-printed fractions span lines: align them after the '='
            out.append("\n".join((f"  {lhs} = " if k == len(lines) // 2 else pad) + ln
                                 for k, ln in enumerate(lines)))

    head = (lambda t: out.append(f"% {t}")) if latex else (lambda t: out.append(f"\n{t}"))
    name = escape_controls(model.name)  # validated by Model; escaped again, it is printed
    out.append(f"% eqprop derive: {name}" if latex else f"eqprop derive: {name}")
    if latex:
        out.append("\\begin{align*}")
    if model.has_energy:
        head("energy and cost")
        eq("E" if not latex else "E", model.energy)
    else:
        head("vector field (no energy): ds/dt = F(s)")
    eq("C", model.cost)
    head("free dynamics (paper 2.1): ds/dt = -dE/ds" if model.has_energy else "free dynamics: ds/dt = F(s)")
    for si, g in zip(s, grad):
        eq(f"\\frac{{d{sp.latex(si)}}}{{dt}}" if latex else f"d{si}/dt", -g)
    if len(s) <= FULL_LIMIT:
        head("Hessian H = d2E/ds2 (RBP's side network, paper 3.5)")
        eq("H", d.sympy("d2E_ds2"))
        head("mixed derivative M = d2E/(dtheta ds) (paper 3.7)")
        eq("M", d.sympy("d2E_dtheta_ds"))
    else:
        head(f"H has {len(d.d2E_ds2)} structural non-zeros of {len(s) ** 2}; "
             f"M has {len(d.d2E_dtheta_ds)} of {len(s) * len(model.params)}")
    head("RBP, Theorem 1 (paper 3.5-3.8): Sbar_0 = dC/ds(s0), d/dt Sbar = -H(s0) Sbar, "
         "Thetabar_0 = dC/dtheta(s0), d/dt Thetabar = -M(s0) Sbar")
    eq("\\bar S_0" if latex else "Sbar_0", dC)
    eq("\\bar\\Theta_0" if latex else "Thetabar_0", d.sympy("dC_dtheta"))
    head("EP, nudged dynamics (paper 4.2): ds/dt = -dE/ds - beta dC/ds")
    for si, g, c in zip(s, grad, dC):
        eq(f"\\frac{{d{sp.latex(si)}}}{{dt}}" if latex else f"d{si}/dt", -g - beta * c)
    if latex:
        out.append("\\end{align*}")
    return "\n".join(out)
