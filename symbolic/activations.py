"""Activation functions rho(z): the named ones, and any formula in one variable.

The layered networks (:func:`~.networks.hopfield`, :mod:`.arrays.families`),
the elementwise functions of array models and ``eqprop scale --rho`` all
read their activation through :func:`rho_function`.
"""

from __future__ import annotations

import difflib
import keyword
import re

import sympy as sp

from eqprop.errors import EqpropError

from .confusables import check_name
from .grammar import FUNCTIONS, TWO_ARGUMENTS
from .numbers import shorten
from .parse import formula_names, normalize_formula, parse_expression
from .sympy_input import check_sympy

__all__ = ["RHO", "Z", "rho_function"]

#: The variable of every activation function.
Z = sp.Symbol("z", real=True)

#: Named activation functions rho(z), as SymPy expressions in ``z``.
RHO = {
    "sigmoid": 1 / (1 + sp.exp(-Z)),
    "tanh": sp.tanh(Z),
    "hardsigmoid": sp.Min(sp.Max(Z, 0), 1),
    "smoothhard": 1 / (1 + sp.exp(-(4 * Z - 2))),
    "softplus": sp.log(1 + sp.exp(Z)),
}

#: A name read as a variable when rho is a lone name: one letter, then nothing or a digit or
#: underscore and more (z, x1, z_in). A longer word (relu, gelu) is an unknown activation.
_VARIABLE = re.compile(r"[^\W\d_](?:[0-9_]\w*)?\Z")


def _unknown_activation(name):
    near = difflib.get_close_matches(name, list(RHO) + sorted(FUNCTIONS), n=1)
    hint = f" (did you mean '{near[0]}'?)" if near else ""
    return EqpropError(f"rho: unknown activation {shorten(name, 40)}{hint}; use one of "
                       f"{', '.join(RHO)}, a function such as atan, or a formula in one variable "
                       "such as 'z' (the identity) or 'z/(1 + z**2)'")


def rho_function(rho):
    """Return rho as a SymPy expression in the symbol ``z``.

    ``rho`` is a name from :data:`RHO`, the name of a one-argument formula
    function (``"atan"`` means atan(z)), a string formula in one variable
    (``"z/(1 + z**2)"``, any variable name; ``"z"`` alone is the identity),
    or a SymPy expression in one symbol. A lone word that is none of these
    (``"relu"``) is an unknown activation, not a variable.
    """
    if isinstance(rho, str):
        text = normalize_formula(rho, "rho")
        if text in RHO:
            return RHO[text]
        if text.isidentifier() and not keyword.iskeyword(text):
            if text in TWO_ARGUMENTS:
                raise EqpropError(f"rho: {text} takes two arguments; an activation is a function "
                                  f"of one variable, e.g. '{text}(z, 0)'")
            if text in FUNCTIONS:
                return FUNCTIONS[text](Z)
            if text in ("pi", "E"):
                raise EqpropError(f"rho: '{text}' is a constant; an activation is a function of "
                                  "one variable, such as 'z' or 'tanh'")
            if _VARIABLE.match(text):
                return Z  # the identity, in the variable the user named
            check_name(text, "rho")  # 'tаnh' with a Cyrillic 'а' says so
            raise _unknown_activation(text)
        free = sorted(n for n in formula_names(text, "rho")
                      if n not in FUNCTIONS and n not in ("pi", "E"))
        if len(free) != 1:  # a malformed or forbidden formula says so first
            parse_expression(text, {n: sp.Symbol(n, real=True) for n in free}, what="rho")
            raise EqpropError(f"rho: {shorten(text, 60)} is neither a named activation "
                              f"({', '.join(RHO)}) nor a formula in exactly one variable, such "
                              "as 'z/(1 + z**2)'")
        var = sp.Symbol(free[0], real=True)
        expr = parse_expression(text, {free[0]: var}, what="rho")
        if var not in expr.free_symbols:  # 0*z + 1, z - z: SymPy simplified the variable away
            raise EqpropError(f"rho: {shorten(text, 60)} is the constant {shorten(expr, 30)}; an "
                              "activation is a function of one variable, such as 'tanh(z)'")
        return expr.xreplace({var: Z})
    if isinstance(rho, sp.Expr):
        rho = check_sympy(rho, "rho")
        free = list(rho.free_symbols)
        if len(free) != 1:
            raise EqpropError(f"rho: expected an expression in exactly one symbol, got {rho}")
        return rho.xreplace({free[0]: Z})
    raise EqpropError(f"rho: expected a name ({', '.join(RHO)}), a formula string or a SymPy "
                      f"expression, got {type(rho).__name__}")
