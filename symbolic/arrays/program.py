"""Every quantity of the realistic-size check, derived from an array model and compiled.

:func:`derive_arrays` differentiates the model's array expressions with
:mod:`.diff` (per example; a parameter's derivatives are summed over the
batch)::

    g      = dE/ds  (or -F, a vector field's negative force)      per state block
    H v    = d/de g(s + e v)                 (forward mode: the tangent of g along v)
    H^T v  = d/ds (v . g),  M v = d/dtheta (v . g)        (reverse mode, from v . g)
    E_theta = dE/dtheta                     EP's readout (energy models)
    dE_theta[u] = d/de E_theta(s + e u)     its tangent: the complex-step readout
    C, C_s, C_theta, C_ss v

:func:`generate` prints them as one Python module (:mod:`.codegen`) whose
functions share their work by level: ``setup(P, D, B)`` computes once per
batch what depends only on parameters, constants and data (``W rho(x)``);
``linearize(K, s)`` what ``H v``, ``H^T v`` and ``M v`` share at one state
(``rho'(s)``, ``rho''(s) * field``); each product then computes only its
part in ``v``. ``dual(K, a, u)`` is the complex-step nudged phase's step:
with ``s = a + i h u`` and ``h`` tiny, the state's force is ``g(a) + i h
(H(a) u + C_s(a))`` to float64 rounding, and its readout ``i h
E_theta'(a)[u]``: one pass computes the real part and the tangent (a dual
number), with no complex arithmetic.

The module's source is kept (:attr:`Program.source`) and registered with
:mod:`linecache`, so ``inspect`` and tracebacks show it.
"""

from __future__ import annotations

import functools
import linecache
import math
from dataclasses import dataclass, field

from eqprop.errors import EqpropError

from . import ir
from .codegen import Emitter, flops, frontier, scalar_functions
from .diff import grad, jvp, vjp

__all__ = ["Derived", "derive_arrays", "Program", "generate"]


@dataclass(frozen=True, eq=False)
class Derived:
    """The derived array expressions of an :class:`~.model.ArrayModel` (see the module docstring)."""

    model: object
    blocks: tuple          # (name, shape, slice in the flat state)
    params: tuple          # (name, shape): differentiated, in declared order
    fixed: tuple           # (name, shape): constants, then parameters? see :attr:`inputs`
    data: tuple            # (name, shape)
    E: object
    g: dict
    v: dict                # the tangent variables, one per block
    Hv: dict
    HTv: dict
    Mv: dict
    E_theta: dict
    dE_theta: dict
    C: object
    C_s: dict
    C_theta: dict
    Cssv: dict

    @property
    def n(self):
        return sum(math.prod(shape) for _, shape, _ in self.blocks)


def _deep(func):
    """A derivation that hits Python's recursion limit is refused in one line, not a traceback."""
    @functools.wraps(func)
    def wrapper(arg):
        try:
            return func(arg)
        except RecursionError:
            name = getattr(getattr(arg, "model", arg), "name", "the model")
            raise EqpropError(f"{name}: the formulas are nested too deeply for the array "
                              "derivation; name an intermediate in [functions] or split a long "
                              "expression") from None
    return wrapper


@_deep
def derive_arrays(model):
    """Differentiate an array model: a :class:`Derived` (no code yet)."""
    var = model.variables
    blocks, start = [], 0
    for b, shape in model.state.items():
        size = math.prod(shape)
        blocks.append((b, shape, slice(start, start + size)))
        start += size
    state = [var[b] for b, _, _ in blocks]
    params = [(n, s.shape) for n, s in model.specs.items() if s.role == "param"]
    theta = [var[n] for n, _ in params]
    fixed = tuple((n, s.shape) for n, s in model.specs.items() if s.role != "data")
    data = tuple((n, s.shape) for n, s in model.specs.items() if s.role == "data")
    v = {b: ir.var(f"v_{b}" if f"v_{b}" not in var else f"_v_{b}", "tangent", shape)
         for b, shape, _ in blocks}
    if model.has_energy:
        g_list = grad(model.energy, state)
    else:
        g_list = [ir.neg(model.vector_field[b]) for b, _, _ in blocks]
    g = {b: gi for (b, _, _), gi in zip(blocks, g_list)}
    tangents = {var[b]: v[b] for b, _, _ in blocks}
    Hv = dict(zip(g, jvp(g_list, tangents)))
    phi = _dot(v, g)
    back = vjp(phi, ir.num(1), state + theta)
    HTv = dict(zip(g, back[:len(state)]))
    Mv = {n: m for (n, _), m in zip(params, back[len(state):])}
    E_theta, dE_theta = {}, {}
    if model.has_energy:
        E_theta = {n: e for (n, _), e in zip(params, grad(model.energy, theta))}
        dE_theta = dict(zip(E_theta, jvp(list(E_theta.values()), tangents)))
    C_s = dict(zip(g, grad(model.cost, state)))
    C_theta = {n: c for (n, _), c in zip(params, grad(model.cost, theta))}
    Cssv = dict(zip(g, jvp(list(C_s.values()), tangents)))
    return Derived(model=model, blocks=tuple(blocks), params=tuple(params), fixed=fixed,
                   data=data, E=model.energy, g=g, v=v, Hv=Hv, HTv=HTv, Mv=Mv, E_theta=E_theta,
                   dE_theta=dE_theta, C=model.cost, C_s=C_s, C_theta=C_theta, Cssv=Cssv)


