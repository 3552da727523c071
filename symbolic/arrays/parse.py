"""Array formulas: parsed, never evaluated, every shape checked as the formula is read.

An array model's energy is written over its declared arrays in numpy's
notation: ``+ - * / **`` elementwise, ``@`` the matrix product, ``.T`` the
transpose, ``sum``, ``mean``, ``logsumexp``, ``softmax`` (whole, or along
``axis=k``), ``roll``, ``reshape``, ``outer``, and every function of the
formula whitelist (``tanh``, ``exp``, ``sigmoid``, ...) or of the model's
``[functions]`` table applied elementwise. The text is read by Python's
:func:`ast.parse`, which builds a tree and runs nothing, under the same
normalisation and limits as a scalar formula (:mod:`eqprop.symbolic.parse`);
the tree is turned into :mod:`.ir` nodes one operation at a time, so a shape
that does not fit is refused where it occurs, naming both shapes and the
piece of the formula.

Broadcasting is allowed where it cannot change what the formula means: a
scalar against any array, and an array against one with more leading axes
(a bias ``b`` of shape ``(n,)`` added to every row of an ``(m, n)`` matrix).
Stretching an axis of length 1 (``(n,)`` against ``(n, 1)``, which numpy
would silently turn into an ``n x n`` matrix) is refused.
"""

from __future__ import annotations

import ast
import warnings

import sympy as sp

from eqprop.errors import EqpropError

from ..arith import Arith
from ..confusables import check_name
from ..activations import Z
from ..grammar import FAMILY, FUNCTIONS, MAX_CALL_DEPTH, MAX_DEPTH, MAX_EXPONENT, TWO_ARGUMENTS, nesting
from ..numbers import exact_number
from ..parse import normalize_formula, shorten
from . import ir
from .nodes import ShapeError, shape_text

__all__ = ["parse_array", "ARRAY_FUNCTIONS", "MAX_ARRAY_FORMULA_CHARS", "MAX_ARRAY_NODES"]

#: Longest array formula, in characters (array formulas are short: the arrays hold the size).
MAX_ARRAY_FORMULA_CHARS = 100_000
#: Most operations in one array formula.
MAX_ARRAY_NODES = 10_000

#: Functions of arrays (beyond the elementwise ones), with what they take.
ARRAY_FUNCTIONS = {
    "sum": "sum(a) or sum(a, axis=k)", "mean": "mean(a) or mean(a, axis=k)",
    "logsumexp": "logsumexp(a) or logsumexp(a, axis=k)", "softmax": "softmax(a, axis=k)",
    "roll": "roll(a, shift, axis=k)", "reshape": "reshape(a, (d1, d2, ...))",
    "outer": "outer(a, b)", "transpose": "transpose(a)",
}


