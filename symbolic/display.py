"""Human-readable derivations: what ``eqprop derive`` prints (text or LaTeX).

By default a bounded summary (:mod:`.summary`); with ``full=True`` every
equation and every structural non-zero of H and M, one entry per line.
The energy and cost are printed from the expressions the model holds,
which were parsed from the NFKC-normalised text: what is shown is what runs
(a formula typed with fullwidth ``ｔａｎｈ`` is shown, and computed, as tanh).
LaTeX output is ASCII: a standalone document that needs only amsmath, or one ``align*``
environment (the rows a notebook renders). The blocks are written out by
:mod:`.printing`.
"""

from __future__ import annotations

import itertools

import sympy as sp

from eqprop.errors import EqpropError

from . import summary
from .derive import derive
from .forms import latex_name
from .numbers import escape_controls
from .printing import write_latex, write_text
from .summary import model_blocks, pattern_blocks, summary_blocks, vector_form_blocks

__all__ = ["describe", "MAX_TERMS", "PRINT_BUDGET", "FULL_BUDGET", "model_terms", "check_terms"]

#: A summary's expression of more nodes than this is named, not printed: no one reads it there.
PRINT_LIMIT = 2000
#: Most nodes a summary prints in all (it stays far below: its expressions are grouped).
PRINT_BUDGET = 50_000
#: The same two limits for ``full=True``, whose printing is linear in the nodes (one-line text or
#: LaTeX; about 20 us a node: hopfield:20,40,40,10 prints 510,000 nodes in about 11 s). Beyond
#: the budget, the rest of a section's equations are named in one line.
FULL_PRINT_LIMIT = 100_000
FULL_BUDGET = 1_000_000
#: Largest model ``describe`` derives: additive terms of the energy (or vector field) and cost.
#: Beyond it the derivation and its printing take minutes (``quadratic:631``: 200,000 terms,
#: 20 s to build, 30 s to derive in SymEngine, 30 s more to convert 400,000 gradient terms back
#: to SymPy, then minutes of printing) and no one reads the result.
MAX_TERMS = 20_000


def _nodes(e, limit):
    """Nodes of ``e`` (an expression or a matrix), counted up to ``limit + 1``."""
    parts = list(e) if isinstance(e, sp.MatrixBase) else [e]
    nodes = itertools.chain.from_iterable(sp.preorder_traversal(p) for p in parts)
    return sum(1 for _ in itertools.islice(nodes, limit + 1))


def model_terms(model):
    """Additive terms of a model's energy (or vector field) and cost: the size of its derivation."""
    return sum(len(sp.Add.make_args(e)) for e in model.expressions)


def _largest_quadratic():
    from .networks import quadratic_terms
    return max(n for n in range(1, 1000) if quadratic_terms(n) <= MAX_TERMS)


def check_terms(terms, label="derive"):
    """Refuse, in one line, a derivation of more than MAX_TERMS terms."""
    if terms > MAX_TERMS:
        raise EqpropError(f"{label}: the model has {terms:,} terms in its energy and cost; eqprop "
                          f"derive prints models of at most {MAX_TERMS:,} (quadratic:N up to "
                          f"N = {_largest_quadratic()}); check a larger model with 'eqprop verify', a layered network "
                          "of realistic size with 'eqprop scale'")


