"""Safe parsing of energy and cost strings into SymPy expressions.

User text is never handed to ``eval`` (nor to ``sympy.sympify`` or
``parse_expr``, which both evaluate Python code). The string is parsed by
Python's own grammar with :func:`ast.parse` -- which builds a syntax tree and
executes nothing -- and the tree is walked node by node. Only arithmetic
(``+ - * / **``), numbers, declared symbols and calls of the functions in
:data:`FUNCTIONS` are accepted; everything else (attribute access, lambdas,
subscripts, keyword arguments, comprehensions, strings, ...) is refused with
a one-line :class:`~eqprop.errors.EqpropError`.

Decimal literals are read exactly from their source text, so ``"0.35"``
becomes ``Rational(7, 20)`` and never passes through a binary float.
"""

from __future__ import annotations

import ast
from fractions import Fraction

import sympy as sp

from eqprop.errors import EqpropError

__all__ = ["FUNCTIONS", "NON_SMOOTH", "parse_expression", "exact_number"]


def _sigmoid(z):
    return 1 / (1 + sp.exp(-z))


def _softplus(z):
    return sp.log(1 + sp.exp(z))


def _hardsigmoid(z):
    return sp.Min(sp.Max(z, 0), 1)


#: Functions a string may call, by name. Smooth ones first.
FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt,
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan,
    "asinh": sp.asinh, "acosh": sp.acosh, "atanh": sp.atanh, "erf": sp.erf,
    "sigmoid": _sigmoid, "softplus": _softplus,
    # non-smooth: accepted, flagged as violating the C^2 assumption
    "Abs": sp.Abs, "abs": sp.Abs, "Min": sp.Min, "min": sp.Min,
    "Max": sp.Max, "max": sp.Max, "Heaviside": sp.Heaviside,
    "sign": sp.sign, "floor": sp.floor, "ceiling": sp.ceiling,
    "hardsigmoid": _hardsigmoid,
}

#: SymPy classes that break the twice-differentiable assumption.
NON_SMOOTH = (sp.Abs, sp.Min, sp.Max, sp.Piecewise, sp.Heaviside, sp.sign,
              sp.floor, sp.ceiling, sp.DiracDelta)

_CONSTANTS = {"pi": sp.pi, "E": sp.E}

#: Largest numeric exponent accepted (``9**9**9`` would never finish evaluating).
MAX_EXPONENT = 1000

_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a ** b,
}


def exact_number(value, what="value"):
    """Return ``value`` as an exact SymPy number (Rational where possible).

    Accepts ints, decimal or fraction strings (``"0.35"``, ``"7/20"``,
    ``"1e-3"``), :class:`fractions.Fraction`, SymPy numbers and mpmath
    ``mpf``. A Python float is converted through its shortest repr, so
    ``0.1`` means 1/10, not the nearest binary fraction. NaN and infinities
    are refused.
    """
    if isinstance(value, bool):
        raise EqpropError(f"{what}: got a boolean {value!r}; give a number such as 0.5")
    try:
        if isinstance(value, sp.Basic):
            num = value
        elif isinstance(value, (int, Fraction)):
            num = sp.Rational(value)
        elif isinstance(value, float) or type(value).__name__ in ("float64", "float32"):
            num = sp.Rational(repr(float(value)))
        elif type(value).__name__.startswith(("int", "uint")) and hasattr(value, "item"):
            num = sp.Rational(int(value))
        elif isinstance(value, str):
            text = value.strip()
            if text.lower().lstrip("+-") in ("nan", "inf", "infinity", "oo"):
                raise EqpropError(f"{what}: got {value!r}; values must be finite numbers")
            num = sp.Rational(text)
        else:  # mpmath mpf and friends
            import mpmath
            if isinstance(value, mpmath.mpf):
                if not mpmath.isfinite(value):
                    raise EqpropError(f"{what}: got {value}; values must be finite numbers")
                man, exp = value.man_exp
                num = sp.Integer(man) * sp.Integer(2) ** exp
            else:
                raise TypeError
    except EqpropError:
        raise
    except (TypeError, ValueError, SyntaxError):
        raise EqpropError(
            f"{what}: cannot read {value!r} as a number; write an int, a decimal "
            "string like '0.35' or a fraction like '7/20'") from None
    if not getattr(num, "is_number", False) or num.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise EqpropError(f"{what}: got {value!r}; values must be finite real numbers")
    if not num.is_real:
        raise EqpropError(f"{what}: got {value!r}; values must be real")
    if isinstance(num, sp.Float):
        num = sp.Rational(str(num))
    if not num.is_Rational:
        raise EqpropError(f"{what}: got {value}; give an exact decimal or fraction, "
                          "e.g. '1.4142135623730950488' rather than sqrt(2)")
    return num


