"""Built-in models and model files.

- :func:`hopfield`: the paper's modified Hopfield energy (paper 2.4), any depth.
- :func:`quadratic`: linear dynamics with closed forms for every quantity.
- :func:`load_model`: a TOML file, or the name of a shipped model file
  (``paper``, ``two-neurons``).
"""

from __future__ import annotations

import decimal
import difflib
import keyword
import numbers
import os
import random
import re
from importlib import resources
from pathlib import Path

import numpy as np
import sympy as sp

from eqprop.errors import EqpropError

from .files import FileRefused, stat_regular_file
from .model import MAX_DATA, MAX_PARAMS, MAX_STATE, VERIFY_KEYS, Model
from .confusables import check_name
from .sympy_input import check_sympy
from .parse import FUNCTIONS, escape_controls, formula_names, normalize_formula, parse_expression, shorten

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["RHO", "rho_function", "hopfield", "quadratic", "load_model", "builtin_names",
           "spec_terms"]

_z = sp.Symbol("z", real=True)

#: Named activation functions rho(z), as SymPy expressions in ``z``.
RHO = {
    "sigmoid": 1 / (1 + sp.exp(-_z)),
    "tanh": sp.tanh(_z),
    "hardsigmoid": sp.Min(sp.Max(_z, 0), 1),
    "smoothhard": 1 / (1 + sp.exp(-(4 * _z - 2))),
    "softplus": sp.log(1 + sp.exp(_z)),
}

_TWO_ARGUMENTS = {"Min", "min", "Max", "max"}
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
            if text in _TWO_ARGUMENTS:
                raise EqpropError(f"rho: {text} takes two arguments; an activation is a function "
                                  f"of one variable, e.g. '{text}(z, 0)'")
            if text in FUNCTIONS:
                return FUNCTIONS[text](_z)
            if text in ("pi", "E"):
                raise EqpropError(f"rho: '{text}' is a constant; an activation is a function of "
                                  "one variable, such as 'z' or 'tanh'")
            if _VARIABLE.match(text):
                return _z  # the identity, in the variable the user named
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
        return expr.xreplace({var: _z})
    if isinstance(rho, sp.Expr):
        rho = check_sympy(rho, "rho")
        free = list(rho.free_symbols)
        if len(free) != 1:
            raise EqpropError(f"rho: expected an expression in exactly one symbol, got {rho}")
        return rho.xreplace({free[0]: _z})
    raise EqpropError(f"rho: expected a name ({', '.join(RHO)}), a formula string or a SymPy "
                      f"expression, got {type(rho).__name__}")


def _rand_value(rng, scale):
    """A reproducible exact decimal in [-scale, scale] with three digits."""
    k = max(1, int(1000 * scale))
    return sp.Rational(rng.randint(-k, k), 1000)


