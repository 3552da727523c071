"""What ``eqprop derive`` prints by default: a structured summary of a derivation.

The summary is bounded whatever the model's size: the model's names by
family (``W01_i_j, i = 0..19, j = 0..39``), the energy and cost with terms of
one form written as one sum, the free dynamics of one unit per layer (or
the first few units), the sparsity pattern of H as a small picture (or
block counts), M by parameter family, and the RBP and EP equations once, in
vector form. ``eqprop derive --full`` prints every equation instead
(:mod:`.display`).

*Form.* Two terms have the same form when they differ only in the indices
of their names (``s0_3`` and ``s0_7``: base ``s0``, index 3 and 7). Terms of
one form whose indices run over a full grid of integer ranges (or over pairs
``i < j``) are written as one ``Sum``; any other group of more than two as
``[k terms like <the first>]``. A
unit's equation has the same form as another's when the two have the same
terms up to their indices; the summary says how many units share each form.
"""

from __future__ import annotations

from collections import Counter

import sympy as sp

from .forms import FAMILIES_SHOWN, Forms, latex_name, name_families, split_name
from .forms import count as _count

__all__ = ["Forms", "split_name", "name_families", "summary_blocks", "model_blocks",
           "vector_form_blocks", "pattern_blocks", "latex_name",
           "PATTERN_LIMIT", "UNIT_LIMIT"]

#: Largest n whose Hessian pattern is drawn character by character.
PATTERN_LIMIT = 40
#: Largest number of units whose equations are all printed (unlayered models); beyond, the first
#: SHOW_FIRST and a count.
UNIT_LIMIT = 12
SHOW_FIRST = 4
#: At most this many forms (of one layer's equations, or of the cost's gradient) are shown.
FORMS_SHOWN = 3

# -- the summary ------------------------------------------------------------------------------

def _layers(model, forms):
    """[(name, first index, stop)] of the state's layers; one unnamed slice without layers."""
    n = len(model.state)
    if not model.layers:
        return [(None, 0, n)]
    out, start = [], 0
    for size in model.layers[:-1]:
        bases = {forms._split(x.name)[0] for x in model.state[start:start + size]}
        out.append((bases.pop() if len(bases) == 1 else None, start, start + size))
        start += size
    if None in [name for name, _, _ in out] or len({name for name, _, _ in out}) < len(out):
        out = [(str(k), a, b) for k, (_, a, b) in enumerate(out)]  # layers without a name each
    return out


def _unit_lhs(name, kind):
    tex = latex_name(name) or sp.latex(sp.Symbol(name))
    if kind == "dt":
        return f"d{name}/dt", f"\\frac{{d{tex}}}{{dt}}"
    return f"d{kind}/d{name}", f"\\frac{{\\partial {kind}}}{{\\partial {tex}}}"


def _entries(forms, exprs, indices, names, kind, sign, *, first_only):
    """Equations of the entries ``indices`` of ``exprs``, grouped by form: with ``first_only``
    the first entry of each form (at most FORMS_SHOWN forms), else the first SHOW_FIRST."""
    by_form = {}
    for i in indices:
        by_form.setdefault(forms.form(exprs[i]), []).append(i)
    if first_only:
        shown = [members[0] for members in list(by_form.values())[:FORMS_SHOWN]]
    else:
        shown = list(indices) if len(indices) <= UNIT_LIMIT else list(indices)[:SHOW_FIRST]
    blocks = [("eq", *_unit_lhs(names[i], kind),
               lambda i=i: forms.grouped(exprs[i], sign=sign)) for i in shown]
    rest = len(indices) - len(shown)
    if rest:
        if len(by_form) == 1:
            how = ("the same form (the same terms, with their own indices)" if first_only else
                   f"all {len(indices):,} of one form (the same terms, with their own indices)")
        else:
            how = f"{len(by_form):,} forms among the {len(indices):,}, the first of each shown" \
                if first_only else f"{len(by_form):,} forms among all {len(indices):,}"
        blocks.append(("note", f"... and {_count(rest, 'more equation')}: {how}"))
    return blocks


