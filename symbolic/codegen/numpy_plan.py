"""Stage 2, the numpy plan: one generated straight-line function per kernel.

Each template is compiled once by :func:`sympy.lambdify` with ``cse=True``
and numpy's names (:func:`.numpy_tables._np_modules`). Vectorized, it runs on
a whole group, with a leading batch axis, and accepts complex input for
complex-step nudging (numpy's complex functions keep the imaginary part of
a complex step). :func:`_plan_groups` factors, merges and concatenates the groups of
:mod:`.templates` into :class:`_Step` s; factors that depend on one variable
only (rho'(s_i), say) are evaluated once per distinct variable in shared
tables (:mod:`.numpy_tables`), then gathered. :class:`NumpyPlan` writes the
steps out as Python source (kept, and registered with :mod:`linecache`, so
that a traceback inside a plan shows its lines) and runs it.
"""

from __future__ import annotations

import functools
import itertools
import linecache
import weakref
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .numpy_tables import PLAN_CODES, _gather_source, _numpy_evaluator, _Tables


@dataclass
class _Step:
    """One numpy evaluation step: values for the outputs ``out`` (unique).

    ``value = post(z) * sum over the terms of each output of body(z)``,
    where ``post`` depends only on inputs fixed by the output (rho''(s_i)
    in the diagonal entry H_ii, say) and is applied once per output, after
    the body terms are summed (``np.add.reduceat`` over ``starts``).
    """

    out: object
    body: object = None          # (z, tables) -> (..., k), coefficients included; None: constant
    starts: np.ndarray = None    # segment starts of the outputs; None: one term each
    sums: np.ndarray = None      # with body None: the sum of the coefficients per output
    post: object = None          # (z, tables) -> (..., len(out)); None: 1
    assign: bool = False         # first write to these outputs: = instead of +=
    aliases: tuple = ()          # ((which of out, positions)): outputs that copy these


def _canonical(expr, symbols, arrays):
    """Rename ``symbols`` to ``_c0, _c1, ...`` in the order that prints smallest.

    Templates equal up to the order of their arguments (the synapses to the
    layer above and to the layer below, say) then compare equal.
    """
    n = len(symbols)
    orders = itertools.permutations(range(n)) if n <= 4 else [tuple(range(n))]
    best = None
    for order in orders:
        e = expr.xreplace({symbols[p]: sp.Symbol(f"_c{k}") for k, p in enumerate(order)})
        key = sp.srepr(e)
        if best is None or key < best[0]:
            best = (key, e, order)
    return best[1], [arrays[p] for p in best[2]]


def _sorted_terms(out, cols):
    """Order of the terms by output, then by inputs; segment starts and ids."""
    order = np.lexsort(tuple(reversed(cols)) + (out,))
    out = out[order]
    first = np.r_[True, out[1:] != out[:-1]]
    return order, np.flatnonzero(first), np.cumsum(first) - 1


def _plan_groups(groups, bounds, code):
    """Factor, merge and concatenate groups into :class:`_Step` s (see :class:`NumpyPlan`).

    1. Each group's template splits into a body, summed over the terms of an
       output, and a post factor in the inputs fixed by the output.
    2. Groups over the same terms with the same body merge: their post
       factors add (the expanded rho'' of a sigmoid is two terms).
    3. Parts whose canonical body and post templates agree are concatenated
       into one step (the synapses above and below a unit, say).

    ``code`` (a :class:`~.numpy_tables.NumpyCode`) compiles the constants and
    functions; returns the steps and their finalized :class:`~.numpy_tables._Tables`.
    """
    parts = _canonical_parts(_merged_groups(groups), code)
    tables = _Tables(code)
    steps = [step for (body, post), group in parts.items()
             for step in _concatenated_steps(body, post, group, tables)]
    return steps, tables.finalize(bounds)