class _ArrayWalker:
    """Turns one checked syntax tree into :mod:`.ir` nodes."""

    def __init__(self, text, names, functions, what):
        self.text, self.names, self.functions, self.what = text, names, functions, what
        self.source = text.encode("utf-8")  # ast columns count UTF-8 bytes
        self.arith = Arith(what)

    def fail(self, msg, node=None):
        seg = self.segment(node) if node is not None else ""
        where = f" in {(seg if len(seg) <= 80 else seg[:77] + '...')!r}" if seg else ""
        raise EqpropError(f"{self.what}:{where}{':' if where else ''} {msg}")

    def segment(self, node):
        return self.source[node.col_offset:node.end_col_offset].decode("utf-8")

    # -- the tree -------------------------------------------------------------------------
    def visit(self, node):
        try:
            return self._visit(node)
        except ShapeError as exc:
            self.fail(str(exc), node)

    def _visit(self, node):
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return ir.neg(self.visit(node.operand))
            if isinstance(node.op, ast.UAdd):
                return self.visit(node.operand)
            self.fail(f"unary operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                self.fail(f"only numbers may appear as literals, got {shorten(node.value, 40)}")
            return ir.num(exact_number(self.segment(node) or repr(node.value), what=self.what))
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Attribute):
            if node.attr != "T":
                self.fail(f"'.{node.attr}' is not allowed; the only attribute is .T (the "
                          "transpose)", node)
            return ir.transpose(self.visit(node.value))
        if isinstance(node, ast.Call):
            return self.call(node)
        kind = {ast.Lambda: "lambda", ast.Subscript: "indexing (write a sum, roll or reshape "
                "instead)", ast.Compare: "comparison", ast.BoolOp: "boolean operator",
                ast.IfExp: "conditional expression", ast.Tuple: "a tuple (only reshape takes one)"}
        self.fail(f"{kind.get(type(node), type(node).__name__)} is not allowed in a formula; "
                  "only numbers, declared arrays, + - * / ** @, .T and the listed functions", node)

    def binop(self, node):
        op = type(node.op)
        if op not in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult):
            hint = " (use ** for powers)" if op is ast.BitXor else ""
            self.fail(f"operator {op.__name__} is not allowed{hint}; use + - * / ** @", node)
        family = FAMILY.get(op)
        if family is None:  # ** and @: one operation
            return self.combine(op, self.visit(node.left), self.visit(node.right), node)
        chain = []  # a + b - c + ... (or a * b / c ...): walked without recursing
        while isinstance(node, ast.BinOp) and FAMILY.get(type(node.op)) == family:
            chain.append(node)
            node = node.left
        acc = self.visit(node)
        for link in reversed(chain):
            acc = self.combine(type(link.op), acc, self.visit(link.right), link)
        return acc

    def combine(self, op, a, b, node):
        """``a op b``, shapes checked, numbers folded exactly."""
        try:
            return self._combine(op, a, b, node)
        except ShapeError as exc:
            self.fail(str(exc), node)

    def _combine(self, op, a, b, node):
        if op is ast.MatMult:
            return ir.matmul(a, b)
        if a.op == "num" and b.op == "num":  # exact numbers, sized before they are built
            x, y = a.attrs[0], b.attrs[0]
            if op is ast.Pow:
                return ir.num(self.arith.power(x, y))
            if op in (ast.Add, ast.Sub):
                return ir.num(self.arith.add([x, -y if op is ast.Sub else y]))
            if op is ast.Div and y == 0:
                self.fail("division by the number 0", node)
            return ir.num(self.arith.mul(x, [(op is ast.Div, y)]))
        self.check_broadcast(a, b, node)
        if op is ast.Add:
            return ir.add(a, b)
        if op is ast.Sub:
            return ir.sub(a, b)
        if op is ast.Mult:
            return ir.mul(a, b)
        if op is ast.Div:
            return ir.div(a, b)
        if b.op == "num" and b.attrs[0].is_Rational and abs(b.attrs[0]) > MAX_EXPONENT:
            self.fail(f"exponent {shorten(b.attrs[0], 40)} is too large (at most {MAX_EXPONENT})",
                      node)
        return ir.power(a, b)

    def check_broadcast(self, a, b, node):
        """Refuse a broadcast that stretches an axis of length 1 (see the module docstring)."""
        if a.shape == b.shape or a.ndim == 0 or b.ndim == 0:
            return
        short, long_ = (a, b) if a.ndim < b.ndim else (b, a)
        if short.ndim < long_.ndim and long_.shape[long_.ndim - short.ndim:] == short.shape:
            return
        try:
            result = ir.broadcast_shapes(a.shape, b.shape)
        except ShapeError as exc:
            self.fail(str(exc), node)
        self.fail(f"shapes {shape_text(a.shape)} and {shape_text(b.shape)} would broadcast to "
                  f"{shape_text(result)} by stretching an axis of length 1, which changes what the "
                  "formula means if it was not intended; write it explicitly (reshape one "
                  "operand, use outer(a, b) or .T)", node)

    def name(self, node):
        ident = node.id
        if ident in self.names:
            value = self.names[ident]
            return ir.num(value) if isinstance(value, int) else value
        if ident == "pi":
            return ir.num(sp.pi)
        if ident == "E":
            return ir.num(sp.E)
        if ident in FUNCTIONS or ident in self.functions or ident in ARRAY_FUNCTIONS:
            self.fail(f"'{ident}' is a function; call it, e.g. {ident}(s)", node)
        check_name(ident, self.what)
        declared = ", ".join(sorted(k for k in self.names)) or "none"
        self.fail(f"undeclared name '{ident}'; declare it in [state], [params], [constants], "
                  f"[data] or [dims] (declared: {shorten(declared, 200)})", node)

    # -- calls ------------------------------------------------------------------------------
    def call(self, node):
        if isinstance(node.func, ast.Attribute):
            self.fail(f"method calls like .{node.func.attr}() are not allowed (the only attribute "
                      f"is .T); write functions, e.g. {node.func.attr}(s)", node)
        if not isinstance(node.func, ast.Name):
            self.fail("only plain function calls like tanh(s) are allowed", node)
        name = node.func.id
        kw = {}
        for k in node.keywords:
            if k.arg not in ("axis",):
                self.fail(f"{name}() takes no keyword {k.arg!r}; the only keyword is axis=",
                          node)
            kw[k.arg] = self.axis(k.value, name)
        if name in ARRAY_FUNCTIONS:
            return self.array_call(name, node, kw)
        if kw:
            self.fail(f"{name}() applies elementwise and takes no axis", node)
        if name in TWO_ARGUMENTS:
            self.fail(f"{name}(a, b) is not available in array formulas; write a smooth "
                      "formula (or use a per-neuron model file)", node)
        if name in self.functions:
            expr = self.functions[name]
        elif name in FUNCTIONS:
            expr = FUNCTIONS[name](Z)
        else:
            check_name(name, self.what)
            known = ", ".join(sorted(set(FUNCTIONS) - TWO_ARGUMENTS | set(ARRAY_FUNCTIONS)
                                     | set(self.functions)))
            self.fail(f"unknown function '{name}'; allowed: {known}", node)
        if len(node.args) != 1:
            self.fail(f"{name}() takes one argument here (it applies elementwise), got "
                      f"{len(node.args)}", node)
        return ir.fn(name, expr, self.visit(node.args[0]))

    def axis(self, value, name, what="an axis"):
        """An axis: an integer literal (negative counts from the end) or a tuple of them."""
        if isinstance(value, ast.Tuple) and what == "an axis":
            return tuple(self.axis(v, name) for v in value.elts)
        sign = 1
        if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
            sign, value = -1, value.operand
        if isinstance(value, ast.Constant) and type(value.value) is int and value.value < 10**6:
            return sign * value.value
        self.fail(f"{name}(): {what} must be a whole number such as 0, 1 or -1 (a literal, not a "
                  "name)")

    def array_call(self, name, node, kw):
        args = node.args
        want = {"sum": (1, 2), "mean": (1, 2), "logsumexp": (1, 2), "softmax": (1, 2),
                "roll": (2, 3), "reshape": (2, 2), "outer": (2, 2), "transpose": (1, 1)}[name]
        if not want[0] <= len(args) <= want[1]:
            self.fail(f"{name}() takes {ARRAY_FUNCTIONS[name]}", node)
        if name == "reshape":
            a = self.visit(args[0])
            return ir.reshape(a, self.new_shape(args[1], a))
        if name in ("sum", "mean", "logsumexp", "softmax", "roll"):
            positional = 2 if name == "roll" else 1
            if len(args) > positional:
                if "axis" in kw:
                    self.fail(f"{name}(): axis given twice", node)
                kw["axis"] = self.axis(args[positional], name)
        if name == "outer":
            return ir.outer(self.visit(args[0]), self.visit(args[1]))
        a = self.visit(args[0])
        if name == "transpose":
            return ir.transpose(a)
        axis = kw.get("axis")
        if name == "roll":
            shift = self.axis(args[1], "roll", "the shift")
            if axis is None:
                if a.ndim != 1:
                    self.fail(f"roll(): give axis=k for an array of shape {shape_text(a.shape)}", node)
                axis = 0
            if isinstance(axis, tuple):
                self.fail("roll(): one axis at a time", node)
            return ir.roll(a, shift, axis)
        if name == "sum":
            return ir.total(a, axis)
        if name == "mean":
            summed = ir.total(a, axis)
            return ir.mul(ir.num(sp.Rational(summed.size, a.size)), summed)
        if name == "logsumexp":
            return ir.lse(a, axis)
        return ir.softmax(a, axis)

    def new_shape(self, node, a):
        items = node.elts if isinstance(node, ast.Tuple) else [node]
        shape = []
        for item in items:
            if isinstance(item, ast.Name) and isinstance(self.names.get(item.id), int):
                shape.append(self.names[item.id])
            else:
                shape.append(self.axis(item, "reshape"))
        if shape.count(-1) > 1 or any(d < -1 for d in shape):
            self.fail("reshape(): sizes must be positive, with at most one -1", node)
        if -1 in shape:
            known = 1
            for d in shape:
                known *= d if d != -1 else 1
            if known == 0 or a.size % known:
                self.fail(f"reshape(): cannot put {a.size} entries into {tuple(shape)}", node)
            shape[shape.index(-1)] = a.size // known
        return tuple(shape)


