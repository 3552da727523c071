"""Array models: the energy written once over arrays, checked small at 50 digits and large in float64.

An :class:`ArrayModel` declares sizes (``dims``), state blocks, parameters,
constants and data as arrays of those sizes, and writes the energy (or the
vector field) and the cost in array notation (:mod:`.parse`). The same
model serves both scales:

- :meth:`ArrayModel.to_model` writes it out entry by entry at its declared
  (small) sizes as an ordinary :class:`~eqprop.symbolic.model.Model`, which
  ``eqprop verify`` checks at high precision;
- :meth:`ArrayModel.with_dims` gives the same model at other sizes, which
  ``eqprop scale`` checks in float64 through code generated from the
  array expression (:mod:`.program`), never entry by entry.

In a model file (TOML) an array model is recognised by its ``[state]``
table::

    name = "modern Hopfield network"
    energy = "sum(s**2)/2 - x @ s - logsumexp(b * (X @ s)) / b"
    cost = "sum((s - y)**2)/2"

    [dims]
    n = 6          # pixels
    k = 4          # stored patterns

    [state]
    s = "n"

    [params]
    X = { shape = "k, n", init = "normal(0, 0.5)" }

    [constants]
    b = "2"

    [data]
    x = { shape = "n", init = "uniform(0, 1)" }
    y = { shape = "n", init = "uniform(0, 1)" }

    [scale]
    dims = { n = 784, k = 1000 }
    batch = 64

Parameters are differentiated (theta), constants are not; both are shared
by the examples of a batch. Data are per example. Each array's numbers come
from ``values``, ``init`` or ``file`` (:mod:`.specs`, :mod:`.values`); a
scalar may be given as its value alone (``b = "2"``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import sympy as sp

from eqprop.errors import EqpropError

from ..activations import rho_function
from ..confusables import check_name
from ..grammar import FUNCTIONS
from ..model import MAX_DATA, MAX_PARAMS, MAX_STATE, VERIFY_KEYS, Model, model_name, variable_name
from ..numbers import shorten
from . import ir
from .expand import MAX_EXPANDED_TERMS, expansion_terms, expand, scalar_names
from .parse import ARRAY_FUNCTIONS, parse_array
from .specs import MAX_DIM, ROLE_OF, Spec, parse_dims, parse_shape, parse_spec

__all__ = ["ArrayModel", "Spec", "MAX_DIM", "SCALE_KEYS"]

#: keys of a model's ``[scale]`` table (defaults for ``eqprop scale``)
SCALE_KEYS = ("dims", "batch", "eps", "steps", "beta", "data", "init")
class ArrayModel:
    """An energy (or vector field) and a cost over arrays; see the module docstring.

    Parameters mirror the model file: ``energy`` / ``vector_field`` (a
    mapping state block -> formula for ds/dt) and ``cost`` are array
    formulas; ``state`` maps each block to its shape; ``params``,
    ``constants`` and ``data`` map names to a value, a nested list, a numpy
    array or a table ``{shape, values | init | file[, dataset]}``; ``dims``
    names the sizes; ``functions`` names elementwise functions of ``z``
    (``rho = "sigmoid(z)"``); ``seed`` seeds every ``init``. ``base`` is the
    folder that ``file`` paths are relative to.
    """

    def __init__(self, energy=None, cost=None, *, state, params=None, constants=None, data=None,
                 dims=None, functions=None, vector_field=None, name="array model", seed=0,
                 verify=None, scale=None, base=None, layers=None):
        self.inputs = dict(energy=energy, cost=cost, state=state, params=params,
                           constants=constants, data=data, dims=dims, functions=functions,
                           vector_field=vector_field, name=name, seed=seed, verify=verify,
                           scale=scale, base=base, layers=layers)
        self.name = model_name(name)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise EqpropError(f"seed: a whole number of at least 0, got {shorten(seed, 30)}")
        self.seed, self.layers = seed, (tuple(layers) if layers is not None else None)
        self.dims = parse_dims(dims)
        self.functions = self._functions(functions)
        self.state = self._state(state)
        self.specs = {}
        for table, role in (("params", params), ("constants", constants), ("data", data)):
            if role is None:
                continue
            if not isinstance(role, Mapping):
                raise EqpropError(f"{table}: expected a table of name = value entries")
            for key, entry in role.items():
                n = self._new_name(key, table)
                self.specs[n] = parse_spec(n, ROLE_OF[table], entry, self.dims, f"{table} '{n}'", base)
        self.verify = dict(verify or {})
        bad = sorted(set(self.verify) - set(VERIFY_KEYS))
        if bad:
            raise EqpropError(f"[verify]: unknown key {shorten(bad[0], 30)}; allowed: "
                              f"{', '.join(VERIFY_KEYS)}")
        self.scale = self._scale(scale)
        self.variables = {b: ir.var(b, "state", shape) for b, shape in self.state.items()}
        self.variables.update({n: ir.var(n, s.role, s.shape) for n, s in self.specs.items()})
        names = {**self.dims, **self.variables}
        self.formulas = {}
        if (energy is None) == (vector_field is None):
            raise EqpropError("give exactly one of energy (a formula) or vector_field (a table of "
                              "ds/dt per state block), not " + ("both" if energy else "neither"))
        self.energy, self.vector_field = None, None
        if energy is not None:
            self.energy = self._formula(energy, names, "energy", ())
            if not self._depends_on_state(self.energy):
                raise EqpropError(f"energy: does not depend on the state ({', '.join(self.state)})")
        else:
            if not isinstance(vector_field, Mapping) or set(vector_field) != set(self.state):
                raise EqpropError("vector_field: give one formula per state block "
                                  f"({', '.join(self.state)}), as a table block = \"ds/dt\"")
            self.vector_field = {b: self._formula(vector_field[b], names, f"vector_field '{b}'",
                                                  self.state[b]) for b in self.state}
        if cost is None:
            raise EqpropError("cost: missing; give a formula such as \"sum((s - y)**2)/2\"")
        self.cost = self._formula(cost, names, "cost", ())

    # -- reading ------------------------------------------------------------------------------
    def _new_name(self, key, table):
        n = variable_name(key, table)
        if n in FUNCTIONS or n in ARRAY_FUNCTIONS or n in getattr(self, "functions", {}):
            raise EqpropError(f"{table}: '{n}' is the name of a function; rename it")
        if n in self.dims or n in getattr(self, "state", {}) or n in getattr(self, "specs", {}):
            raise EqpropError(f"variable '{n}' is declared twice; each name has one role")
        return n

    def _functions(self, functions):
        out = {}
        if functions is not None and not isinstance(functions, Mapping):
            raise EqpropError("functions: expected a table of name = formula in z, e.g. "
                              "rho = \"tanh(z)\"")
        for key, text in (functions or {}).items():
            n = variable_name(key, "functions")
            if n in FUNCTIONS or n in ARRAY_FUNCTIONS or n in self.dims:
                raise EqpropError(f"functions: '{n}' is already a function or a dimension; rename it")
            try:
                out[n] = rho_function(text)
            except EqpropError as exc:
                msg = str(exc)
                raise EqpropError(f"functions '{n}': {msg[5:] if msg.startswith('rho: ') else msg}") \
                    from None
        return out

    def _state(self, state):
        if not isinstance(state, Mapping) or not state:
            raise EqpropError("state: expected a table of block = shape entries, e.g. s = \"n\"")
        out = {}
        for key, shape in state.items():
            n = variable_name(key, "state")
            check_name(n, "state")
            if n in out or n in self.dims or n in self.functions:
                raise EqpropError(f"state: '{n}' is declared twice or names a dimension or function")
            if n in FUNCTIONS or n in ARRAY_FUNCTIONS:
                raise EqpropError(f"state: '{n}' is the name of a function; rename it")
            out[n] = parse_shape(shape, self.dims, f"state '{n}'")
        return out

    def _scale(self, scale):
        scale = dict(scale or {})
        bad = sorted(set(scale) - set(SCALE_KEYS))
        if bad:
            raise EqpropError(f"[scale]: unknown key {shorten(bad[0], 30)}; allowed: "
                              f"{', '.join(SCALE_KEYS)}")
        if "dims" in scale:
            dims = scale["dims"]
            if not isinstance(dims, Mapping):
                raise EqpropError("[scale] dims: expected a table such as { n = 784 }")
            unknown = sorted(set(dims) - set(self.dims))
            if unknown:
                raise EqpropError(f"[scale] dims: {shorten(unknown[0], 30)} is not a dimension "
                                  f"of [dims] ({', '.join(self.dims)})")
            parse_dims(dims)
        return scale

    def _formula(self, text, names, what, shape):
        if isinstance(text, ir.Node):
            node = text
        else:
            if not isinstance(text, str):
                raise EqpropError(f"{what}: expected a formula (text), got {type(text).__name__}")
            node = parse_array(text, names, self.functions, what=what)
            self.formulas[what] = " ".join(text.split())
        if node.shape != tuple(shape):
            want = "a scalar" if not shape else f"shape {tuple(shape)}"
            hint = "; sum it, e.g. sum(...)" if not shape else ""
            raise EqpropError(f"{what}: has shape {node.shape}, but must be {want}{hint}")
        if node.level >= 3:
            raise EqpropError(f"{what}: uses a tangent variable")
        return node

    def _depends_on_state(self, node):
        return any(n.op == "var" and n.attrs[1] == "state" for n in ir.walk([node]))

    # -- derived facts ----------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, doc, *, label="model", base=None):
        """An :class:`ArrayModel` from a parsed model file (``[state]`` a table)."""
        known = {"name", "energy", "vector_field", "cost", "seed", "dims", "functions", "state",
                 "params", "constants", "data", "verify", "scale", "layers"}
        unknown = sorted(set(doc) - known)
        if unknown:
            import difflib
            near = difflib.get_close_matches(unknown[0], sorted(known), n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise EqpropError(f"{label}: unknown field {shorten(unknown[0], 40)}{hint}; an array "
                              f"model has {', '.join(sorted(known))}")
        name = doc.get("name", Path(str(label)).stem or "array model")
        return cls(energy=doc.get("energy"), cost=doc.get("cost"), state=doc["state"],
                   params=doc.get("params"), constants=doc.get("constants"), data=doc.get("data"),
                   dims=doc.get("dims"), functions=doc.get("functions"),
                   vector_field=doc.get("vector_field"), name=name, seed=doc.get("seed", 0),
                   verify=doc.get("verify"), scale=doc.get("scale"), base=base,
                   layers=doc.get("layers"))

    @property
    def has_energy(self):
        return self.energy is not None

    @property
    def n_state(self):
        return sum(math.prod(s) for s in self.state.values())

    @property
    def params(self):
        return {n: s for n, s in self.specs.items() if s.role == "param"}

    @property
    def n_params(self):
        return sum(s.size for s in self.params.values())

    def with_dims(self, **dims):
        """The same model with some dimensions replaced (``with_dims(n=10000)``)."""
        unknown = sorted(set(dims) - set(self.dims))
        if unknown:
            raise EqpropError(f"--shape: {shorten(unknown[0], 30)} is not a dimension of the model "
                              f"({', '.join(self.dims) or 'it declares none'})")
        inputs = dict(self.inputs)
        inputs["dims"] = {**self.dims, **dims}
        if inputs.get("layers") is not None and dims:
            inputs["layers"] = None
        try:
            return ArrayModel(**inputs)
        except EqpropError as exc:
            raise EqpropError(f"at {', '.join(f'{k} = {v}' for k, v in dims.items())}: {exc}") from None

    def __repr__(self):
        return (f"ArrayModel(name={self.name!r}, {'energy' if self.has_energy else 'vector field'}, "
                f"dims={self.dims}, n_state={self.n_state}, n_params={self.n_params})")

    # -- numbers ---------------------------------------------------------------------------------
    def numbers(self, batch=1, seed=None):
        """float64 arrays by name: parameters and constants as declared, data with a batch axis."""
        seed = self.seed if seed is None else seed
        return {n: s.floats(batch, seed) for n, s in self.specs.items()}

    def exact_numbers(self):
        """Exact values (object arrays of SymPy Rationals) for one example, by name."""
        return {n: s.exact(self.seed) for n, s in self.specs.items()}

    def to_model(self):
        """The model written out entry by entry at its sizes: a per-neuron :class:`Model`."""
        n_par = sum(s.size for s in self.specs.values() if s.role == "param")
        n_data = sum(s.size for s in self.specs.values() if s.role != "param")
        for count, limit, what in ((self.n_state, MAX_STATE, "state entries"),
                                   (n_par, MAX_PARAMS, "parameter entries"),
                                   (n_data, MAX_DATA, "constant and data entries")):
            if count > limit:
                raise EqpropError(f"{self.name}: {count:,} {what} at dims "
                                  f"{', '.join(f'{k} = {v}' for k, v in self.dims.items())}; "
                                  f"eqprop verify writes an array model out entry by entry, at "
                                  f"most {limit:,}: give smaller [dims] (or --shape) for verify, "
                                  "and check the full size with eqprop scale")
        values = self.exact_numbers()
        symbols, seen = {}, {}
        for n in list(self.state) + list(self.specs):
            shape = self.state.get(n, self.specs[n].shape if n in self.specs else ())
            names = scalar_names(n, shape)
            for s in names:
                if s in seen:
                    raise EqpropError(f"arrays '{seen[s]}' and '{n}' both have an entry named "
                                      f"'{s}' when written out; rename one")
                seen[s] = n
            syms = [sp.Symbol(s, real=True) for s in names]
            arr = np.empty(len(syms), dtype=object)
            arr[:] = syms
            symbols[n] = arr.reshape(shape)
        state = [x for b in self.state for x in symbols[b].ravel()]
        params, data = {}, {}
        for n, s in self.specs.items():
            target = params if s.role == "param" else data
            for sym, v in zip(symbols[n].ravel(), np.asarray(values[n], dtype=object).ravel()):
                target[sym] = v
        roots = [self.cost] + ([self.energy] if self.energy is not None else
                               list(self.vector_field.values()))
        terms = expansion_terms(roots)
        if terms > MAX_EXPANDED_TERMS:
            raise EqpropError(f"{self.name}: written out entry by entry at "
                              f"{', '.join(f'{k} = {v}' for k, v in self.dims.items()) or 'its sizes'}"
                              f" it would build about {terms:,} scalar terms, more than the "
                              f"{MAX_EXPANDED_TERMS:,} that eqprop verify works through; verify "
                              "smaller sizes (--shape) and check these with eqprop scale")
        cost = expand(self.cost, symbols)[()]
        if self.energy is not None:
            return Model(energy=expand(self.energy, symbols)[()], cost=cost, state=state,
                         params=params, data=data, name=self.name, verify=self.verify,
                         layers=self.layers)
        field = [e for b in self.state for e in expand(self.vector_field[b], symbols).ravel()]
        return Model(vector_field=field, cost=cost, state=state, params=params, data=data,
                     name=self.name, verify=self.verify, layers=self.layers)

