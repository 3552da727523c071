"""The formula reader behind :func:`eqprop.symbolic.parse.parse_expression`.

:class:`FormulaReader` cuts a long formula at its ``+ - * /`` chains into
pieces that :func:`ast.parse` reads one at a time; :class:`_Walker` walks
each piece's syntax tree node by node under the reader's whitelist;
:class:`~.arith.Arith` builds the SymPy result with every exact number sized
before it is computed. The limits are :mod:`eqprop.symbolic.grammar`'s
constants.
"""

from __future__ import annotations

import ast
import keyword
import tokenize
import warnings

from eqprop.errors import EqpropError

from .arith import Arith
from .grammar import (BINOPS, FAMILY, FUNCTIONS, MAX_CALL_DEPTH, MAX_DEPTH, MAX_NODES, NAME, NUMBER,
                      OP, SIMPLE_OPS, SMALL, calls_message, depth_message, nesting, tokens)
from .numbers import _cut, exact_number, shorten


class FormulaReader(Arith):
    """Parses one normalised formula: small ones with ast.parse whole, long ones in pieces."""

    def __init__(self, text, symbols, what):
        super().__init__(what)
        self.text, self.symbols = text, symbols

    def run(self):
        toks, nodes, level, deepest = [], 0, 0, 0
        odd = None  # the first token outside the arithmetic grammar
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for tok in tokens(self.text):
                    toks.append(tok)
                    nodes += tok[0] in (NAME, NUMBER) or (tok[0] == OP and tok[1] not in "()[]{},")
                    if nodes > MAX_NODES:
                        self.fail(f"the formula has more than {MAX_NODES:,} numbers, names and "
                                  f"operators; at most {MAX_NODES:,} are allowed")
        except (tokenize.TokenError, SyntaxError, ValueError) as exc:
            if isinstance(exc, EqpropError):
                raise
            return self.leaf(self.text, 0, 0)  # unbalanced brackets and the like: Python says where
        for tok in toks:
            kind, s = tok[0], tok[1]
            if kind == NAME or kind == NUMBER:
                if kind == NUMBER:
                    self.check_literal(s)
                elif keyword.iskeyword(s) and odd is None:
                    odd = tok
            elif kind == OP:
                if s in "([{":
                    level += 1
                    deepest = max(deepest, level)
                elif s in ")]}":
                    level -= 1
                if s not in SIMPLE_OPS and odd is None:
                    odd = tok
            elif odd is None:
                odd = tok
        if deepest > MAX_DEPTH:
            self.fail(f"the formula nests {deepest} levels of brackets; at most {MAX_DEPTH} "
                      "are allowed")
        if len(toks) <= SMALL:
            return self.leaf(self.text, 0, 0)
        if odd is not None:
            what = "a string" if odd[0] == "STRING" else repr(_cut(odd[1], 20))
            self.fail(f"{what} at column {odd[2] + 1} is not allowed in a formula; only numbers, "
                      "declared symbols, + - * / ** and whitelisted functions")
        self.toks, self.match = toks, self.brackets(toks)
        if self.match is None:  # let Python's parser say where
            return self.leaf(self.text, 0, 0)
        return self.span(0, len(toks), 0, 0)

    def check_literal(self, s):
        """A decimal literal within the limits, checked before Python's parser builds it."""
        if s[-1] in "jJ" or s[:2].lower() in ("0x", "0o", "0b"):
            return  # judged by the walker
        exact_number(s, what=self.what)

    @staticmethod
    def brackets(toks):
        """Index of each '(' -> its ')'; None when they do not balance."""
        match, stack = {}, []
        for i, tok in enumerate(toks):
            if tok[0] == OP and tok[1] == "(":
                stack.append(i)
            elif tok[0] == OP and tok[1] == ")":
                if not stack:
                    return None
                match[stack.pop()] = i
        return None if stack else match

    # -- one piece through Python's parser
    def leaf(self, src, depth, column, calls=0):
        try:
            with warnings.catch_warnings():  # "invalid decimal literal" and such: not a second line
                warnings.simplefilter("ignore")
                tree = ast.parse(src, mode="eval")
        except SyntaxError as exc:
            col = f" at column {exc.offset + column}" if exc.offset else ""
            self.fail(f"malformed formula {shorten(src, 120)}{col}: {exc.msg}; "
                      "write it in Python syntax, e.g. 'x**2/2 - w*tanh(x)'")
        except (RecursionError, MemoryError):
            self.fail(depth_message(MAX_DEPTH))
        self.check_tree(tree.body, depth, calls)
        return _Walker(src, self.symbols, self).visit(tree.body)

    def check_tree(self, root, depth, calls):
        """Depth of the tree (a chain of + - or * / counts once), iteratively, before walking it."""
        for _node, d, c in nesting(root, depth + 1, calls):
            if d > MAX_DEPTH:
                self.fail(depth_message(d))
            if c > MAX_CALL_DEPTH:
                self.fail(calls_message())

    # -- a long formula, cut at its operators
    def malformed(self, i):
        col = self.toks[min(i, len(self.toks) - 1)][2] if self.toks else 0
        near = self.text[max(0, col - 20):col + 20]
        self.fail(f"malformed formula near column {col + 1} ({near!r}); write it in Python syntax, "
                  "e.g. 'x**2/2 - w*tanh(x)'")

    def span(self, lo, hi, depth, calls=0):
        """The expression of tokens ``lo:hi`` (an arithmetic expression, brackets balanced)."""
        toks, match = self.toks, self.match
        while lo < hi and toks[lo][1] == "(" and match.get(lo) == hi - 1:
            lo, hi = lo + 1, hi - 1  # redundant brackets
        if lo >= hi:
            self.malformed(lo)
        if hi - lo <= SMALL:
            return self.leaf(self.text[toks[lo][2]:toks[hi - 1][3]], depth, toks[lo][2], calls)
        if depth >= MAX_DEPTH:
            self.fail(depth_message(depth + 1))
        adds, muls, power, operand = [], [], None, False
        i = lo
        while i < hi:
            kind, s = toks[i][0], toks[i][1]
            if s == "(":
                i, operand = match[i] + 1, True
                continue
            if kind == OP:
                if s == ",":
                    self.fail(f"a comma outside a function call (column {toks[i][2] + 1}) is not "
                              "allowed; a formula is one scalar expression")
                if s in ("+", "-") and operand:
                    adds.append(i)
                elif s in ("*", "/"):
                    muls.append(i)
                elif s == "**" and power is None:
                    power = i
                operand = False
            else:
                operand = True
            i += 1
        if adds:
            cuts = [lo - 1] + adds + [hi]
            terms = []
            for a, b in zip(cuts, cuts[1:]):
                term = self.span(a + 1, b, depth + 1, calls)
                terms.append(-term if a >= lo and toks[a][1] == "-" else term)
            return self.add(terms)
        if muls:
            cuts = [lo - 1] + muls + [hi]
            first = self.span(lo, cuts[1], depth + 1, calls)
            rest = [(toks[a][1] == "/", self.span(a + 1, b, depth + 1, calls))
                    for a, b in zip(cuts[1:], cuts[2:])]
            return self.mul(first, rest)
        if toks[lo][0] == OP and toks[lo][1] in ("+", "-"):
            negative = False
            while lo < hi and toks[lo][0] == OP and toks[lo][1] in ("+", "-"):
                negative ^= toks[lo][1] == "-"
                lo, depth = lo + 1, depth + 1
                if depth > MAX_DEPTH:
                    self.fail(depth_message(depth))
            operand = self.span(lo, hi, depth, calls)
            return -operand if negative else operand
        if power is not None:
            return self.power(self.span(lo, power, depth + 1, calls),
                              self.span(power + 1, hi, depth + 1, calls))
        if toks[lo][0] == NAME and toks[lo + 1][1] == "(" and match.get(lo + 1) == hi - 1:
            args, start = [], lo + 2
            i = start
            while i < hi - 1:
                if toks[i][1] == "(":
                    i = match[i] + 1
                    continue
                if toks[i][1] == ",":
                    args.append((start, i))
                    start = i + 1
                i += 1
            if start < hi - 1 or args:
                args.append((start, hi - 1))
            if args and args[-1][0] == args[-1][1] and len(args) > 1:
                args.pop()  # a trailing comma, as Python allows
            name = toks[lo][1]
            if name not in FUNCTIONS:
                self.call(name, [])
            if calls + 1 > MAX_CALL_DEPTH:
                self.fail(calls_message())
            return self.call(name, [self.span(a, b, depth + 1, calls + 1) for a, b in args])
        self.malformed(lo + 1)


