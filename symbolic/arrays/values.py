"""The numbers of an array model: exact values, seeded initializers and ``.npy`` files.

Each array of an array model (a parameter, a constant, a data value) gets
its numbers from exactly one source:

- ``values``: exact numbers, a nested list in the declared shape (decimal
  text, fractions, integers), read as :func:`~eqprop.symbolic.parse.exact_number`
  reads a scalar value;
- ``init``: a seeded initializer (:data:`INITIALIZERS`), drawn in float64
  from a generator seeded by the model's seed and the array's name (so
  adding an array does not change the others' numbers); data draws one row
  per example;
- ``file``: an ``.npy`` file of numbers in the declared shape, read header
  first (no pickled objects; size checked before anything is read).

A float64 number enters the 50-digit path as the exact binary fraction it is.
"""

from __future__ import annotations

import math
import re
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np

from eqprop.errors import EqpropError

from ..files import FileRefused, stat_regular_file
from ..numbers import MAX_MAGNITUDE, exact_number, shorten

__all__ = ["INITIALIZERS", "parse_init", "draw", "read_npy", "exact_array", "generator",
           "MAX_FILE_VALUES"]

#: initializer -> (its arguments, what it draws)
INITIALIZERS = {
    "normal": (("mean", "std"), "independent normal numbers"),
    "uniform": (("low", "high"), "independent uniform numbers in [low, high)"),
    "glorot": ((), "uniform in +-sqrt(6 / (rows + columns)) (Glorot and Bengio 2010; a vector: "
                   "+-sqrt(3 / size))"),
    "lecun": ((), "normal with standard deviation 1/sqrt(columns) (LeCun et al. 1998): a matrix "
                  "times a vector of unit-size entries has entries of unit size"),
    "zeros": ((), "zeros"),
    "ones": ((), "ones"),
    "constant": (("value",), "one value everywhere"),
}
#: the most numbers an .npy file may hold (2 GiB of float64)
MAX_FILE_VALUES = 2**28

_CALL = re.compile(r"\s*([A-Za-z_]+)\s*(?:\((.*)\))?\s*", re.S)


def parse_init(text, what):
    """``"normal(0, 0.1)"`` -> ``("normal", (0.0, 0.1))``, checked; one line saying what is wrong."""
    if not isinstance(text, str):
        raise EqpropError(f"{what}: init must be text such as \"normal(0, 0.1)\", got "
                          f"{type(text).__name__}")
    m = _CALL.fullmatch(text) if len(text) <= 200 and text.isascii() else None
    known = ", ".join(f"{k}({', '.join(a)})" if a else k for k, (a, _) in INITIALIZERS.items())
    if m is None or m.group(1) not in INITIALIZERS:
        raise EqpropError(f"{what}: unknown initializer {shorten(text, 40)}; use one of {known}")
    name, inside = m.group(1), m.group(2)
    wanted = INITIALIZERS[name][0]
    args = [] if inside is None or not inside.strip() else [a.strip() for a in inside.split(",")]
    if len(args) != len(wanted):
        raise EqpropError(f"{what}: {name} takes {len(wanted)} argument(s) "
                          f"({', '.join(wanted) or 'none'}), got {len(args)}: {shorten(text, 40)}")
    values = []
    for a, label in zip(args, wanted):
        v = float(exact_number(a, what=f"{what}: {name}'s {label}"))
        if not math.isfinite(v) or (v != 0 and abs(v) < 1e-300) or abs(v) > 1e300:
            raise EqpropError(f"{what}: {name}'s {label} {a!r} is outside float64's normal range")
        values.append(v)
    if name == "normal" and values[1] < 0:
        raise EqpropError(f"{what}: normal's std must not be negative, got {args[1]}")
    if name == "uniform" and not values[0] < values[1]:
        raise EqpropError(f"{what}: uniform needs low < high, got {args[0]} and {args[1]}")
    return name, tuple(values)


