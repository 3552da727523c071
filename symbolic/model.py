"""The model a user writes down: energy (or vector field), cost, variables.

A :class:`Model` holds SymPy expressions and exact values only; deriving and
compiling happen elsewhere (:mod:`eqprop.symbolic.derive`,
:mod:`eqprop.symbolic.codegen`). Values stay exact (``Rational``) until a
numeric stage converts them at its own working precision, so a 50-digit
computation is never poisoned by a binary float.
"""

from __future__ import annotations

import itertools
import keyword
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import sympy as sp

from eqprop.errors import EqpropError

from .parse import (FUNCTIONS, NON_SMOOTH, check_printable, exact_number, normalize_formula,
                    parse_expression, shorten)
from .confusables import check_name, check_raw
from .model_fields import (MAX_DATA, MAX_NAME_CHARS, MAX_PARAMS, MAX_STATE, layer_sizes, model_name,
                           verify_table)
from .sympy_input import check_sympy

__all__ = ["Model", "MAX_STATE", "MAX_PARAMS", "MAX_DATA", "MAX_NAME_CHARS", "VERIFY_KEYS",
           "model_name"]

#: The keys a model's ``verify`` table (a model file's ``[verify]``) may hold: the one list that
#: model files (builtins.py) and the options of a verification (proofs/options.py) check against.
VERIFY_KEYS = ("dps", "times", "initial_state", "required_digits", "engine", "seed", "time_limit")


def variable_name(item, what):
    """``item`` (text or a Symbol) as a variable name: NFKC-normalised, printable, not reserved."""
    if isinstance(item, sp.Symbol):
        item = item.name
    if isinstance(item, str):  # as Python reads identifiers: the fullwidth 'ａ' is 'a'
        check_raw(item, what)
        item = unicodedata.normalize("NFKC", item)
    if isinstance(item, str) and item.startswith("_"):
        raise EqpropError(f"{what}: '{item}' starts with an underscore, which eqprop reserves for "
                          "its own symbols (beta, v, ...); rename it, e.g. to "
                          f"'{item.lstrip('_') or 'x'}'")
    if isinstance(item, str) and item.isidentifier() and not keyword.iskeyword(item):
        check_printable(item, what)  # a name in invisible letters: 'w\u3164' prints as 'w'
        check_name(item, what)
        if item in FUNCTIONS or item in ("pi", "E"):
            raise EqpropError(f"{what}: '{item}' is a reserved function or constant name; rename it")
        return item
    raise EqpropError(f"{what}: {shorten(item, 60)} is not a valid variable name; use letters, "
                      "digits and underscores, starting with a letter")


def _names_and_values(mapping, what, limit):
    if mapping is None:
        return [], []
    if not isinstance(mapping, dict):
        raise EqpropError(f"{what}: expected a mapping name -> value, got {type(mapping).__name__}")
    if len(mapping) > limit:
        raise EqpropError(f"{what}: {len(mapping):,} entries; at most {limit:,} are allowed on the "
                          "symbolic path (eqprop scale checks larger models written as arrays)")
    names, values = [], []
    for key, value in mapping.items():
        name = variable_name(key, what)
        names.append(name)
        values.append(exact_number(value, what=f"{what} '{name}'"))
    return names, values


def _state_names(state):
    """The names of the state variables, in order: a list of at most MAX_STATE names."""
    if isinstance(state, (str, sp.Symbol)):
        state = [state]
    if state is None:
        state = ()
    if isinstance(state, (set, frozenset)):  # no order: the state's would change from run to run
        raise EqpropError("state: got a set, which has no order; give a list, e.g. "
                          "state=['a', 'b'] (the order of the state variables is the order "
                          "of the Hessian's rows)")
    if isinstance(state, (bytes, dict)) or not hasattr(state, "__iter__") or \
            getattr(state, "ndim", 1) != 1:
        raise EqpropError(f"state: expected a list of names, e.g. ['a', 'b'], got "
                          f"{type(state).__name__}")
    state = list(itertools.islice(iter(state), MAX_STATE + 1))
    if len(state) > MAX_STATE:
        raise EqpropError(f"state: more than {MAX_STATE:,} variables; at most {MAX_STATE:,} are "
                          "allowed on the symbolic path (eqprop scale checks larger models written as "
                          "arrays)")
    state_names = [variable_name(s, "state") for s in state]
    if not state_names:
        raise EqpropError("state: empty; list the free variables s, e.g. state=['a', 'b']")
    return state_names


def _declared_symbols(state_names, param_names, data_names):
    """name -> real Symbol for every declared variable; each name has one role."""
    seen = {}
    for role, names in (("state", state_names), ("params", param_names), ("data", data_names)):
        for n in names:
            if n in seen:
                where = "twice in " + role if seen[n] == role else f"both in {seen[n]} and in {role}"
                raise EqpropError(f"variable '{n}' is declared {where}; each name must have one role")
            seen[n] = role
    return {n: sp.Symbol(n, real=True) for n in seen}


