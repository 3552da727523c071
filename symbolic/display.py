"""Human-readable derivations: what ``eqprop derive`` prints (pretty or LaTeX).

The energy and cost are printed from the SymPy expressions the model holds,
which were parsed from the NFKC-normalised text: what is shown is what runs
(a formula typed with fullwidth ``ｔａｎｈ`` is shown, and computed, as tanh).
"""

from __future__ import annotations

import itertools

import sympy as sp

from eqprop.errors import EqpropError

from .derive import derive
from .parse import escape_controls

__all__ = ["describe", "MAX_TERMS", "PRINT_BUDGET", "model_terms", "check_terms"]

#: Above this many state variables, matrices are summarized, not printed.
FULL_LIMIT = 12
#: An expression (or matrix) of more nodes than this is summarized, not printed:
#: pretty-printing grows faster than the expression (a derivative of nested
#: functions would take minutes to print).
PRINT_LIMIT = 2000
#: Most nodes printed in all: the equations after it are named, not printed (a model of hundreds
#: of state variables has hundreds of equations, each up to PRINT_LIMIT nodes).
PRINT_BUDGET = 50_000
#: Largest model ``describe`` derives: additive terms of the energy (or vector field) and cost.
#: Beyond it the derivation and its printing take minutes (``quadratic:631``: 200,000 terms,
#: 20 s to build, 30 s to derive in SymEngine, 30 s more to convert 400,000 gradient terms back
#: to SymPy, then minutes of printing) and no one reads the result.
MAX_TERMS = 20_000


def _nodes(e):
    """Nodes of ``e`` (an expression or a matrix), counted up to PRINT_LIMIT + 1."""
    parts = list(e) if isinstance(e, sp.MatrixBase) else [e]
    nodes = itertools.chain.from_iterable(sp.preorder_traversal(p) for p in parts)
    return sum(1 for _ in itertools.islice(nodes, PRINT_LIMIT + 1))


def model_terms(model):
    """Additive terms of a model's energy (or vector field) and cost: the size of its derivation."""
    return sum(len(sp.Add.make_args(e)) for e in model.expressions)


def _largest_quadratic():
    from .builtins import quadratic_terms
    return max(n for n in range(1, 1000) if quadratic_terms(n) <= MAX_TERMS)


def check_terms(terms, label="derive"):
    """Refuse, in one line, a derivation of more than MAX_TERMS terms."""
    if terms > MAX_TERMS:
        raise EqpropError(f"{label}: the model has {terms:,} terms in its energy and cost; eqprop "
                          f"derive prints models of at most {MAX_TERMS:,} (quadratic:N up to "
                          f"N = {_largest_quadratic()}); check a larger model with 'eqprop verify', a layered network "
                          "of realistic size with 'eqprop scale'")


def describe(model, *, latex=False):
    """The derived equations of ``model`` as text: what ``eqprop derive`` prints.

    In order: the energy (or vector field) and the cost, the free dynamics
    ``ds/dt = -dE/ds`` (paper 2.1), the Hessian ``H = d2E/ds2`` and the mixed
    derivative ``M = d2E/(dtheta ds)`` (printed for at most 12 state
    variables, else their counts of structural non-zeros), RBP's initial
    values ``Sbar_0 = dC/ds``, ``Thetabar_0 = dC/dtheta`` (paper 3.5-3.8) and
    EP's nudged dynamics ``ds/dt = -dE/ds - beta dC/ds`` (paper 4.2).

    Parameters
    ----------
    model : eqprop.Model
        Any model (``eqprop.load_model("two-neurons")``, ``eqprop.Model(...)``).
    latex : bool
        False (default): SymPy's ASCII pretty printing, one ``name = ...`` per
        equation, under a heading per group. True: LaTeX, the equations as
        the lines of one ``align*`` environment, each heading a ``%`` comment
        line before it (``eqprop derive --latex``).

    Returns
    -------
    str
        The text. In a notebook, ``IPython.display.Math`` renders the lines
        between ``\\begin{align*}`` and ``\\end{align*}`` inside an ``aligned``
        block.

    A model of more than :data:`MAX_TERMS` terms is refused before it is
    derived (:class:`~eqprop.errors.EqpropError`); an expression of more than
    :data:`PRINT_LIMIT` nodes is named rather than printed, and so is every
    one after :data:`PRINT_BUDGET` nodes have been printed in all.

    >>> import eqprop
    >>> print(eqprop.describe(eqprop.load_model("two-neurons")).splitlines()[0])
    eqprop derive: two neurons
    """
    check_terms(model_terms(model))
    d = derive(model)
    beta = sp.Symbol("beta")
    printer = sp.latex if latex else (lambda e, **kw: sp.pretty(e, use_unicode=False, **kw))

    def show(e):
        """Printed with SymPy's term order; that order evaluates each term numerically, which
        overflows for a constant such as exp(exp(exp(1000))): then in the order held."""
        try:
            return printer(e)
        except (OverflowError, ValueError, ZeroDivisionError):
            return printer(e, order="none")
    s = model.state
    dC = d.sympy("dC_ds")
    out = []
    printed = [0]

    def eq(lhs, rhs):
        """``lhs = rhs``; ``rhs`` may be a function that makes it, called only within the budget."""
        if printed[0] <= PRINT_BUDGET and callable(rhs):
            rhs = rhs()
        size = _nodes(rhs) if printed[0] <= PRINT_BUDGET else 0
        if size > PRINT_LIMIT or printed[0] > PRINT_BUDGET:
            note = (f"an expression of more than {PRINT_LIMIT:,} nodes" if size > PRINT_LIMIT else
                    f"{PRINT_BUDGET:,} nodes printed already")
            note += ", not printed; eqprop.derive(model) holds it"
            out.append(f"{lhs} &= \\text{{({note})}} \\\\" if latex else f"  {lhs} = ({note})")
            return
        printed[0] += size
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
    for i, si in enumerate(s):
        eq(f"\\frac{{d{sp.latex(si)}}}{{dt}}" if latex else f"d{si}/dt",
           lambda i=i: -d.sympy("dE_ds", i))
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
    for i, (si, c) in enumerate(zip(s, dC)):
        eq(f"\\frac{{d{sp.latex(si)}}}{{dt}}" if latex else f"d{si}/dt",
           lambda i=i, c=c: -d.sympy("dE_ds", i) - beta * c)
    if latex:
        out.append("\\end{align*}")
    return "\n".join(out)