def parse_expression(text, symbols, *, what="expression"):
    """Parse ``text`` into a SymPy expression over the given ``symbols``.

    Parameters
    ----------
    text : str
        The formula, in Python syntax: ``"(a**2 + b**2)/2 - w*tanh(a)*tanh(b)"``.
    symbols : dict[str, sympy.Symbol]
        Every name the formula may use (state, parameters, data).
    what : str
        Used in error messages ("energy", "cost", ...).
    """
    if not isinstance(text, str):
        raise EqpropError(f"{what}: expected a string or a SymPy expression, got {type(text).__name__}")
    if not text.strip():
        raise EqpropError(f"{what}: the formula is empty")
    if len(text) > 1_000_000:
        raise EqpropError(f"{what}: the formula is over 1,000,000 characters")
    text = " ".join(text.split())  # formulas may span lines (TOML multi-line strings)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise EqpropError(f"{what}: malformed formula {text!r}{col}: {exc.msg}; "
                          "write it in Python syntax, e.g. 'x**2/2 - w*tanh(x)'") from None
    return _Walker(text, symbols, what).visit(tree.body)


class _Walker:
    def __init__(self, source, symbols, what):
        self.source, self.symbols, self.what = source, symbols, what

    def fail(self, msg):
        raise EqpropError(f"{self.what}: {msg}")

    def visit(self, node):
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                hint = " (use ** for powers)" if isinstance(node.op, ast.BitXor) else ""
                self.fail(f"operator {type(node.op).__name__} is not allowed{hint}; "
                          "use + - * / **")
            left, right = self.visit(node.left), self.visit(node.right)
            if isinstance(node.op, ast.Pow) and right.is_Number and abs(right) > MAX_EXPONENT:
                self.fail(f"exponent {right} is too large (at most {MAX_EXPONENT}); "
                          "a formula must stay small enough to differentiate")
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.visit(node.operand)
            if isinstance(node.op, ast.UAdd):
                return self.visit(node.operand)
            self.fail(f"unary operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                self.fail(f"only numbers may appear as literals, got {node.value!r}")
            segment = ast.get_source_segment(self.source, node) or repr(node.value)
            return exact_number(segment, what=self.what)
        if isinstance(node, ast.Name):
            if node.id in self.symbols:
                return self.symbols[node.id]
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            if node.id in FUNCTIONS:
                self.fail(f"'{node.id}' is a function; call it, e.g. {node.id}(s)")
            declared = ", ".join(sorted(self.symbols)) or "none"
            self.fail(f"undeclared symbol '{node.id}'; declare it in state, params or data "
                      f"(declared: {declared})")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                self.fail("only plain function calls like tanh(s) are allowed, "
                          "not attribute access or computed functions")
            name = node.func.id
            if name not in FUNCTIONS:
                known = ", ".join(sorted(FUNCTIONS))
                self.fail(f"unknown function '{name}'; allowed: {known}")
            if node.keywords:
                self.fail(f"keyword arguments are not allowed in {name}(...)")
            args = [self.visit(a) for a in node.args]
            try:
                return FUNCTIONS[name](*args)
            except TypeError:
                self.fail(f"wrong number of arguments to {name}(): got {len(args)}")
        kind = {ast.Attribute: "attribute access", ast.Lambda: "lambda",
                ast.Subscript: "subscripting", ast.Compare: "comparison",
                ast.BoolOp: "boolean operator", ast.IfExp: "conditional expression"}
        self.fail(f"{kind.get(type(node), type(node).__name__)} is not allowed in a formula; "
                  "only numbers, declared symbols, + - * / ** and whitelisted functions")