def _dot(v, g):
    """``sum_b sum(v_b * g_b)``: the scalar whose derivatives are H^T v and M v."""
    out = None
    for b, gb in g.items():
        t = ir.total(ir.mul(v[b], gb))
        out = t if out is None else ir.add(out, t)
    return out


# -- the generated module -----------------------------------------------------------------------------
@dataclass
class Program:
    """The generated module of one array model: its source and what each function returns."""

    derived: Derived
    source: str
    entries: dict = field(default_factory=dict)   # name -> the nodes it computes (for flops)
    filename: str = "<eqprop>"

    def compile(self, xp, extra=None):
        """The module's functions, run over the array namespace ``xp``: a dict name -> function."""
        namespace = {"xp": xp, **(extra or {})}
        code = compile(self.source, self.filename, "exec")
        exec(code, namespace)  # noqa: S102 - our own generated source, printed from the model's nodes
        return {name: namespace[name] for name in ("setup", *self.entries)}

    def flops(self, entry, batch):
        return flops(self.entries[entry], batch)


class _Module:
    """What the functions of the module share: the names of the cached values, the blocks."""

    def __init__(self, d, K, L):
        self.d, self.var = d, d.model.variables
        self.k = {id(n): f"k{i}" for i, n in enumerate(K)}
        self.l = {id(n): f"l{i}" for i, n in enumerate(L)}
        self.unpack_k = [f"{', '.join(self.k[id(n)] for n in K)}, = K"] if K else []
        self.unpack_l = [f"{', '.join(self.l[id(n)] for n in L)}, = L"] if L else []

    def split(self, arg, tangent=False):
        """Lines that split a flat ``(B, n)`` argument into its blocks, and their names."""
        lines, names = [], {}
        for b, shape, sl in self.d.blocks:
            node = self.d.v[b] if tangent else self.var[b]
            name = f"{arg}_{b}"
            piece = f"{arg}[:, {sl.start}]" if not shape else f"{arg}[:, {sl.start}:{sl.stop}]"
            if len(shape) > 1:
                piece = f"xp.reshape({piece}, (B, {', '.join(map(str, shape))}))"
            lines.append(f"{name} = {piece}")
            names[id(node)] = name
        return lines, names

    def signature(self, level):
        """``(arguments, given names, first lines)`` of a function called at ``level``."""
        if level == 2:
            lines, names = self.split("s")
            return "K, s", {**self.k, **names}, self.unpack_k + ["B = s.shape[0]"] + lines
        if level == 3:
            lines, names = self.split("v", tangent=True)
            return ("K, L, v", {**self.k, **self.l, **names},
                    self.unpack_k + self.unpack_l + ["B = v.shape[0]"] + lines)
        a_lines, a_names = self.split("a")
        u_lines, u_names = self.split("u", tangent=True)
        return ("K, a, u", {**self.k, **a_names, **u_names},
                self.unpack_k + ["B = a.shape[0]"] + a_lines + u_lines)

    def returns(self, kind, refs, nodes):
        """The return expression of one output: a flat block array, a list per parameter, or
        one value per example."""
        if kind == "blocks":
            spec = ", ".join(f"({n.batched}, {math.prod(shape)})"
                             for n, (_, shape, _) in zip(nodes, self.d.blocks))
            return f"xp.blocks(B, [{', '.join(refs)}], ({spec},))"
        if kind == "params":
            return f"[{', '.join(refs)}]"
        (r,), (n,) = refs, nodes
        return r if n.batched else f"xp.broadcast_to(xp.asarray({r}), (B,))"

    def factored(self, n):
        """``(a, X, sign)`` when ``n`` is +-sum_b outer(a_b, X_b) with X cached by the setup: the
        parameter's derivative kept as its factors (compared through the batch's Gram matrix)."""
        sign = 1
        while n.op == "neg":
            sign, n = -sign, n.args[0]
        if n.op == "batchsum" and n.args[0].op == "outer":
            a, x = n.args[0].args
            if a.batched and x.batched and id(x) in self.k:
                return a, x, sign
        return None