class _Walker:
    """Turns one checked syntax tree into SymPy, refusing anything off the whitelist."""

    def __init__(self, source, symbols, arith):
        self.source = source.encode("utf-8")  # ast columns count UTF-8 bytes
        self.symbols, self.arith, self.what = symbols, arith, arith.what

    def fail(self, msg):
        raise EqpropError(f"{self.what}: {msg}")

    def chain(self, node, family):
        """The operands of ``a op b op c ...`` (one family, left to right), without recursing."""
        items = []
        while isinstance(node, ast.BinOp) and FAMILY.get(type(node.op)) == family:
            items.append((type(node.op), node.right))
            node = node.left
        first = self.visit(node)
        return first, [(op, self.visit(right)) for op, right in reversed(items)]

    def visit(self, node):
        if isinstance(node, ast.BinOp):
            if type(node.op) not in BINOPS:
                hint = " (use ** for powers)" if isinstance(node.op, ast.BitXor) else ""
                self.fail(f"operator {type(node.op).__name__} is not allowed{hint}; "
                          "use + - * / **")
            family = FAMILY.get(type(node.op))
            if family == "add":
                first, rest = self.chain(node, "add")
                return self.arith.add([first] + [-t if op is ast.Sub else t for op, t in rest])
            if family == "mul":
                first, rest = self.chain(node, "mul")
                return self.arith.mul(first, [(op is ast.Div, f) for op, f in rest])
            return self.arith.power(self.visit(node.left), self.visit(node.right))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.visit(node.operand)
            if isinstance(node.op, ast.UAdd):
                return self.visit(node.operand)
            self.fail(f"unary operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                self.fail(f"only numbers may appear as literals, got {shorten(node.value, 40)}")
            segment = self.source[node.col_offset:node.end_col_offset].decode("utf-8")
            return exact_number(segment or repr(node.value), what=self.what)
        if isinstance(node, ast.Name):
            return self.arith.name(node.id, self.symbols)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                self.fail("only plain function calls like tanh(s) are allowed, "
                          "not attribute access or computed functions")
            name = node.func.id
            if name not in FUNCTIONS:
                self.arith.call(name, [])
            if node.keywords:
                self.fail(f"keyword arguments are not allowed in {name}(...)")
            return self.arith.call(name, [self.visit(a) for a in node.args])
        kind = {ast.Attribute: "attribute access", ast.Lambda: "lambda",
                ast.Subscript: "subscripting", ast.Compare: "comparison",
                ast.BoolOp: "boolean operator", ast.IfExp: "conditional expression"}
        self.fail(f"{kind.get(type(node), type(node).__name__)} is not allowed in a formula; "
                  "only numbers, declared symbols, + - * / ** and whitelisted functions")