def _check_tree(tree, what):
    """Node count, depth and call depth, iteratively, before anything is built (a chain of
    + - or of * / counts as one level, as in a scalar formula)."""
    for count, (_node, depth, calls) in enumerate(nesting(tree, children=(ast.expr, ast.keyword)),
                                                  start=1):
        if count > MAX_ARRAY_NODES:
            raise EqpropError(f"{what}: the formula has more than {MAX_ARRAY_NODES:,} operations; "
                              "an array formula stays short (the arrays carry the size)")
        if depth > MAX_DEPTH:
            raise EqpropError(f"{what}: the formula is nested more than {MAX_DEPTH} levels deep")
        if calls > MAX_CALL_DEPTH:
            raise EqpropError(f"{what}: function calls are nested more than {MAX_CALL_DEPTH} "
                              "deep, as in tanh(tanh(...))")


def parse_array(text, names, functions=None, *, what="energy"):
    """Parse an array formula into an :mod:`.ir` node.

    ``names`` maps every name the formula may use to its variable node (or,
    for a dimension, its integer size); ``functions`` maps the model's own
    elementwise functions to their SymPy formulas in ``z``.
    """
    text = normalize_formula(text, what)
    if len(text) > MAX_ARRAY_FORMULA_CHARS:
        raise EqpropError(f"{what}: the formula has {len(text):,} characters; an array formula may "
                          f"have at most {MAX_ARRAY_FORMULA_CHARS:,}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise EqpropError(f"{what}: malformed formula {shorten(text, 120)}{col}: {exc.msg}; write "
                          "it in Python syntax, e.g. 'sum(s**2)/2 - s @ W @ s'") from None
    except (RecursionError, MemoryError):
        raise EqpropError(f"{what}: the formula is nested too deeply") from None
    _check_tree(tree.body, what)
    try:
        return _ArrayWalker(text, names, functions or {}, what).visit(tree.body)
    except RecursionError:
        raise EqpropError(f"{what}: the formula is nested too deeply") from None
