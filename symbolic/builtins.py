"""Built-in models and model files: where a model named on the command line comes from.

- :func:`hopfield`: the paper's modified Hopfield energy (paper 2.4), any depth.
- :func:`quadratic`: linear dynamics with closed forms for every quantity.
  (Both are defined in :mod:`.networks`, their activations in
  :mod:`.activations`; they are offered here as they always were.)
- :func:`load_model`: a TOML file, or the name of a shipped model file
  (``paper``, ``two-neurons``), or a specification such as
  ``hopfield:2,3,3,2`` or ``quadratic:3``.
"""

from __future__ import annotations

import decimal
import difflib
import os
import re
from importlib import resources
from pathlib import Path

from eqprop.errors import EqpropError

from .activations import RHO, rho_function
from .files import FileRefused, stat_regular_file
from .model import MAX_PARAMS, MAX_STATE, VERIFY_KEYS, Model
from .networks import hopfield, hopfield_layers, quadratic, quadratic_size, quadratic_terms
from .numbers import escape_controls, shorten

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["RHO", "rho_function", "hopfield", "quadratic", "load_model", "builtin_names",
           "spec_terms"]


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


def spec_terms(spec):
    """Additive terms of the energy and cost that ``hopfield:...`` or ``quadratic:N`` would build,
    counted without building it (a size beyond the symbolic path's limits is refused as loading
    it would be); None when ``spec`` is not one (or is malformed: loading it then says why)."""
    m = _SPEC.fullmatch(spec) if isinstance(spec, str) and len(spec) <= _MAX_SPEC_CHARS else None
    if m is None or max(len(n) for n in (m.group(3) or m.group(1)).split(",")) > 12:
        return None
    if m.group(3) is not None:
        return quadratic_terms(quadratic_size(int(m.group(3))))
    sizes = hopfield_layers([int(n) for n in m.group(1).split(",")], False)
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