def hopfield(layers=(2, 3, 3, 2), rho="sigmoid", biases=False, seed=0, *, name=None):
    """The paper's modified Hopfield energy (paper 2.4) for any depth.

    ``layers = [n_out, n_h1, ..., n_in]``: layer 0 is the output s_0, the last
    entry the clamped input x. With rho applied elementwise::

        E = 1/2 sum_l |s_l|^2 - sum_l rho(s_l)^T W_{l,l+1} rho(s_{l+1}) [- sum_l b_l^T rho(s_l)]
        C = 1/2 |y - s_0|^2

    State symbols ``s0_0, s0_1, ..., s1_0, ...``; weights ``W01_i_j`` couple
    unit i of layer 0 with unit j of layer 1; biases ``b0_i``; inputs ``x_j``;
    targets ``y_i``. Weights, inputs and targets are exact three-digit
    decimals drawn from ``random.Random(seed)``, weights scaled by
    sqrt(6 / (fan_in + fan_out)).
    """
    biases = _flag(biases, "hopfield: biases")
    layers = _hopfield_layers(layers, biases)
    r = rho_function(rho)
    rng = random.Random(_seed(seed))
    n_free = len(layers) - 1
    s = [[sp.Symbol(f"s{l}_{i}", real=True) for i in range(layers[l])] for l in range(n_free)]
    x = [sp.Symbol(f"x_{j}", real=True) for j in range(layers[-1])]
    y = [sp.Symbol(f"y_{i}", real=True) for i in range(layers[0])]
    rho_of = {v: r.xreplace({_z: v}) for v in [u for layer in s for u in layer] + x}
    terms = [sp.Rational(1, 2) * v**2 for layer in s for v in layer]
    params = {}
    for l in range(n_free):
        upper = s[l + 1] if l + 1 < n_free else x
        scale = (6 / (layers[l] + layers[l + 1])) ** 0.5
        for i, a in enumerate(s[l]):
            for j, b in enumerate(upper):
                w = sp.Symbol(f"W{l}{l + 1}_{i}_{j}", real=True)
                params[w] = _rand_value(rng, scale)
                terms.append(sp.Mul(-1, w, rho_of[a], rho_of[b]))  # one flatten, not two
    if biases:
        for l in range(n_free):
            for i, a in enumerate(s[l]):
                b = sp.Symbol(f"b{l}_{i}", real=True)
                params[b] = _rand_value(rng, 0.5)
                terms.append(-b * rho_of[a])
    data = {v: _rand_value(rng, 1) for v in x}
    data.update({v: sp.Rational(rng.randint(0, 1000), 1000) for v in y})
    energy = sp.Add(*terms)
    cost = sp.Rational(1, 2) * sp.Add(*[(yi - si) ** 2 for yi, si in zip(y, s[0])])
    return Model(energy=energy, cost=cost, state=[v for layer in s for v in layer],
                 params=params, data=data, layers=tuple(layers),
                 name=name or f"hopfield {'-'.join(map(str, layers))} ({_rho_label(rho)})")


def _rho_label(rho):
    if not isinstance(rho, str):
        return "custom rho"
    text = " ".join(rho.split())
    return text if len(text) <= 40 else text[:37] + "..."


def _count(value, what):
    """A size given as an integer (or its decimal digits), before anything is allocated."""
    if isinstance(value, bool):
        raise EqpropError(f"{what}: got a boolean {value!r}; give a positive integer")
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,12}\s*", value):
        return int(value)
    if isinstance(value, int) or (type(value).__name__.startswith(("int", "uint"))
                                  and hasattr(value, "item")):
        return int(value)
    raise EqpropError(f"{what}: expected a positive integer, got {shorten(value, 40)}")


def _hopfield_layers(layers, biases):
    """Layer sizes checked against the symbolic path's limits before any symbol is made."""
    if isinstance(layers, (str, bytes, dict)) or not hasattr(layers, "__len__"):
        raise EqpropError(f"hopfield: layers must be a list of sizes [n_out, ..., n_in], got "
                          f"{shorten(layers, 40)}")
    if len(layers) > MAX_STATE + 1:
        raise EqpropError(f"hopfield: {len(layers):,} layers; the state may have at most "
                          f"{MAX_STATE:,} variables")
    sizes = [_count(n, "hopfield: a layer size") for n in layers]
    if len(sizes) < 2 or min(sizes) < 1:
        raise EqpropError(f"hopfield: layers must list at least two positive sizes "
                          f"[n_out, ..., n_in], got {shorten(sizes, 60)}")
    n_state = sum(sizes[:-1])
    n_params = sum(a * b for a, b in zip(sizes, sizes[1:])) + (n_state if biases else 0)
    n_data = sizes[-1] + sizes[0]
    for count, limit, kind in ((n_state, MAX_STATE, "state variables"),
                               (n_params, MAX_PARAMS, "parameters"),
                               (n_data, MAX_DATA, "data values")):
        if count > limit:
            raise EqpropError(f"hopfield: layers {shorten(sizes, 40)} give {count:,} {kind}; at "
                              f"most {limit:,} are allowed on the symbolic path (eqprop scale "
                              "checks larger networks in float64: --layers, or a model written as arrays)")
    return sizes