def _vector_field(vector_field, n_state, reader):
    """The components of ds/dt, one per state variable, read by ``reader``."""
    if isinstance(vector_field, (str, bytes, dict, sp.Basic)) or not hasattr(vector_field, "__len__"):
        raise EqpropError("vector_field: expected a list with one expression per state variable")
    if len(vector_field) != n_state:
        raise EqpropError(f"vector_field: has {len(vector_field)} components but the state has "
                          f"{n_state} variables; give one ds/dt per state variable")
    return tuple(reader.read(f, f"vector_field[{i}]") for i, f in enumerate(vector_field))


class _ExpressionReader:
    """Reads a model's formulas (text, numbers or SymPy) over its declared ``symbols``.

    Text is parsed (:func:`~.parse.parse_expression`) and kept, normalised,
    in ``formulas``; SymPy input is checked (:func:`~.sympy_input.check_sympy`)
    and its symbols replaced by the declared real ones. Every result is a
    finite real scalar.
    """

    def __init__(self, symbols):
        self.symbols, self.formulas = symbols, {}

    def read(self, value, what):
        """``value`` as a finite real SymPy expression."""
        expr = self._expression(value, what)
        if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
            raise EqpropError(f"{what}: contains an infinite or undefined constant ({expr}); "
                              "check for division by zero or log(0)")
        if expr.has(sp.I):
            raise EqpropError(f"{what}: contains the imaginary unit; energies and costs must "
                              "be real (complex numbers are eqprop's own business)")
        return expr

    def _expression(self, value, what):
        symbols = self.symbols
        if value is None:
            raise EqpropError(f"{what}: missing")
        if isinstance(value, (sp.MatrixBase, list, tuple)) or (
                hasattr(value, "shape") and getattr(value, "shape", ()) != ()):
            raise EqpropError(f"{what}: must be a scalar expression, got a "
                              f"{type(value).__name__}; sum its entries into one scalar")
        if isinstance(value, str):
            self.formulas[what] = normalize_formula(value, what)
            return parse_expression(self.formulas[what], symbols, what=what)
        if isinstance(value, bool):  # before int: True is an int
            example = "'(a - y)**2/2'" if what == "cost" else "'a**2/2 - w*a*b'"
            raise EqpropError(f"{what}: got a boolean {value!r}; {what} is a formula, such "
                              f"as {example}")
        if isinstance(value, (int, float, Fraction, Decimal)):  # Decimal: a TOML float
            return exact_number(value, what)
        if isinstance(value, _Checked):  # a checked model's own expression (with_params)
            return value.expr
        if not isinstance(value, sp.Basic):
            raise EqpropError(f"{what}: expected a string or a SymPy expression, got "
                              f"{type(value).__name__}")
        if not isinstance(value, sp.Expr) or isinstance(value, (sp.Tuple, sp.MatrixBase)):
            raise EqpropError(f"{what}: must be a scalar expression, got {type(value).__name__}")
        free = {s.name: s for s in value.free_symbols}
        unknown = sorted(n for n in free if n not in symbols)
        for n in unknown:  # a lookalike of a declared name says so
            check_name(n, what)
        if unknown:
            raise EqpropError(f"{what}: undeclared symbol '{unknown[0]}'; declare it in state, "
                              f"params or data (declared: {', '.join(sorted(symbols))})")
        value = value.xreplace({s: symbols[n] for n, s in free.items() if s != symbols[n]})
        return check_sympy(value, what)  # then finite, as for text