def _dynamics(model, d, forms, layers):
    names = [x.name for x in model.state]
    if model.has_energy:
        head = "free dynamics (paper 2.1): ds/dt = -dE/ds"
    else:
        head = "free dynamics: ds/dt = F(s) (a vector field, no energy)"
    blocks = [("head", head + (", by layer" if model.layers else ""))]
    for name, a, b in layers:
        if name is not None:
            blocks.append(("note", f"layer {name}: {_count(b - a, 'unit')}"))
        blocks += _entries(forms, d.dE_ds, range(a, b), names, "dt", -1,
                           first_only=name is not None)
    return blocks


def model_blocks(model, d):
    """The model: its names by family, sizes, inputs and targets."""
    state = [x.name for x in model.state]
    energy_syms = model.energy.free_symbols if model.has_energy else set().union(
        *(f.free_symbols for f in model.vector_field))
    inputs = [x.name for x in model.data_symbols if x in energy_syms]
    targets = [x.name for x in model.data_symbols if x not in energy_syms]
    blocks = [("head", "model"),
              ("note", f"state s ({len(state):,}): {name_families(state)}")]
    if model.layers:
        sizes = ", ".join(str(k) for k in model.layers[:-1])
        blocks.append(("note", f"layers: {sizes} (output first), then an input layer of "
                               f"{model.layers[-1]:,} (clamped)"))
    blocks.append(("note", f"parameters theta ({len(model.theta):,}): "
                           f"{name_families([x.name for x in model.theta]) or 'none'}"))
    where = "E" if model.has_energy else "F"
    blocks.append(("note", f"inputs x ({len(inputs):,}; data in {where}, clamped): "
                           f"{name_families(inputs) or 'none'}"))
    blocks.append(("note", f"targets y ({len(targets):,}; data only in C): "
                           f"{name_families(targets) or 'none'}"))
    if model.has_energy:
        blocks.append(("note", f"E: {_count(len(Forms.terms(d.E)), 'additive term')}; "
                               f"C: {_count(len(Forms.terms(d.C)), 'additive term')}"))
    return blocks


def symmetric(model, d):
    """Whether derive stored H as symmetric: an energy derived in SymEngine (a non-smooth one is
    derived in SymPy, entry by entry; ``model.non_smooth`` walks the whole energy again)."""
    return model.has_energy and not isinstance(d.C, sp.Basic)