def describe(model, *, latex=False, full=False, document=False):
    """The derived equations of ``model`` as text: what ``eqprop derive`` prints.

    By default a summary of bounded size, whatever the model's (see
    :mod:`eqprop.symbolic.summary`): the model's names, sizes and terms; the
    energy and cost with terms of one form written as one sum; the free
    dynamics ``ds/dt = -dE/ds`` (paper 2.1) of one unit per layer, or of the
    first units; the sparsity pattern of ``H = d2E/ds2`` (a picture up to 40
    state variables, counts by block of layers beyond); ``M = d2E/(dtheta ds)``
    by parameter family; the cost's gradient; and the RBP and EP equations
    (paper 3.5-3.8, 4.2-4.4, 5.4-5.5) once, in vector form.

    Parameters
    ----------
    model : eqprop.Model
        Any model (``eqprop.load_model("two-neurons")``, ``eqprop.Model(...)``).
    latex : bool
        False (default): text, every equation on one line in SymPy's syntax
        (a summary's long sum a term a line). True: LaTeX, in ASCII.
    document : bool
        With ``latex``: True, a standalone document that needs amsmath only
        (``\\documentclass{article}``, a section per heading, the H pattern
        verbatim; what ``eqprop derive --latex`` prints); False (default),
        one ``align*`` environment, its every other line a ``%`` comment
        (headings and notes): drop the lines starting with ``%``,
        ``\\begin`` and ``\\end`` to render the rows in an ``aligned`` block
        (``IPython.display.Math``).
    full : bool
        True: everything instead of the summary (``eqprop derive --full``):
        the energy, cost and every unit's free and nudged dynamics, and each
        structural non-zero of H and M on its own line (``H[s_i, s_j] = ...``;
        for an energy, ``j >= i`` only: H is symmetric). In text, each
        equation is one line in SymPy's syntax.

    Returns
    -------
    str
        The text.

    A model of more than :data:`MAX_TERMS` terms is refused before it is
    derived (:class:`~eqprop.errors.EqpropError`); an expression of more than
    :data:`PRINT_LIMIT` nodes (:data:`FULL_PRINT_LIMIT` with ``full``) is
    named rather than printed, and so is every one after
    :data:`PRINT_BUDGET` (:data:`FULL_BUDGET`) nodes have been printed in all.

    >>> import eqprop
    >>> print(eqprop.describe(eqprop.load_model("two-neurons")).splitlines()[0])
    eqprop derive: two neurons
    """
    from .arrays.model import ArrayModel
    from .model import Model
    if isinstance(model, ArrayModel):
        from .arrays.describe import array_blocks
        name = escape_controls(model.name)
        blocks = _budgeted(array_blocks(model), True)
        return write_latex(blocks, name, "", True, document) if latex else \
            write_text(blocks, name, "", True)
    if not isinstance(model, Model):
        raise EqpropError(f"describe: expected an eqprop.Model or ArrayModel, got "
                          f"{type(model).__name__}; build one with eqprop.Model(...) or "
                          "eqprop.load_model(name)")
    check_terms(model_terms(model))
    d = derive(model)
    blocks = _budgeted(_full_blocks(model, d) if full else summary_blocks(model, d), full)
    name = escape_controls(model.name)  # validated by Model; escaped again, it is printed
    tail = ("" if full else "(a summary: 'eqprop derive --full' prints every equation and every "
                            "non-zero entry of H and M)")
    return (write_latex(blocks, name, tail, full, document) if latex else
            write_text(blocks, name, tail, full))