@dataclass(frozen=True, eq=False)
class Model:
    """An energy-based (or vector-field) model and its numbers.

    Parameters
    ----------
    energy : str or sympy.Expr, optional
        The scalar energy E(theta, x, s). Exactly one of ``energy`` and
        ``vector_field`` must be given.
    cost : str or sympy.Expr
        The scalar cost C(theta, y, s).
    state : sequence of str or Symbol
        The free variables s (the neurons), in order.
    params : dict
        The parameters theta and their values, in order.
    data : dict, optional
        Clamped quantities (input x, target y): not differentiated.
    vector_field : sequence, optional
        Instead of an energy, the dynamics ds/dt = F(s) directly (one
        expression per state variable). Theorem 3 then holds only where the
        Jacobian dF/ds is symmetric at the fixed point.
    name : str
        Shown in reports.
    verify : dict, optional
        Defaults for :func:`eqprop.verify` (``dps``, ``times``,
        ``initial_state``), as read from a TOML file's ``[verify]`` table.
    layers : tuple of int, optional
        Layer sizes (output first, input last) for layered built-in models;
        used by figures. The sizes but the last (the input) add up to the
        number of state variables.

    Values may be ints, decimal strings (``"0.35"``), fractions (``"7/20"``),
    SymPy numbers or mpmath ``mpf``; they are kept exact.

    Formulas given as text are kept, normalised as they were parsed, in
    ``formulas`` (``{"energy": ..., "cost": ...}``). Limits: at most
    ``MAX_STATE`` = 2,000 state variables, ``MAX_PARAMS`` = 200,000
    parameters and as many data values; the formula limits of
    :mod:`eqprop.symbolic.parse`; a name of printable text, at most 1,000
    characters.
    """

    energy: sp.Expr | None
    cost: sp.Expr
    state: tuple
    params: dict
    data: dict
    vector_field: tuple | None = None
    name: str = "model"
    verify: dict = field(default_factory=dict)
    layers: tuple | None = None
    formulas: dict = field(default_factory=dict)

    def __init__(self, energy=None, cost=None, state=(), params=None, data=None, *,
                 vector_field=None, name="model", verify=None, layers=None):
        name = model_name(name)
        state_names = _state_names(state)
        param_names, param_values = _names_and_values(params, "params", MAX_PARAMS)
        data_names, data_values = _names_and_values(data, "data", MAX_DATA)
        symbols = _declared_symbols(state_names, param_names, data_names)
        layers = layer_sizes(layers, len(state_names))
        reader = _ExpressionReader(symbols)
        if (energy is None) == (vector_field is None):
            raise EqpropError("give exactly one of energy=... (an energy function) or "
                              "vector_field=[...] (the dynamics ds/dt), not "
                              + ("both" if energy is not None else "neither"))
        s_syms = tuple(symbols[n] for n in state_names)
        if energy is not None:
            energy = reader.read(energy, "energy")
            if not energy.free_symbols & set(s_syms):
                raise EqpropError("energy: does not depend on any state variable "
                                  f"({', '.join(state_names)}); the dynamics would be trivial")
            fields = None
        else:
            fields = _vector_field(vector_field, len(s_syms), reader)
        cost = reader.read(cost, "cost")
        object.__setattr__(self, "energy", energy)
        object.__setattr__(self, "vector_field", fields)
        object.__setattr__(self, "cost", cost)
        object.__setattr__(self, "state", s_syms)
        object.__setattr__(self, "params", {symbols[n]: v for n, v in zip(param_names, param_values)})
        object.__setattr__(self, "data", {symbols[n]: v for n, v in zip(data_names, data_values)})
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "verify", verify_table(verify))
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "formulas", reader.formulas)

    # -- derived facts -------------------------------------------------
    @property
    def theta(self):
        """The parameter symbols, in declared order."""
        return tuple(self.params)

    @property
    def data_symbols(self):
        return tuple(self.data)

    @property
    def expressions(self):
        """Every expression of the model (energy or vector field, then cost)."""
        return ((self.energy,) if self.energy is not None else self.vector_field) + (self.cost,)

    @property
    def non_smooth(self):
        """Names of the non-smooth functions of the state or the parameters (violating the C^2
        assumption); one of the data alone (``Abs(x)`` with data x) is a constant."""
        fixed = set(self.data)
        return tuple(sorted({type(atom).__name__ for atom in self.non_smooth_atoms
                             if not atom.free_symbols <= fixed}))

    @property
    def non_smooth_atoms(self):
        """Every application of a non-smooth function (Abs, Max, ...), constant or not: derive
        differentiates their Piecewise forms, and heyoka is not offered."""
        return {atom for e in self.expressions for atom in e.atoms(*NON_SMOOTH)}

    @property
    def holomorphic(self):
        """True when every function used extends holomorphically (complex step is valid)."""
        return not self.non_smooth

    @property
    def has_energy(self):
        return self.energy is not None

    def values(self):
        """Exact values as :class:`fractions.Fraction`: ``(theta, data)`` tuples.

        This is how numeric stages receive numbers without importing SymPy.
        """
        def frac(v):
            return Fraction(int(v.p), int(v.q))
        return (tuple(frac(v) for v in self.params.values()),
                tuple(frac(v) for v in self.data.values()))

    def with_params(self, **values):
        """A copy with some parameter values replaced (by name)."""
        return self._with_values("params", values)

    def with_data(self, **values):
        """A copy with some data values replaced (by name)."""
        return self._with_values("data", values)

    def _with_values(self, kind, values):
        current = getattr(self, kind)
        names = {s.name for s in current}
        unknown = [k for k in values if k not in names]
        if unknown:
            raise EqpropError(f"with_{kind}: unknown {'parameter' if kind == 'params' else 'data'} "
                              f"'{unknown[0]}'")
        replaced = {s: values.get(s.name, v) for s, v in current.items()}
        fields = None if self.vector_field is None else [_Checked(f) for f in self.vector_field]
        copy = Model(energy=None if self.energy is None else _Checked(self.energy),
                     cost=_Checked(self.cost), state=self.state,
                     params=replaced if kind == "params" else self.params,
                     data=replaced if kind == "data" else self.data, vector_field=fields,
                     name=self.name, verify=self.verify, layers=self.layers)
        object.__setattr__(copy, "formulas", dict(self.formulas))
        return copy

    def __repr__(self):
        kind = "energy" if self.has_energy else "vector field"
        return (f"Model(name={self.name!r}, {kind}, n_state={len(self.state)}, "
                f"n_params={len(self.params)}, n_data={len(self.data)})")


class _Checked:
    """An expression of a Model, already checked: not walked again (:meth:`Model.with_params`)."""

    __slots__ = ("expr",)

    def __init__(self, expr):
        self.expr = expr