def _outputs(d):
    """Every function of the module: name -> (the level it is called at, [(kind, nodes)])."""
    blocks = [b for b, _, _ in d.blocks]
    params = [n for n, _ in d.params]
    g = [d.g[b] for b in blocks]
    cs = [d.C_s[b] for b in blocks]
    out = {
        "grad": (2, [("blocks", g)]),
        "cost": (2, [("example", [d.C])]),
        "cost_grad": (2, [("blocks", cs)]),
        "cost_theta": (2, [("params", [d.C_theta[p] for p in params])]),
        "hv": (3, [("blocks", [d.Hv[b] for b in blocks])]),
        "hvT": (3, [("blocks", [d.HTv[b] for b in blocks])]),
        "mv": (3, [("params", [d.Mv[p] for p in params])]),
        "cssv": (3, [("blocks", [d.Cssv[b] for b in blocks])]),
    }
    dual = [("blocks", g), ("blocks", [d.Hv[b] for b in blocks]), ("blocks", cs)]
    if d.E is not None:
        readout = [d.E_theta[p] for p in params]
        out["energy_grad"] = (2, [("example", [d.E]), ("blocks", g)])
        out["readout"] = (2, [("params", readout)])
        out["step"] = (2, [("blocks", g), ("blocks", cs), ("params", readout)])
        dual.append(("params", [d.dE_theta[p] for p in params]))
    out["dual"] = (4, dual)  # 4: nothing of the state is cached (it moves every step)
    return out


@_deep
def generate(d):
    """The :class:`Program` of a :class:`Derived` (see the module docstring)."""
    m = d.model
    outputs = _outputs(d)
    roots = {e: [n for _, nodes in spec for n in nodes] for e, (_, spec) in outputs.items()}
    L = [n for e in ("hv", "hvT", "mv", "cssv") for n in frontier(roots[e], 2) if n.level == 2]
    L = list({id(n): n for n in L}.values())
    roots["linearize"] = L
    K = list({id(n): n for r in roots.values() for n in frontier(r, 1)}.values())
    mod = _Module(d, K, L)

    lines = [f"# generated by eqprop from the array model {m.name!r}; do not edit",
             "# setup(P, D, B) once per batch; s, a, u, v: flat (B, n) arrays of the state", ""]
    funcs = scalar_functions([n for r in roots.values() for n in ir.walk(r)])
    if funcs:
        lines += [funcs, "", ""]
    fixed = [m.variables[n] for n, _ in d.fixed]
    data = [m.variables[n] for n, _ in d.data]
    # the user's names behind a prefix, so that no name of a model (t1, xp, D, ...) can
    # shadow one of the generated code's own
    given = {id(v): f"p_{v.attrs[0]}" for v in fixed} | {id(v): f"d_{v.attrs[0]}" for v in data}
    em = Emitter(given)
    refs = em.emit(K)
    body = ([f"{', '.join(given[id(v)] for v in fixed)}, = P"] if fixed else []) + \
        ([f"{', '.join(given[id(v)] for v in data)}, = D"] if data else []) + em.lines
    lines += _function("setup", "P, D, B", body + [f"return {_tuple(refs)}"])

    args, given, pre = mod.signature(2)
    em = Emitter(given)
    refs = em.emit(L)
    lines += _function("linearize", args, pre + em.lines + [f"return {_tuple(refs)}"])
    for name, (level, spec) in outputs.items():
        args, given, pre = mod.signature(level)
        factored = {}
        if name in ("mv", "dual"):
            factored = {id(n): f for kind, nodes in spec if kind == "params" for n in nodes
                        if (f := mod.factored(n)) is not None}
        computed = [n for n in roots[name] if id(n) not in factored] + \
            [f[0] for f in factored.values()]
        em = Emitter(given)
        em.emit(computed)

        def ref(n, em=em, factored=factored):
            if id(n) in factored:
                a, x, sign = factored[id(n)]
                return f"xp.Factored({'-' if sign < 0 else ''}{em.ref(a)}, {mod.k[id(x)]})"
            return em.ref(n)
        out = [mod.returns(kind, [ref(n) for n in nodes], nodes) for kind, nodes in spec]
        ret = out[0] if len(out) == 1 else f"({', '.join(out)})"
        lines += _function(name, args, pre + em.lines + [f"return {ret}"])
    source = "\n".join(lines) + "\n"
    filename = f"<eqprop array model {m.name[:60]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return Program(derived=d, source=source, entries=roots, filename=filename)


def _tuple(refs):
    return f"({', '.join(refs)}{',' if len(refs) == 1 else ''})"


def _function(name, args, body):
    return [f"def {name}({args}):"] + [f"    {line}" for line in body] + ["", ""]