def _quadratic_size(n):
    """``quadratic``'s n, checked against the symbolic path's limits before anything is built."""
    n = _count(n, "quadratic: n")
    if n < 1:
        raise EqpropError(f"quadratic: n must be a positive integer, got {n}")
    n_params = n * (n - 1) // 2 + n
    if n > MAX_STATE or n_params > MAX_PARAMS:
        largest = max(k for k in range(1, MAX_STATE + 1) if k * (k + 1) // 2 <= MAX_PARAMS)
        raise EqpropError(f"quadratic: n = {n:,} gives {n:,} state variables and {n_params:,} "
                          f"parameters; at most {MAX_STATE:,} and {MAX_PARAMS:,} are allowed on "
                          f"the symbolic path, so n is at most {largest}")
    return n


def _seed(seed):
    """An integer seed (a NumPy integer too), else one line saying so: the text '1' seeded
    random.Random differently from 1, silently."""
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return int(seed)
    raise EqpropError(f"seed: expected an integer, got {type(seed).__name__} {seed!r:.40}")


def _flag(value, what):
    """A yes/no option: a bool (a NumPy bool too); the text 'False' was true."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise EqpropError(f"{what}: expected True or False, got {type(value).__name__} {value!r:.40}")


def quadratic(n=3, seed=0):
    """Linear dynamics with closed forms, for tests and teaching.

    ``E = 1/2 |s|^2 - sum_{i<j} W_i_j s_i s_j - sum_i b_i s_i`` and
    ``C = 1/2 (s_0 - y)^2``, with theta = (W, b). The Hessian
    ``H = I - W_sym`` is constant (positive definite: the couplings are small),
    so ``s0 = H^-1 b``, ``Sbar_t = expm(-t H) C_s`` and every other quantity
    of the paper has a closed form in exact rational arithmetic.
    """
    n = _quadratic_size(n)
    rng = random.Random(_seed(seed))
    s = [sp.Symbol(f"s_{i}", real=True) for i in range(n)]
    params, terms = {}, [sp.Rational(1, 2) * v**2 for v in s]
    bound = 0.9 / max(1, n - 1)  # keeps H strictly diagonally dominant
    for i in range(n):
        for j in range(i + 1, n):
            w = sp.Symbol(f"W_{i}_{j}", real=True)
            params[w] = _rand_value(rng, bound)
            terms.append(sp.Mul(-1, w, s[i], s[j]))  # one flatten, not two
    for i in range(n):
        b = sp.Symbol(f"b_{i}", real=True)
        params[b] = _rand_value(rng, 1)
        terms.append(-b * s[i])
    y = sp.Symbol("y", real=True)
    return Model(energy=sp.Add(*terms), cost=(s[0] - y) ** 2 / 2, state=s, params=params,
                 data={y: sp.Rational(rng.randint(0, 1000), 1000)}, name=f"quadratic n={n}")


# -- model files -----------------------------------------------------------

def builtin_names():
    """Names of the model files shipped inside the package."""
    folder = resources.files("eqprop") / "models"
    return sorted(p.name[:-5].replace("_", "-") for p in folder.iterdir() if p.name.endswith(".toml"))


_REQUIRED = ("state", "cost")
_KNOWN = {"name", "state", "energy", "vector_field", "cost", "params", "data", "verify", "layers"}
#: Largest model file read, in bytes.
MAX_FILE_BYTES = 10_000_000
_SPEC = re.compile(r"hopfield:([0-9]+(?:,[0-9]+)*)(?::(.*))?|quadratic:([0-9]+)", re.S)
_MAX_SPEC_CHARS = 10_000


def _unknown(label, kind, key, known):
    near = difflib.get_close_matches(str(key), sorted(known), n=1)
    hint = f" (did you mean '{near[0]}'?)" if near else ""
    return EqpropError(f"{label}: unknown {kind} {shorten(key, 40)}{hint}; allowed: "
                       f"{', '.join(sorted(known))}")


def load_model(source):
    """Read a model from a TOML file path, or a built-in name (``paper``).

    The file's fields are those of :class:`Model`; see ``examples/*.toml``.
    A UTF-8 byte order mark at the start of the file is accepted.
    """
    if isinstance(source, Model) or type(source).__name__ == "ArrayModel":
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise EqpropError(f"model: expected a Model, a TOML path or a built-in name, got "
                          f"{type(source).__name__}")
    spec = os.fspath(source)
    if isinstance(spec, bytes):
        raise EqpropError("model: give the path as text, not bytes")
    label = escape_controls(spec if len(spec) <= 200 else spec[:197] + "...")
    if not spec.strip():  # Path('') is the current folder
        raise EqpropError(f"model: the name is empty; give a model file (.toml) or a built-in "
                          f"name ({', '.join(builtin_names())})")
    if spec.startswith(("hopfield:", "quadratic:")):
        return _from_spec(spec, label)
    key = spec.replace("-", "_")
    if spec in builtin_names() or key in [b.replace("-", "_") for b in builtin_names()]:
        data = (resources.files("eqprop") / "models" / f"{key}.toml").read_bytes()
    else:
        data = _read_file(spec, label)
    try:
        text = data.decode("utf-8-sig")  # the -sig: a byte order mark is not part of the text
    except UnicodeDecodeError as exc:
        raise EqpropError(f"{label}: not a UTF-8 text file (byte 0x{data[exc.start]:02x} at "
                          f"position {exc.start}); save the model as UTF-8 TOML") from None
    try:
        doc = tomllib.loads(text, parse_float=decimal.Decimal)  # a float's text, kept exactly
    except tomllib.TOMLDecodeError as exc:
        raise EqpropError(f"{label}: TOML syntax error: {' '.join(str(exc).split())}") from None
    except ValueError:  # an integer beyond Python's 4,300-digit conversion limit
        raise EqpropError(f"{label}: a number in the file is too long to read; write values as "
                          "decimal strings within 1e-1000 .. 1e+1000") from None
    except RecursionError:
        raise EqpropError(f"{label}: the TOML nests arrays or tables too deeply") from None
    if isinstance(doc.get("state"), dict):  # an array model: [state] is a table of shapes
        from .arrays.model import ArrayModel
        base = Path(spec).parent if not (spec in builtin_names() or key in
                                         [b.replace("-", "_") for b in builtin_names()]) else None
        return ArrayModel.from_dict(doc, label=label, base=base)
    return model_from_dict(doc, label=label)


def _read_file(spec, label):
    """The bytes of a regular file of at most MAX_FILE_BYTES; one-line errors otherwise."""
    path = Path(spec)
    try:
        info = stat_regular_file(path)
    except FileRefused as refused:
        raise EqpropError(f"{label}: " + {
            "missing": "no such model file, and not a built-in model (built-in: "
                       f"{', '.join(builtin_names())})",
            "folder": "is a folder; give a model file (.toml) inside it",
            "special": "is not a regular file (a device, pipe or socket); give a model file "
                       "(.toml)",
        }.get(refused.kind, f"cannot open the model file ({refused.reason})")) from None
    if info.st_size > MAX_FILE_BYTES:
        raise EqpropError(f"{label}: the file has {info.st_size:,} bytes; a model file may have "
                          f"at most {MAX_FILE_BYTES:,}")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise EqpropError(f"{label}: cannot read the file ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise EqpropError(f"{label}: the file has more than {MAX_FILE_BYTES:,} bytes; a model "
                          f"file may have at most {MAX_FILE_BYTES:,}")
    return data


def quadratic_terms(n):
    """Additive terms of ``quadratic(n)``'s energy and cost: n squares, n(n-1)/2 couplings,
    n biases and the cost."""
    return n * (n + 3) // 2 + 1


def spec_terms(spec):
    """Additive terms of the energy and cost that ``hopfield:...`` or ``quadratic:N`` would build,
    counted without building it (a size beyond the symbolic path's limits is refused as loading
    it would be); None when ``spec`` is not one (or is malformed: loading it then says why)."""
    m = _SPEC.fullmatch(spec) if isinstance(spec, str) and len(spec) <= _MAX_SPEC_CHARS else None
    if m is None or max(len(n) for n in (m.group(3) or m.group(1)).split(",")) > 12:
        return None
    if m.group(3) is not None:
        return quadratic_terms(_quadratic_size(int(m.group(3))))
    sizes = _hopfield_layers([int(n) for n in m.group(1).split(",")], False)
    return sum(sizes[:-1]) + sum(a * b for a, b in zip(sizes, sizes[1:])) + sizes[0]  # + the cost's


def _from_spec(spec, label):
    """``hopfield:2,3,3,2[:rho]`` or ``quadratic:N``."""
    if len(spec) > _MAX_SPEC_CHARS:
        raise EqpropError(f"{label}: the specification has {len(spec):,} characters; at most "
                          f"{_MAX_SPEC_CHARS:,} (and at most {MAX_STATE:,} state variables)")
    m = _SPEC.fullmatch(spec)
    if m is None:
        raise EqpropError(f"{label}: expected 'hopfield:2,3,3,2' (layer sizes, optionally "
                          "':tanh' or another activation) or 'quadratic:3'")
    sizes = (m.group(3) or m.group(1)).split(",")
    if max(len(n) for n in sizes) > 12:
        raise EqpropError(f"{label}: a size of {max(len(n) for n in sizes):,} digits; at most "
                          f"{MAX_STATE:,} state variables and {MAX_PARAMS:,} parameters are "
                          "allowed on the symbolic path")
    if m.group(3) is not None:
        return quadratic(int(m.group(3)))
    rho = m.group(2)
    if rho is not None and not rho.strip():
        raise EqpropError(f"{label}: empty activation after ':'; give one such as tanh, or leave "
                          "out the ':'")
    return hopfield([int(x) for x in m.group(1).split(",")], rho=rho or "sigmoid")


def model_from_dict(doc, *, label="model"):
    """Build a :class:`Model` from the fields of a parsed TOML document."""
    if not isinstance(doc, dict):
        raise EqpropError(f"{label}: expected a table of fields (name, state, energy, cost, ...), "
                          f"got {type(doc).__name__}")
    unknown = sorted(set(doc) - _KNOWN)
    if unknown:
        raise _unknown(label, "field", unknown[0], _KNOWN)
    for key in _REQUIRED:
        if key not in doc:
            raise EqpropError(f"{label}: missing field '{key}'; a model file needs state, "
                              "energy (or vector_field) and cost")
    if "energy" not in doc and "vector_field" not in doc:
        raise EqpropError(f"{label}: missing field 'energy' (or 'vector_field')")
    verify = doc.get("verify", {})
    if not isinstance(verify, dict):
        raise EqpropError(f"{label}: [verify] must be a table, e.g. [verify] then dps = 30")
    bad = sorted(set(verify) - set(VERIFY_KEYS))
    if bad:  # proofs/options.py validates the values
        raise _unknown(label, "[verify] key", bad[0], VERIFY_KEYS)
    for key in ("params", "data"):
        if key in doc and not isinstance(doc[key], dict):
            raise EqpropError(f"{label}: [{key}] must be a table of name = \"value\" entries")
    for key in ("energy", "cost"):
        if key in doc and isinstance(doc[key], dict):
            raise EqpropError(f"{label}: {key} must be a formula string, e.g. {key} = \"a**2/2\", "
                              "not a table")
    state = doc["state"]
    if not isinstance(state, list):
        raise EqpropError(f"{label}: state must be a list of names, e.g. state = [\"a\", \"b\"]")
    if "name" in doc and not isinstance(doc["name"], str):
        raise EqpropError(f"{label}: name must be a string, e.g. name = \"two neurons\"")
    name = doc["name"] if "name" in doc else escape_controls(Path(label).stem)
    return Model(energy=doc.get("energy"), cost=doc["cost"], state=state,
                 params=doc.get("params", {}), data=doc.get("data", {}),
                 vector_field=doc.get("vector_field"), name=name,
                 verify=verify, layers=doc.get("layers"))