def _merged_groups(groups):
    """Steps 1 and 2 of :func:`_plan_groups`: each group split into body and post factor, those
    with the same body over the same terms merged (a list of their post factors)."""
    merged = {}
    for g in groups:
        m = g.idx.shape[1]
        order, starts, seg = _sorted_terms(g.out, [g.idx[:, j] for j in range(m)])
        out, idx = g.out[order], g.idx[order]
        coeff = [g.coeff[i] for i in order]
        ps = [sp.Symbol(f"_p{j}") for j in range(m)]
        det = {ps[j] for j in range(m) if np.array_equal(idx[:, j], idx[starts, j][seg])}
        post, body = [], []
        for f in sp.Mul.make_args(sp.expand_power_exp(g.template)):
            (post if f.free_symbols and f.free_symbols <= det else body).append(f)
        body, post = sp.Mul(*body), sp.Mul(*post)
        cols = tuple(j for j in range(m) if ps[j] in body.free_symbols)
        r = coeff[0]
        norm = tuple(c / r for c in coeff)
        key = (body, cols, idx[:, list(cols)].tobytes(), out.tobytes(), norm)
        entry = merged.setdefault(key, dict(out=out, starts=starts, seg=seg, body=body, cols=cols,
                                            idx=idx[:, list(cols)], norm=norm, posts=[]))
        entry["posts"].append((r, post, {p: idx[starts, ps.index(p)] for p in post.free_symbols}))
    return merged.values()


def _canonical_parts(merged, code):
    """The merged groups by their canonical (body, post) templates: ``(out, body columns,
    post columns, coefficients)`` each, constant factors folded into the coefficients."""
    parts = {}
    for e in merged:
        seg = e["seg"]
        arrays, names, total = [], {}, sp.Integer(0)
        for r, f, cols in e["posts"]:
            sub = {}
            for p, a in cols.items():
                key = a.tobytes()
                if key not in names:
                    names[key] = sp.Symbol(f"_q{len(arrays)}")
                    arrays.append(a)
                sub[p] = names[key]
            total += sp.Rational(r.numerator, r.denominator) * f.xreplace(sub)
        norm = code.numbers(e["norm"])
        body = e["body"]
        if not total.free_symbols:
            norm, total = norm * code.number(total), sp.Integer(1)
        if not body.free_symbols:
            norm, body = norm * code.number(body), sp.Integer(1)
        body, bcols = _canonical(body, [sp.Symbol(f"_p{j}") for j in e["cols"]], list(e["idx"].T))
        total, pcols = _canonical(total, [sp.Symbol(f"_q{j}") for j in range(len(arrays))],
                                  [a[seg] for a in arrays])  # per term
        parts.setdefault((body, total), []).append((e["out"], bcols, pcols, norm))
    return parts


def _concatenated_steps(body, post, group, tables):
    """Step 3 of :func:`_plan_groups`: the parts of one (body, post) template as few steps as
    give each output one post factor (one, unless their post arguments disagree)."""
    steps = []
    pieces = [group] if _consistent(group) else [[p] for p in group]
    for piece in pieces:
        out = np.concatenate([p[0] for p in piece])
        bcols = [np.concatenate(c) for c in zip(*[p[1] for p in piece])]
        pcols = [np.concatenate(c) for c in zip(*[p[2] for p in piece])]
        norm = np.concatenate([p[3] for p in piece])
        order, starts, _ = _sorted_terms(out, bcols)
        out, norm = out[order], norm[order]
        bcols, pcols = [c[order] for c in bcols], [c[order] for c in pcols]
        step = _Step(out=out[starts])
        if post.free_symbols:
            cs = [sp.Symbol(f"_c{j}") for j in range(len(pcols))]
            step.post = _numpy_evaluator(post, cs, np.stack([c[starts] for c in pcols], axis=1),
                                         tables)
        if body.free_symbols:
            cs = [sp.Symbol(f"_c{j}") for j in range(len(bcols))]
            fn = _numpy_evaluator(body, cs, np.stack(bcols, axis=1), tables)
            if not np.all(norm == 1):
                fn.scale = norm
            step.body = fn
            step.starts = starts if len(starts) < len(out) else None
        else:
            step.sums = np.add.reduceat(norm, starts)
        steps.append(step)
    return steps


def _consistent(parts):
    """Whether concatenated parts give each output one post factor (same arguments)."""
    if len(parts) == 1:
        return True
    out = np.concatenate([p[0] for p in parts])
    for c in zip(*[p[2] for p in parts]):
        col = np.concatenate(c)
        order, starts, seg = _sorted_terms(out, [col])
        if not np.array_equal(col[order], col[order][starts][seg]):
            return False
    return True


#: numbers the generated plans, so that each has its own linecache filename
_PLAN_COUNTER = itertools.count(1)


