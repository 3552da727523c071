"""Python source for array expressions, over an array namespace ``xp`` (numpy or PyTorch).

The printer turns the nodes of :mod:`.ir` into statements, one temporary per
node, in an order where every argument comes first. The arrays it names
have the batch axis in front when the node is batched, so each operation
is printed for the four cases of batched and unbatched operands: a matrix
parameter times a batch of vectors is one matrix product ``v @ W.T`` over
the batch, and the sum over the batch of outer products ``sum_b a_b c_b^T``
is one product ``A^T C`` -- several of them added are one product of the
stacked operands, as the hand-written layered path did it. Every call that
is not an operator goes through ``xp`` (``xp.mm``, ``xp.sum``,
``xp.logsumexp``, ...), so the same source runs on numpy arrays and on
PyTorch tensors; elementwise functions and their derivatives are printed
from SymPy once, as small functions of the module (:func:`scalar_functions`).

A statement is followed by ``del`` of the temporaries it used for the last
time, so a long function does not hold every intermediate array at once;
each statement carries the node in matrix notation as a comment, so the
generated ``H v`` can be read next to ``eqprop derive``.
"""

from __future__ import annotations

import math

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from eqprop.errors import EqpropError

from . import ir
from .display import text

__all__ = ["Emitter", "scalar_functions", "frontier", "flops"]

_z = sp.Symbol("z", real=True)


class _XpPrinter(NumPyPrinter):
    """SymPy's numpy printer with the namespace called ``xp`` (erf through ``xp.erf``)."""

    _module = "xp"

    def _print_erf(self, e):
        return f"xp.erf({self._print(e.args[0])})"

    def _print_Pow(self, e, rational=False):
        if e.exp == sp.Rational(1, 2):
            return f"xp.sqrt({self._print(e.base)})"
        if e.exp == -1:
            return f"1/{self.parenthesize(e.base, 60)}"
        return super()._print_Pow(e, rational=rational)


def _fn_name(name, order):
    return f"_f_{name}_{order}"


def scalar_functions(nodes):
    """Source of one function per (elementwise function, derivative order) used in ``nodes``."""
    seen, out = set(), []
    printer = _XpPrinter({"fully_qualified_modules": True, "allow_unknown_functions": False})
    for n in nodes:
        if n.op != "fn":
            continue
        name, order, expr = n.attrs
        key = _fn_name(name, order)
        if key in seen:
            continue
        seen.add(key)
        f = sp.diff(expr, _z, order) if order else expr
        # |z| itself has code (xp.abs), for a function of data alone; its derivatives do not
        kinks = (sp.DiracDelta, sp.Heaviside, sp.Piecewise, sp.sign, sp.Min, sp.Max) + \
            ((sp.Abs,) if order else ())
        if f.has(*kinks):
            raise EqpropError(f"{name}: {sp.sstr(expr)[:60]} is not smooth (its derivative "
                              f"{sp.sstr(f)[:60]} is not a function), so no code is generated for "
                              "it; array models at scale take smooth functions")
        for atom in f.atoms(sp.Number):
            _float(atom, f"function {name}")
        reps, (body,) = sp.cse([f], symbols=sp.numbered_symbols("w"))
        lines = [f"def {key}(z):", f"    # {name}{chr(39) * order if order <= 3 else f'^({order})'}(z)"
                 f" = {sp.sstr(f)[:200]}"]
        for sym, e in reps:
            lines.append(f"    {sym} = {printer.doprint(e)}")
        if body.free_symbols:
            lines.append(f"    return {printer.doprint(body)}")
        else:  # a constant derivative still has the argument's shape
            lines.append(f"    return xp.full_like(z, {_float(body, name)!r})")
        out.append("\n".join(lines).replace("numpy.", "xp.").replace("math.", "xp."))
    return "\n\n\n".join(out)


def _small(n, limit=60):
    """Whether the expression below ``n`` has at most ``limit`` operations (worth a comment)."""
    seen, stack = set(), [n]
    while stack:
        m = stack.pop()
        if id(m) not in seen:
            seen.add(id(m))
            if len(seen) > limit:
                return False
            stack.extend(m.args)
    return True


def frontier(roots, level):
    """The nodes at ``level`` or below that the rest of ``roots`` uses (what a cache holds)."""
    out, seen = [], set()
    stack = list(roots)
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if n.level <= level:
            if n.op not in ("num", "zeros"):
                out.append(n)
            continue
        stack.extend(n.args)
    return out


#: a number of a model as float64 (the generated code's arithmetic); beyond it, refused
_FLOAT_RANGE = "float64's range (about 1e-308 to 1e308)"


def _float(v, where):
    """``v`` as a float, or a one-line refusal where it overflows or underflows to zero."""
    try:
        f = float(v)
    except (OverflowError, TypeError, ValueError):
        f = math.inf
    if not math.isfinite(f) or (f == 0 and v != 0):
        raise EqpropError(f"{where}: the number {sp.sstr(sp.N(v, 3))[:40]} is outside {_FLOAT_RANGE}, and "
                          "code at scale runs in float64; rescale the model's constants")
    return f


