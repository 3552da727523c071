"""Safe parsing of formulas (symbolic/parse.py).

Expected values are written by hand (exact rationals, SymPy expressions
built directly), never by calling the parser a second time.
"""

import builtins
import os
import re
import textwrap

import pytest
import sympy as sp

from eqprop.errors import EqpropError
from eqprop.symbolic.parse import exact_number, parse_expression

a, b, w = sp.symbols("a b w", real=True)
SYMS = {"a": a, "b": b, "w": w}


def parse(text):
    return parse_expression(text, SYMS, what="energy")


# -- exact numbers --------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("0.35", sp.Rational(7, 20)),
    ("1e-3", sp.Rational(1, 1000)),
    ("2.5E-2", sp.Rational(1, 40)),
    ("1e3", sp.Integer(1000)),
    (".5", sp.Rational(1, 2)),
    ("7", sp.Integer(7)),
    ("-0.125", sp.Rational(-1, 8)),
    ("0.1 + 0.2", sp.Rational(3, 10)),  # a float sum would be 0.30000000000000004
    ("0.3333333333333333333333333", sp.Rational(3333333333333333333333333, 10**25)),
])
def test_decimal_literals_are_exact_rationals(text, expected):
    got = parse(text)
    assert got == expected
    assert got.is_Rational, f"{text!r} became {sp.srepr(got)}, not an exact Rational"


def test_decimal_coefficient_in_formula_stays_exact():
    got = parse("0.35*a**2 - 1e-3*w*tanh(a)")
    expected = sp.Rational(7, 20) * a**2 - sp.Rational(1, 1000) * w * sp.tanh(a)
    assert sp.simplify(got - expected) == 0
    assert not got.atoms(sp.Float), "a binary float leaked into the expression"


def test_arithmetic_and_functions():
    got = parse("(a**2 + b**2)/2 - w*tanh(a)*tanh(b) + sigmoid(a) + softplus(b) - pi*E")
    expected = ((a**2 + b**2) / 2 - w * sp.tanh(a) * sp.tanh(b) + 1 / (1 + sp.exp(-a))
                + sp.log(1 + sp.exp(b)) - sp.pi * sp.E)
    assert sp.simplify(got - expected) == 0
    assert parse("-a + +b") == -a + b


def test_multi_line_formula():
    text = textwrap.dedent("""
        (a**2 + b**2)/2
            - w*tanh(a)*tanh(b)
            - 0.5*tanh(b)
    """)
    got = parse(text)
    expected = (a**2 + b**2) / 2 - w * sp.tanh(a) * sp.tanh(b) - sp.Rational(1, 2) * sp.tanh(b)
    assert sp.expand(got - expected) == 0


def test_exact_number_inputs():
    from fractions import Fraction
    assert exact_number("7/20") == sp.Rational(7, 20)
    assert exact_number(Fraction(2, 3)) == sp.Rational(2, 3)
    assert exact_number(0.1) == sp.Rational(1, 10)
    assert exact_number(3) == sp.Integer(3)
    for bad in ("nan", "inf", "-inf", "oo", True, "abc", None):
        with pytest.raises(EqpropError):
            exact_number(bad)


# -- rejection -------------------------------------------------------------

@pytest.mark.parametrize("text, fragment", [
    ("a +", "malformed"),
    ("(a + b", "malformed"),
    ("a b", "malformed"),
    ("q**2", "undeclared symbol 'q'"),
    ("a + nan", "undeclared symbol 'nan'"),
    ("foo(a)", "unknown function 'foo'"),
    ("eval('1')", "unknown function 'eval'"),
    ("exec('x=1')", "unknown function 'exec'"),
    ("getattr(a, 'x')", "unknown function 'getattr'"),
    ("__import__('os').system('id')", "not attribute access"),
    ("a.__class__", "attribute access"),
    ("(lambda: 1)()", "plain function calls"),
    ("lambda: 1", "lambda"),
    ("[1][0]", "subscripting"),
    ("'abc'", "only numbers"),
    ("a * 'abc'", "only numbers"),
    ("tanh(x=a)", "keyword arguments"),
    ("a < b", "comparison"),
    ("a == b", "comparison"),
    ("a and b", "boolean operator"),
    ("a if b else 1", "conditional expression"),
    ("a ^ 2", "**"),
    ("a // b", "not allowed"),
    ("a % b", "not allowed"),
    ("~a", "not allowed"),
    ("not a", "not allowed"),
    ("True", "only numbers"),
    ("1j*a", "only numbers"),
    ("tanh", "is a function"),
    ("tanh(a, b)", "wrong number of arguments"),
    ("tanh(*[a])", "not allowed"),
    ("[a, b]", "not allowed"),
    ("{1: 2}", "not allowed"),
    ("", "empty"),
    ("   \n  ", "empty"),
])
def test_rejected_with_a_helpful_message(text, fragment):
    with pytest.raises(EqpropError) as info:
        parse(text)
    msg = str(info.value)
    assert fragment in msg, msg
    assert msg.startswith("energy:"), msg  # says which formula is wrong
    assert "\n" not in msg


def test_caret_message_suggests_double_star():
    with pytest.raises(EqpropError, match=r"use \*\* for powers"):
        parse("a^2")


def test_non_string_rejected():
    with pytest.raises(EqpropError, match="expected a string"):
        parse_expression(3.5j, SYMS)


# -- no code is ever executed ----------------------------------------------

def test_no_builtin_is_called(monkeypatch):
    calls = []
    monkeypatch.setattr(builtins, "boom", lambda *args: calls.append(args) or 0, raising=False)
    for text in ("boom()", "boom(a) + a", "a + boom"):
        with pytest.raises(EqpropError):
            parse(text)
    assert calls == []


def test_os_system_never_reached(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd) or 0)
    for text in ("__import__('os').system('id')", "a + __import__('os').system('id')",
                 "tanh(__import__('os').system('id'))"):
        with pytest.raises(EqpropError):
            parse(text)
    assert calls == []


def test_no_file_is_created(tmp_path):
    target = tmp_path / "pwned"
    attempts = [
        f"open({str(target)!r}, 'w')",
        f"__import__('pathlib').Path({str(target)!r}).touch()",
        f"exec(\"open({str(target)!r}, 'w')\")",
        f"tanh(open({str(target)!r}, 'w').write('x'))",
    ]
    for text in attempts:
        with pytest.raises(EqpropError):
            parse(text)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text, fragment", [
    ("9**9**9", "exponent 387420489 is too large"),
    ("(((10**1000)**1000)**1000)**1000*a", "a power would need about 1,001,000 digits"),
    ("(10**100*a)**100", "a power would need about 10,100 digits"),
    ("1e999999999*a", "out of range"),
])
def test_huge_power_is_refused_before_it_is_computed(text, fragment):
    """The size of an exact power is estimated first: refused at once, in process."""
    with pytest.raises(EqpropError, match=re.escape(fragment)):
        parse(text)