def generator(seed, name, stream=0):
    """A generator for array ``name`` under the model's ``seed`` (``stream`` 1 for data)."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8")), int(stream)])


def draw(init, shape, rng, batch=None):
    """Numbers from initializer ``init = (name, args)`` in ``shape`` (``(batch,) + shape`` for data)."""
    name, args = init
    full = tuple(shape) if batch is None else (int(batch),) + tuple(shape)
    if name == "normal":
        return rng.normal(args[0], args[1], full)
    if name == "uniform":
        return rng.uniform(args[0], args[1], full)
    if name == "glorot":
        fan = sum(shape[-2:]) if len(shape) >= 2 else 2 * max(1, math.prod(shape))
        bound = math.sqrt(6 / max(fan, 1))
        return rng.uniform(-bound, bound, full)
    if name == "lecun":
        return rng.normal(0.0, 1 / math.sqrt(shape[-1] if shape else 1), full)
    if name == "zeros":
        return np.zeros(full)
    if name == "ones":
        return np.ones(full)
    return np.full(full, args[0])


def exact_array(values, shape, what):
    """A nested list of exact numbers in ``shape``, as a numpy object array of SymPy Rationals."""
    flat = []

    def walk(v, depth, where):
        if depth == len(shape):
            if isinstance(v, (list, tuple)):
                raise EqpropError(f"{what}: values nest deeper than the declared shape "
                                  f"{tuple(shape)} at {where or 'the top'}")
            flat.append(exact_number(v, what=f"{what}{where}"))
            return
        if not isinstance(v, (list, tuple)):
            raise EqpropError(f"{what}: values{where} should be a list of {shape[depth]} entries "
                              f"(declared shape {tuple(shape)}), got a single value")
        if len(v) != shape[depth]:
            raise EqpropError(f"{what}: values{where} has {len(v)} entries, but the declared shape "
                              f"{tuple(shape)} needs {shape[depth]} along axis {depth}")
        for i, item in enumerate(v):
            walk(item, depth + 1, f"{where}[{i}]")

    if math.prod(shape) > 10**6:
        raise EqpropError(f"{what}: {math.prod(shape):,} values written out; at most 1,000,000 "
                          "(use init = ... or an .npy file for large arrays)")
    walk(values, 0, "")
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(shape)


def exact_from_float(a):
    """A float64 array as an object array of exact SymPy Rationals (its binary values)."""
    import sympy as sp
    flat = [sp.Rational(*Fraction(float(v)).as_integer_ratio()) for v in np.ravel(a)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(np.shape(a))


def read_npy(path, shape, what):
    """An ``.npy`` file of numbers in ``shape``, as float64; refused in one line otherwise."""
    p = Path(path)
    label = repr(str(p)) if len(str(p)) <= 80 else repr(str(p)[:60] + "...")
    try:
        stat_regular_file(p)
    except FileRefused as refused:
        raise EqpropError(f"{what}: " + {
            "nul": f"the file name {label} contains a NUL character",
            "missing": f"no such file {label}",
            "folder": f"{label} is a folder, not an .npy file",
            "special": f"{label} is not a regular file (a device, pipe or socket); give an .npy "
                       "file written by numpy.save",
        }.get(refused.kind, f"cannot read {label} ({refused.reason})")) from None
    try:
        with open(p, "rb") as fh:
            try:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    fshape, order, dtype = np.lib.format.read_array_header_1_0(fh)
                elif version in ((2, 0), (3, 0)):
                    fshape, order, dtype = np.lib.format.read_array_header_2_0(fh)
                else:
                    raise ValueError(f"format version {version}")
            except (ValueError, SyntaxError, EOFError) as exc:
                raise EqpropError(f"{what}: {label} is not a readable .npy file "
                                  f"({' '.join(str(exc).split())[:100]})") from None
            if dtype.hasobject or dtype.kind not in "biuf":
                raise EqpropError(f"{what}: {label} holds {dtype} values; it must hold numbers "
                                  "(integers or floats), not pickled objects, strings or records")
            if tuple(fshape) != tuple(shape):
                raise EqpropError(f"{what}: {label} has shape {tuple(fshape)}, but the declared "
                                  f"shape is {tuple(shape)}")
            count = math.prod(int(n) for n in fshape)
            if count > MAX_FILE_VALUES:
                raise EqpropError(f"{what}: {label} holds {count:,} values; at most "
                                  f"{MAX_FILE_VALUES:,}")
            raw = fh.read(count * dtype.itemsize + 1)
    except FileNotFoundError:
        raise EqpropError(f"{what}: no such file {label}") from None
    except IsADirectoryError:
        raise EqpropError(f"{what}: {label} is a folder, not an .npy file") from None
    except OSError as exc:
        raise EqpropError(f"{what}: cannot read {label} ({exc.strerror or exc})") from None
    if len(raw) != count * dtype.itemsize:
        raise EqpropError(f"{what}: {label} is {'truncated' if len(raw) < count * dtype.itemsize else 'longer than its header says'}")
    a = np.frombuffer(raw, dtype=dtype).reshape(fshape, order="F" if order else "C")
    a = np.array(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise EqpropError(f"{what}: {label} holds NaN or infinite values")
    check_range(a, f"{what}: {label}")
    return a


def check_range(a, what):
    """Refuse (one line) a float64 array with a subnormal number or one beyond 1e300."""
    tiny = (a != 0) & (np.abs(a) < np.finfo(float).tiny)
    if np.any(tiny) or np.any(np.abs(a) > 10.0 ** min(300, MAX_MAGNITUDE)):
        raise EqpropError(f"{what}: holds numbers outside float64's normal range "
                          "(subnormal or beyond 1e300)")