def pattern_blocks(model, d, layers=None):
    """The sparsity pattern of H: a picture up to PATTERN_LIMIT state variables, else counts by
    block of layers (or a picture of blocks of entries, without layers)."""
    layers = layers or _layers(model, Forms(model))
    n, nnz = len(model.state), len(d.d2E_ds2)
    sym = " (symmetric)" if symmetric(model, d) else ""
    what = "Hessian H = d2E/ds2" if model.has_energy else "Jacobian H = -dF/ds"
    head = [("head", f"{what} (RBP's side network, paper 3.5): {n:,} x {n:,}{sym}, "
                     f"{_count(nnz, 'structural non-zero')} of {n * n:,}")]
    nz = d.d2E_ds2
    bounds = [a for _, a, _ in layers[1:]]
    if n <= PATTERN_LIMIT:
        width = max(len(x.name) for x in model.state)
        label = [x.name.ljust(width) if x.name.isascii() else "?" * width for x in model.state]
        lines = []
        for i in range(n):
            if i in bounds:
                lines.append(" " * width + " " + "".join(
                    "+" if j in bounds else "-" for j in range(n)) + "-")
            cells = "".join(("|" if j in bounds else "") + ("x" if (i, j) in nz else ".")
                            for j in range(n))
            lines.append(f"{label[i]} {cells}")
        return head + [("note", "x: a non-zero entry, .: zero" +
                                (", lines between layers" if bounds else ""))] + [("picture", lines)]
    if layers[0][0] is not None:
        names = [name for name, _, _ in layers]
        count = Counter()
        where = {}
        for k, (_, a, b) in enumerate(layers):
            for i in range(a, b):
                where[i] = k
        for i, j in nz:
            count[where[i], where[j]] += 1
        width = max(max(len(x) for x in names), len(str(n * n)) * 2 + 1) + 2
        lines = [" " * width + "".join(x.rjust(width) for x in names)]
        for k, (name, a, b) in enumerate(layers):
            row = "".join(f"{count[k, m]:,}/{(b - a) * (c - e):,}".rjust(width)
                          for m, (_, e, c) in enumerate(layers))
            lines.append(name.ljust(width) + row)
        return head + [("note", "non-zeros / entries, by block of layers")] + [("picture", lines)]
    step = -(-n // PATTERN_LIMIT)
    cells = Counter((i // step, j // step) for i, j in nz)
    size = -(-n // step)
    lines = ["".join(" " if not cells[r, c] else "#" if cells[r, c] == _area(r, c, step, n) else "+"
                     for c in range(size)) for r in range(size)]
    return head + [("note", f"each character a block of {step} x {step} entries: #: all non-zero, "
                            "+: some, blank: none")] + [("picture", [f"|{ln}|" for ln in lines])]


def _area(r, c, step, n):
    return (min(n, (r + 1) * step) - r * step) * (min(n, (c + 1) * step) - c * step)


def _mixed(model, d, layers):
    theta = [x.name for x in model.theta]  # a property that builds a tuple: once
    n, p = len(model.state), len(theta)
    rows = Counter(k for k, _ in d.d2E_dtheta_ds)
    reach = {}
    for k, i in d.d2E_dtheta_ds:
        reach.setdefault(k, set()).add(i)
    what = "d2E/(dtheta ds)" if model.has_energy else "-(dF/dtheta)^T"
    blocks = [("head", f"mixed derivative M = {what} (paper 3.7): {p:,} x {n:,}, "
                       f"{_count(len(d.d2E_dtheta_ds), 'structural non-zero')} of {p * n:,}")]
    grad = "dE/ds" if model.has_energy else "F"
    owner = {}
    for name, a, b in layers:
        for i in range(a, b):
            owner[i] = name
    fams = {}
    for k, x in enumerate(theta):
        base, idx = split_name(x)
        fams.setdefault((base, len(idx)) if idx else (x, 0), []).append(k)
    items = list(fams.items())
    for (base, arity), ks in items[:FAMILIES_SHOWN]:
        label = name_families([theta[k] for k in ks])
        counts = sorted({rows[k] for k in ks})
        span = str(counts[0]) if len(counts) == 1 else f"{counts[0]}..{counts[-1]}"
        touched = sorted(set().union(*(reach.get(k, set()) for k in ks)))
        if not touched:
            where = ""
        elif layers[0][0] is not None:
            seen = list(dict.fromkeys(owner[i] for i in touched))
            where = f", in layer{'s' if len(seen) > 1 else ''} {', '.join(seen)}"
        else:
            where = f": {name_families([model.state[i].name for i in touched], 4)}"
        each = f" ({len(ks):,}): each" if len(ks) > 1 else ":"
        blocks.append(("note", f"{label}{each} in {grad} of {span} state "
                               f"variable{'s' if counts[-1] != 1 else ''}{where}"))
    if len(items) > FAMILIES_SHOWN:
        blocks.append(("note", f"... and {_count(len(items) - FAMILIES_SHOWN, 'more family')} "
                               "of parameters"))
    return blocks


def _cost(model, d, forms, layers):
    names = [x.name for x in model.state]
    nonzero = [i for i, e in enumerate(d.dC_ds) if e != 0]
    blocks = [("head", f"cost gradient dC/ds: non-zero for {len(nonzero):,} of "
                       f"{len(names):,} state variables"
                       + (f" ({name_families([names[i] for i in nonzero], 4)})" if nonzero else ""))]
    blocks += _entries(forms, d.dC_ds, nonzero, names, "C", 1, first_only=True)
    pnames = [x.name for x in model.theta]
    theta_nz = [k for k, e in enumerate(d.dC_dtheta) if e != 0]
    if theta_nz:
        blocks.append(("note", f"dC/dtheta: non-zero for {len(theta_nz):,} of {len(pnames):,} "
                               "parameters"))
        blocks += _entries(forms, d.dC_dtheta, theta_nz, pnames, "C", 1, first_only=True)
    else:
        blocks.append(("note", "dC/dtheta = 0: the cost depends on theta only through s"))
    return blocks


#: The equations of RBP and EP, once, in vector form: (text, LaTeX) pairs.
VECTOR_FORM = {
    "rbp": [("Sbar_0 = dC/ds(s0),  d/dt Sbar_t = -H(s0)^T Sbar_t",
             r"\bar S_0 &= \frac{\partial C}{\partial s}(s_0), \quad "
             r"\frac{d}{dt}\bar S_t = -H(s_0)^T \bar S_t"),
            ("Thetabar_0 = dC/dtheta(s0),  d/dt Thetabar_t = -M(s0) Sbar_t",
             r"\bar\Theta_0 &= \frac{\partial C}{\partial \theta}(s_0), \quad "
             r"\frac{d}{dt}\bar\Theta_t = -M(s_0) \bar S_t"),
            ("Thetabar_t -> dJ/dtheta = dC/dtheta - M H^-1 dC/ds  (t -> infinity, paper 2.3)",
             r"\lim_{t\to\infty} \bar\Theta_t &= \frac{dJ}{d\theta} = \frac{\partial C}{\partial "
             r"\theta} - M H^{-1} \frac{\partial C}{\partial s}")],
    "ep": [("E^beta = E + beta C;  nudged dynamics (4.2): ds/dt = -dE/ds - beta dC/ds, from s0",
            r"E^\beta &= E + \beta C, \quad \frac{ds}{dt} = -\frac{\partial E}{\partial s} "
            r"- \beta \frac{\partial C}{\partial s}"),
           ("Theorem 2 (4.4): dJ/dtheta = d/dbeta|0 dE^beta/dtheta(s^beta)",
            r"\frac{dJ}{d\theta} &= \left.\frac{d}{d\beta}\right|_{\beta=0} "
            r"\frac{\partial E^\beta}{\partial \theta}(s^\beta)"),
           ("Theorem 3 (5.4): Stilde_t = d/dbeta|0 dE^beta/ds(S^beta_t) = Sbar_t",
            r"\tilde S_t &= \left.\frac{d}{d\beta}\right|_{\beta=0} "
            r"\frac{\partial E^\beta}{\partial s}(S^\beta_t) = \bar S_t"),
           ("Theorem 3 (5.5): Thetatilde_t = d/dbeta|0 dE^beta/dtheta(S^beta_t) = Thetabar_t",
            r"\tilde\Theta_t &= \left.\frac{d}{d\beta}\right|_{\beta=0} "
            r"\frac{\partial E^\beta}{\partial \theta}(S^\beta_t) = \bar\Theta_t")],
}


def vector_form_blocks(model):
    """The RBP and EP equations, once, in vector form."""
    blocks = [("head", "RBP, Theorem 1 (paper 3.5-3.8): a linear side network, H and M at the "
                       "free fixed point s0")]
    blocks += [("math", t, x) for t, x in VECTOR_FORM["rbp"]]
    blocks.append(("head", "EP (paper 4.1-4.4, 5.4-5.5): the nudged phase, from s0"))
    blocks += [("math", t, x) for t, x in VECTOR_FORM["ep"]]
    if not model.has_energy:
        blocks.append(("note", "a vector field: read -dE/ds as F, and E^beta_s as -F + beta dC/ds; "
                               "H is not symmetric, so EP's sides (H, not H^T) differ from RBP's: "
                               "the negative control of Theorems 2 and 3"))
    return blocks


def summary_blocks(model, d):
    """The summary of ``d = derive(model)`` as blocks (rendered by :mod:`.display`)."""
    forms = Forms(model)
    layers = _layers(model, forms)
    blocks = model_blocks(model, d)
    # as written (a non-smooth model is derived from Piecewise forms of its Min, Max, ...)
    written = isinstance(d.C, sp.Basic)
    if model.has_energy:
        blocks.append(("head", "energy and cost"))
        blocks.append(("eq", "E", "E", lambda: forms.grouped(model.energy if written else d.E)))
    else:
        blocks.append(("head", "cost"))
    blocks.append(("eq", "C", "C", lambda: forms.grouped(model.cost if written else d.C)))
    blocks += _dynamics(model, d, forms, layers)
    blocks += pattern_blocks(model, d, layers)
    blocks += _mixed(model, d, layers)
    blocks += _cost(model, d, forms, layers)
    blocks += vector_form_blocks(model)
    return blocks