def _number(v):
    f = _float(v, "a constant of the model")
    return repr(f) if f >= 0 else f"({f!r})"


def _tuple(items):
    """A Python tuple's text: ``()``, ``(3,)``, ``(B, 3)``."""
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _pad(name, n, rank):
    """A batched array's text, with new axes after the batch axis up to per-example ``rank``."""
    if n.batched and n.ndim < rank:
        return f"{name}[:, {', '.join(['None'] * (rank - n.ndim))}]"
    return name


class Emitter:
    """Statements computing some nodes from others that are given (see the module docstring).

    ``given`` maps nodes to the expressions (names) that hold them: the
    variables of the function's arguments and the cached values.
    """

    def __init__(self, given):
        self.names = dict(given)  # id(node) -> text
        self.temporaries = set()  # the names this emitter made: the only ones it deletes
        self.lines = []
        self.count = 0
        self.uses = {}

    def fresh(self):
        self.count += 1
        return f"t{self.count}"

    def emit(self, roots):
        """Statements for every node that ``roots`` need and that is not given; returns their names."""
        order = ir.walk(roots, stop=self.names)
        absorbed = self._absorbed(order, roots)
        needed = [n for n in order if id(n) not in self.names and id(n) not in absorbed
                  and n.op not in ("num", "zeros")]
        last = {}
        for k, n in enumerate(needed):
            for a in self._operands(n, absorbed):
                last[id(a)] = k
        root_ids = {id(r) for r in roots}
        for k, n in enumerate(needed):
            name = self.fresh()
            code = self.code(n, absorbed)
            comment = text(n) if _small(n) else ""  # text() of a long chain, at every link: n^2
            self.lines.append(f"{name} = {code}" + (f"  # {comment[:90]}" if 0 < len(comment) < 400 else ""))
            self.names[id(n)] = name
            self.temporaries.add(name)
            dead = [self.names[id(a)] for a in self._operands(n, absorbed)
                    if last.get(id(a)) == k and id(a) not in root_ids
                    and self.names[id(a)] in self.temporaries]
            if dead:
                self.lines.append(f"del {', '.join(sorted(set(dead)))}")
        return [self.ref(r) for r in roots]

    def ref(self, n):
        if id(n) in self.names:
            return self.names[id(n)]
        if n.op == "num":
            return _number(n.attrs[0])
        if n.op == "zeros":
            return f"xp.zeros({n.shape})"
        raise KeyError(n)

    # -- fusion: products over the batch ---------------------------------------------------------
    @staticmethod
    def _gemm_terms(n):
        """``[(sign, a, b)]`` when ``n`` is a sum of +-batchsum(outer(a, b)) with a, b batched.

        Walked with a stack (a formula may chain thousands of terms), right operand first,
        so that a chain that is no such sum is rejected at its first leaf.
        """
        terms, stack = [], [(n, 1)]
        while stack:
            m, sign = stack.pop()
            if m.op == "neg":
                stack.append((m.args[0], -sign))
            elif m.op == "add":
                stack += [(m.args[0], sign), (m.args[1], sign)]
            elif m.op == "batchsum" and m.args[0].op == "outer" \
                    and all(x.batched for x in m.args[0].args):
                terms.append((sign, *m.args[0].args))
            else:
                return None
        return terms[::-1]

    @staticmethod
    def _tree(n):
        """The operations of a fused product below ``n`` (sums, signs, batch sums, outers)."""
        stack = [n]
        while stack:
            m = stack.pop()
            if m.op in ("neg", "add"):
                for a in m.args:
                    yield a
                    stack.append(a)
            elif m.op == "batchsum":
                yield m.args[0]

    def _absorbed(self, order, roots):
        """Nodes printed inside their one user (the pieces of a fused product over the batch)."""
        users = {}
        for n in order:
            for a in n.args:
                users[id(a)] = users.get(id(a), 0) + 1
        for r in roots:
            users[id(r)] = users.get(id(r), 0) + 1
        absorbed = set()
        for n in order:
            if n.op == "add":  # x + (-y) is printed x - y
                absorbed.update(id(a) for a in n.args if a.op == "neg" and users.get(id(a)) == 1
                                and id(a) not in self.names and self._gemm_terms(a) is None)
            if n.op in ("batchsum", "add", "neg") and self._gemm_terms(n) is not None:
                absorbed.update(id(m) for m in self._tree(n)
                                if users.get(id(m), 0) == 1 and id(m) not in self.names)
        return absorbed

    def _operands(self, n, absorbed):
        """The nodes whose values n's statement reads (through absorbed pieces; a fused product
        over the batch reads the factors of its terms)."""
        if n.op in ("batchsum", "add", "neg") and self._gemm_terms(n) is not None \
                and any(id(a) in absorbed for a in n.args):
            return [x for _, a, b in self._gemm_terms(n) for x in (a, b)]
        out = []
        for a in n.args:
            if id(a) in absorbed:
                out.extend(self._operands(a, absorbed))
            elif a.op not in ("num", "zeros"):
                out.append(a)
        return out

    # -- one operation ------------------------------------------------------------------------------
    def code(self, n, absorbed):
        op, args = n.op, n.args
        r = self.ref
        if op in ("batchsum", "add", "neg") and self._gemm_terms(n) is not None \
                and any(id(a) in absorbed for a in args):
            terms = self._gemm_terms(n)
            left = ", ".join(("-" if s < 0 else "") + r(a) for s, a, _ in terms)
            right = ", ".join(r(b) for _, _, b in terms)
            if len(terms) == 1:
                return f"xp.mm(xp.swap({left}), {right})"
            return f"xp.mm(xp.swap(xp.cat([{left}])), xp.cat([{right}]))"
        if op == "add":
            a, b = args
            if id(a) in absorbed and a.op == "neg":
                a, b = b, a
            if id(b) in absorbed and b.op == "neg":
                inner = b.args[0]
                return f"{_pad(r(a), a, n.ndim)} - {_pad(r(inner), inner, n.ndim)}"
            return f"{_pad(r(a), a, n.ndim)} + {_pad(r(b), b, n.ndim)}"
        if op == "mul":
            return f"{_pad(r(args[0]), args[0], n.ndim)} * {_pad(r(args[1]), args[1], n.ndim)}"
        if op == "pow":
            b = args[1]
            if b.op == "num" and b.attrs[0] == 2:
                return f"{r(args[0])} * {r(args[0])}"
            if b.op == "num" and b.attrs[0] == -1:
                return f"1.0 / {r(args[0])}"
            return f"{_pad(r(args[0]), args[0], n.ndim)} ** {_pad(r(b), b, n.ndim)}"
        if op == "neg":
            return f"-{r(args[0])}"
        if op == "fn":
            name, order, _ = n.attrs
            return f"{_fn_name(name, order)}({r(args[0])})"
        if op == "matmul":
            return self.matmul(n)
        if op == "outer":
            a, b = args
            left = f"{r(a)}[:, :, None]" if a.batched else f"{r(a)}[:, None]"
            right = f"{r(b)}[:, None, :]" if b.batched else f"{r(b)}[None, :]"
            return f"{left} * {right}"
        if op == "transpose":
            return f"xp.swap({r(args[0])})"
        if op == "batchsum":
            a = args[0]
            return f"{r(a)}.sum(0)" if a.batched else f"B * {r(a)}"
        if op in ("sum", "lse", "softmax"):
            axes = tuple(k + n.batched for k in n.attrs[0])
            if op == "sum":
                return f"xp.sum({r(args[0])}, {axes}, {n.attrs[1]})"
            return f"xp.{'logsumexp' if op == 'lse' else 'softmax'}({r(args[0])}, {axes})"
        if op == "roll":
            shift, axis = n.attrs
            return f"xp.roll({r(args[0])}, {shift}, {axis + n.batched})"
        if op == "reshape":
            shape = ("B",) * n.batched + tuple(map(str, n.shape))
            return f"xp.reshape({r(args[0])}, {_tuple(shape)})"
        if op == "broadcast":
            a = args[0]
            shape = ("B",) * n.batched + tuple(map(str, n.shape))
            return f"xp.broadcast_to({_pad(r(a), a, n.ndim)}, {_tuple(shape)})"
        raise ValueError(f"cannot print {op}")

    def matmul(self, n):
        a, b = n.args
        ra, rb = self.ref(a), self.ref(b)
        if not a.batched and not b.batched:
            return f"xp.mm({ra}, {rb})"
        if not a.batched:  # an unbatched matrix (or vector) times a batch
            if a.ndim == 2 and b.ndim == 1:
                return f"xp.mm({rb}, xp.swap({ra}))"  # (B, n) @ W^T = per example W v
            if a.ndim == 1:  # a . b_k
                return f"xp.mm({rb}, {ra})" if b.ndim == 1 else f"xp.mm({ra}, {rb})"
            return f"xp.mm({ra}, {rb})"  # (m, n) @ (B, n, k): broadcast over the batch
        if not b.batched:  # a batch times an unbatched matrix or vector
            return f"xp.mm({ra}, {rb})"
        if a.ndim == 1:  # both batched vectors: a dot product per example
            return f"xp.sum({ra} * {rb}, (1,), False)"
        if b.ndim == 1:
            return f"xp.mm({ra}, {rb}[:, :, None])[:, :, 0]"
        return f"xp.mm({ra}, {rb})"


def flops(roots, batch):
    """About how many floating-point operations computing ``roots`` takes for a batch."""
    total = 0
    for n in ir.walk(roots):
        scale = batch if n.batched else 1
        if n.op == "matmul":
            a, b = n.args
            total += 2 * a.size * (b.shape[1] if b.ndim == 2 else 1) * scale
        elif n.op == "batchsum":
            total += n.args[0].size * (batch if n.args[0].batched else 1)
        elif n.op == "outer":
            total += 2 * n.size * scale
        elif n.op not in ("var", "num", "zeros", "reshape", "transpose"):
            total += n.size * scale * (20 if n.op in ("fn", "lse", "softmax", "pow") else 1)
    return total