def _full_blocks(model, d):
    """Every equation: the blocks of ``describe(model, full=True)``."""
    s = [x.name for x in model.state]
    p = [x.name for x in model.theta]
    tex = {n: latex_name(n) or sp.latex(sp.Symbol(n)) for n in (*s, *p)}
    taken = {x.name for x in (*model.state, *model.theta, *model.data_symbols)}
    beta = sp.Symbol(next(b for b in ("beta", "beta_nudge", "_beta") if b not in taken))
    blocks = model_blocks(model, d)
    if model.has_energy:
        blocks += [("head", "energy and cost"), ("eq", "E", "E", model.energy)]
    else:
        blocks += [("head", "cost")]
    blocks.append(("eq", "C", "C", model.cost))
    blocks.append(("head", "free dynamics (paper 2.1): ds/dt = -dE/ds" if model.has_energy
                   else "free dynamics: ds/dt = F(s) (a vector field, no energy)"))
    blocks += [("eq", f"d{n}/dt", f"\\frac{{d{tex[n]}}}{{dt}}", lambda i=i: -d.sympy("dE_ds", i))
               for i, n in enumerate(s)]
    symmetric = summary.symmetric(model, d)
    blocks.append(("head", "Hessian H = d2E/ds2 (RBP's side network, paper 3.5): its "
                           f"{len(d.d2E_ds2):,} structural non-zeros"
                           + (", j >= i (H is symmetric)" if symmetric else "")))
    blocks += pattern_blocks(model, d)[1:]
    blocks += [("eq", f"H[{s[i]}, {s[j]}]", f"H_{{{tex[s[i]]},\\,{tex[s[j]]}}}",
                lambda e=e: _entry(d, e))
               for (i, j), e in d.d2E_ds2.items() if not (symmetric and j < i)]
    blocks.append(("head", "mixed derivative M = d2E/(dtheta ds) (paper 3.7): its "
                           f"{len(d.d2E_dtheta_ds):,} structural non-zeros"))
    blocks += [("eq", f"M[{p[k]}, {s[i]}]", f"M_{{{tex[p[k]]},\\,{tex[s[i]]}}}",
                lambda e=e: _entry(d, e)) for (k, i), e in sorted(d.d2E_dtheta_ds.items())]
    blocks.append(("head", "RBP's initial values (paper 3.5-3.6): Sbar_0 = dC/ds(s0), "
                           "Thetabar_0 = dC/dtheta(s0); their non-zero entries"))
    dC = [(i, e) for i, e in enumerate(d.dC_ds) if e != 0]
    blocks += [("eq", f"dC/d{s[i]}", f"\\frac{{\\partial C}}{{\\partial {tex[s[i]]}}}",
                lambda e=e: _entry(d, e)) for i, e in dC]
    blocks += [("eq", f"dC/d{p[k]}", f"\\frac{{\\partial C}}{{\\partial {tex[p[k]]}}}",
                lambda e=e: _entry(d, e)) for k, e in enumerate(d.dC_dtheta) if e != 0]
    if all(e == 0 for e in d.dC_dtheta):
        blocks.append(("note", "dC/dtheta = 0: the cost depends on theta only through s"))
    blocks.append(("head", "EP, nudged dynamics (paper 4.2): ds/dt = -dE/ds - beta dC/ds; "
                           "the units where dC/ds is not zero (the others move as in the free phase)"))
    blocks += [("eq", f"d{s[i]}/dt", f"\\frac{{d{tex[s[i]]}}}{{dt}}",
                lambda i=i, e=e: -d.sympy("dE_ds", i) - beta * _entry(d, e)) for i, e in dC]
    return blocks + vector_form_blocks(model)


def _entry(d, e):
    """One derived SymPy entry from its SymEngine expression (``Derivatives.sympy`` converts
    whole matrices)."""
    from .derive import to_sympy
    cache = d.__dict__.setdefault("_sympy_memo", {})
    names = cache.get("names")
    if names is None:
        m = d.model
        names = cache["names"] = {x.name: x for x in (*m.state, *m.theta, *m.data_symbols)}
    return to_sympy(e, names, cache.setdefault("memo", {}))


def _budgeted(blocks, full):
    """The blocks with each equation's right side made (a function is called only within the
    budget): ``("eq", lhs, lhs_latex, rhs)``, with rhs None and a fifth item, the reason, for an
    expression of more than PRINT_LIMIT nodes (FULL_PRINT_LIMIT with ``full``); once PRINT_BUDGET
    (FULL_BUDGET) nodes are printed, the rest of a section's equations are named in one note."""
    limit, budget = (FULL_PRINT_LIMIT, FULL_BUDGET) if full else (PRINT_LIMIT, PRINT_BUDGET)
    out, run, printed = [], [], 0

    def flush():
        if run:
            names = run[0] if len(run) == 1 else f"{run[0]} .. {run[-1]}"
            out.append(("note", f"{_count(len(run), 'more equation')} ({names}): not printed, "
                                f"{budget:,} nodes printed already; eqprop.derive(model) "
                                "holds them"))
            run.clear()
    for b in blocks:
        if b[0] != "eq":
            flush()
            out.append(b)
            continue
        if printed > budget:
            run.append(b[1])
            continue
        rhs = b[3]() if callable(b[3]) else b[3]
        size = _nodes(rhs, limit)
        if size > limit:
            out.append((*b[:3], None, f"an expression of more than {limit:,} nodes"))
            continue
        printed += size
        out.append((*b[:3], rhs))
    flush()
    return out


def _count(k, word):
    return f"{k:,} {word}{'s' if k != 1 else ''}"
