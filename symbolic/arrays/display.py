"""Array expressions in matrix notation, as text and as LaTeX.

The notation a teacher writes on the board: ``W^T v`` for a matrix times a
vector (juxtaposition is the matrix product), ``*`` for the elementwise
product (``\\odot`` in LaTeX), ``rho'(s1)`` for a function's derivative
applied elementwise, ``a b^T`` for an outer product. So the gradient of a
layered energy prints as::

    s1 - rho'(s1) * (W01^T rho(s0) + W12 rho(x))

Broadcasting and the sum over the batch are implicit (the expressions are
per example). :func:`text` and :func:`latex` differ only in their tokens.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["text", "latex"]

# precedence: higher binds tighter
_ADD, _MUL, _MATMUL, _NEG, _POW, _POSTFIX, _ATOM = 1, 2, 3, 4, 5, 6, 7


class _Style:
    """Tokens of one output format."""

    latex = False
    times, matmul_sep, minus = " * ", " ", "-"

    def name(self, name):
        return name

    def func(self, name, order, arg):
        mark = "'" * order if order <= 3 else f"^({order})"
        return f"{name}{mark}({arg})"

    def call(self, name, args):
        return f"{name}({', '.join(args)})"

    def transpose(self, x):
        return f"{x}^T"

    def power(self, base, exp):
        return f"{base}**{exp}"

    def number(self, value):
        return str(value)

    def frac(self, top, bottom):
        return f"{top}/{bottom}"

    def paren(self, x):
        return f"({x})"


class _Latex(_Style):
    latex = True
    times, matmul_sep, minus = r" \odot ", " ", "-"
    _FUNCS = {"exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh"}

    def name(self, name):
        return sp.latex(sp.Symbol(name))

    def func(self, name, order, arg):
        head = f"\\{name}" if name in self._FUNCS else (
            sp.latex(sp.Symbol(name)) if len(name) > 1 and sp.latex(sp.Symbol(name)).startswith("\\")
            else rf"\operatorname{{{name}}}")
        mark = "'" * order if order <= 3 else f"^{{({order})}}"
        return f"{head}{mark}\\left({arg}\\right)"

    def call(self, name, args):
        return rf"\operatorname{{{name}}}\left({', '.join(args)}\right)"

    def transpose(self, x):
        return f"{x}^{{T}}"

    def power(self, base, exp):
        return f"{base}^{{{exp}}}"

    def number(self, value):
        return sp.latex(value)

    def frac(self, top, bottom):
        return rf"\frac{{{top}}}{{{bottom}}}"

    def paren(self, x):
        return rf"\left({x}\right)"


def text(node):
    """``node`` in matrix notation, as one line of text."""
    return _Printer(_Style()).show(node)


def latex(node):
    """``node`` in matrix notation, as LaTeX (amsmath)."""
    return _Printer(_Latex()).show(node)


class _Printer:
    def __init__(self, style):
        self.st = style

    def show(self, node):
        return self.p(node)[0]

    def wrap(self, node, level):
        s, prec = self.p(node)
        return self.st.paren(s) if prec < level else s

    def p(self, n):
        """``(string, precedence)`` of node ``n``."""
        st = self.st
        op = n.op
        if op == "var":
            return st.name(n.attrs[0]), _ATOM
        if op == "num":
            v = n.attrs[0]
            if v.is_Rational and v.q != 1:
                return st.frac(st.number(v.p), st.number(v.q)), (_ATOM if st.latex else _MUL)
            return st.number(v), (_ATOM if v.is_nonnegative or not v.is_number else _NEG)
        if op == "zeros":
            return "0", _ATOM
        if op in ("broadcast", "batchsum"):  # implicit: broadcasting, and the per-example view
            return self.p(n.args[0])
        if op == "add":
            terms = _flatten(n, "add")
            # positive terms first: s - rho'(s) * f rather than -(rho'(s) * f) + s
            terms = [t for t in terms if not _negative(t)] + [t for t in terms if _negative(t)]
            parts = [self.wrap(terms[0], _ADD)]
            for t in terms[1:]:
                if t.op == "neg":
                    parts.append(f" - {self.wrap(t.args[0], _MUL)}")
                elif t.op == "num" and t.attrs[0].is_negative:
                    parts.append(f" - {self.p(_neg_num(t))[0]}")
                else:
                    parts.append(f" + {self.wrap(t, _ADD)}")
            return "".join(parts), _ADD
        if op == "neg":
            return f"{st.minus}{self.wrap(n.args[0], _MUL + 1)}", _NEG
        if op == "mul":
            return self.product(n)
        if op == "pow":
            base, exp = n.args
            if exp.op == "num" and exp.attrs[0] == -1:
                return st.frac("1", self.wrap(base, _POW + 1)), (_ATOM if st.latex else _MUL)
            return st.power(self.wrap(base, _POW + 1), self.wrap(exp, _ATOM if not st.latex else 0)), _POW
        if op == "fn":
            name, order, _ = n.attrs
            return st.func(name, order, self.p(n.args[0])[0]), _ATOM
        if op == "matmul":
            a, b = n.args
            left = st.transpose(self.wrap(a, _POSTFIX + 1)) if a.ndim == 1 else self.wrap(a, _MATMUL)
            return f"{left}{st.matmul_sep}{self.wrap(b, _MATMUL + 1)}", _MATMUL
        if op == "outer":
            a, b = n.args
            return f"{self.wrap(a, _MATMUL)}{st.matmul_sep}{st.transpose(self.wrap(b, _POSTFIX + 1))}", _MATMUL
        if op == "transpose":
            return st.transpose(self.wrap(n.args[0], _POSTFIX + 1)), _POSTFIX
        if op in ("sum", "lse", "softmax"):
            name = {"sum": "sum", "lse": "logsumexp", "softmax": "softmax"}[op]
            args = [self.p(n.args[0])[0]]
            axes = n.attrs[0]
            if len(axes) < n.args[0].ndim:
                args.append(f"axis={axes[0] if len(axes) == 1 else axes}")
            return st.call(name, args), _ATOM
        if op == "roll":
            shift, axis = n.attrs
            length = n.shape[axis]
            shift = shift - length if shift > length // 2 else shift  # roll(s, -1), not (s, n - 1)
            return st.call("roll", [self.p(n.args[0])[0], str(shift), f"axis={axis}"]), _ATOM
        if op == "reshape":
            return st.call("reshape", [self.p(n.args[0])[0], str(n.shape)]), _ATOM
        raise ValueError(f"cannot print {op}")

    def product(self, n):
        st = self.st
        factors = _flatten(n, "mul")
        top, bottom = [], []
        for f in factors:
            if f.op == "pow" and f.args[1].op == "num" and f.args[1].attrs[0] == -1:
                bottom.append(f.args[0])
            elif f.op == "num" and f.attrs[0].is_Rational and f.attrs[0].q != 1:
                v = f.attrs[0]
                if v.p != 1:
                    top.append(_number(v.p))
                bottom.append(_number(v.q))
            else:
                top.append(f)
        sep = st.times if any(f.ndim for f in factors) else (" " if st.latex else "*")
        head = sep.join(self.wrap(f, _MUL + (1 if i else 0)) for i, f in enumerate(top)) if top else "1"
        if not bottom:
            return head, _MUL
        below = sep.join(self.wrap(f, _MUL + 1) for f in bottom)
        if st.latex:
            return st.frac(head, below), _ATOM
        if len(bottom) > 1:
            below = st.paren(below)
        return f"{head}/{below}", _MUL


def _negative(t):
    return t.op == "neg" or (t.op == "num" and t.attrs[0].is_negative)


def _flatten(n, op):
    out = []
    stack = [n]
    while stack:
        m = stack.pop()
        if m.op == op:
            stack.extend(reversed(m.args))
        else:
            out.append(m)
    return out


class _Number:
    """A number printed as a leaf, as a ``num`` node prints (the printer builds no nodes)."""

    op, args, shape, ndim = "num", (), (), 0

    def __init__(self, value):
        self.attrs = (sp.sympify(value),)


def _number(v):
    return _Number(v)


def _neg_num(t):
    return _Number(-t.attrs[0])