class NumpyPlan:
    """Evaluate a :class:`~.templates.Templates` with numpy: ``plan(z)``.

    ``z`` has shape ``(..., len(symbols))``; ``bounds`` are the starts of the
    argument blocks after the first (see :meth:`_Tables.finalize`). The
    steps, and a function per kind of input (with or without batch axes),
    are compiled on first use. ``mode``: "numpy" (float64 or complex128
    arrays) or "gmpy" (object arrays of gmpy2 numbers, :mod:`.gmpy_plan`).
    """

    def __init__(self, templates, bounds=(), mode="numpy"):
        self.templates, self.bounds, self.mode = templates, bounds, mode
        self.code = PLAN_CODES[mode]
        self._functions, self._sources = {}, {}

    @functools.cached_property
    def steps(self):
        """The evaluation plan: a list of :class:`_Step`."""
        t = self.templates
        steps, self.tables = _plan_groups(t.groups, self.bounds, self.code)
        written = np.zeros(t.n_out, dtype=bool)
        for step in steps:
            step.assign = not written[step.out].any()
            written[step.out] = True
            # copies, level by level: the first alias of each output, then the second...
            lists = [t.aliases.get(int(o), ()) for o in step.out]
            levels = []
            for level in range(max(map(len, lists), default=0)):
                which = np.array([k for k, a in enumerate(lists) if len(a) > level], dtype=np.intp)
                pos = np.array([lists[k][level] for k in which], dtype=np.intp)
                levels.append((None if len(which) == len(lists) else which, pos))
            step.aliases = tuple(levels)
        return steps

    def function(self, batched):
        """The plan as one generated straight-line function ``(z, dtype) -> out``.

        No interpretation at call time (attribute lookups, branches,
        closures): at the size of a 100-unit Hessian that overhead was a fifth
        of the time. ``batched``: ``z`` has leading batch axes, indexed as
        ``[..., positions]``; without them plain ``[positions]`` is three
        times faster. The source holds generated names only, never user text.
        """
        if batched not in self._functions:
            self._functions[batched] = self._generate(batched)
        return self._functions[batched]

    def source(self, batched=False):
        """The Python source of :meth:`function` (generated if need be)."""
        self.function(batched)
        return self._sources[batched]

    def __call__(self, z):
        z = np.asarray(z)
        return self.function(z.ndim > 1)(z, np.result_type(z.dtype, np.float64))

    def _generate(self, batched):
        steps, ns = self.steps, {"np": np, "_add": np.add}
        at = "r[..., {}]" if batched else "r[{}]"
        lines = ["def _plan(z, dtype):"]
        for k, (fn, idx) in enumerate(self.tables.tables):
            ns[f"_tab{k}"] = fn
            first = sum(len(f) for f in self.tables.outputs[:k])
            names = [f"_t{first + j}" for j in range(len(self.tables.outputs[k]))]
            arg = _gather_source(ns, f"_ti{k}", "z", idx, batched)
            lines.append(f"    {', '.join(names)}, = _tab{k}({arg})")
        lines.append(f"    r = np.zeros(z.shape[:-1] + ({self.templates.n_out},), dtype)")
        for k, step in enumerate(steps):
            if step.body is None:
                ns[f"_s{k}"] = step.sums
                val = f"_s{k}"
            else:
                val = step.body.source(ns, f"_b{k}", batched)
                if step.starts is not None:
                    ns[f"_st{k}"] = step.starts
                    val = f"_add.reduceat({val}, _st{k}, axis=-1)"
            if step.post is not None:
                val = f"({val}) * {step.post.source(ns, f'_p{k}', batched)}"
            lines.append(f"    v = {val}")
            op = "=" if step.assign else "+="
            ns[f"_o{k}"] = step.out
            lines.append(f"    {at.format(f'_o{k}')} {op} v")
            for j, (which, pos) in enumerate(step.aliases):
                ns[f"_a{k}_{j}"] = pos
                src = "v"
                if which is not None:
                    ns[f"_w{k}_{j}"] = which
                    src = f"np.asarray(v).take(_w{k}_{j}, axis=-1)"
                lines.append(f"    {at.format(f'_a{k}_{j}')} {op} {src}")
        lines.append("    return r")
        source = "\n".join(lines) + "\n"
        kind = " batched" if batched else ""
        filename = f"<eqprop plan {self.templates.name}{kind} #{next(_PLAN_COUNTER)}>"
        exec(compile(source, filename, "exec"), ns)  # noqa: S102
        fn = ns["_plan"]
        # as sympy.lambdify does: tracebacks and inspect.getsource show the lines
        # (mtime None: linecache.checkcache keeps the entry), dropped with the function
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        weakref.finalize(fn, linecache.cache.pop, filename, None)
        self._sources[batched] = source
        return fn
