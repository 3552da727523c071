"""The arrays an array model declares: their sizes, and where their numbers come from.

A model file's ``[dims]`` name the sizes; each entry of ``[params]``,
``[constants]`` and ``[data]`` becomes a :class:`Spec`: a shape in those
sizes and exactly one source of numbers, ``values`` (exact), ``init`` (a
seeded random draw), ``file`` (an ``.npy`` file) or, for data, a data set's
column (:mod:`.values` reads each). A :class:`Spec` gives its numbers in
float64, for code at scale, or exactly, for the 50-digit path.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sympy as sp

from eqprop.errors import EqpropError

from ..model import variable_name
from ..numbers import exact_number, shorten
from .values import (check_range, draw, exact_array, exact_from_float, generator, parse_init,
                     read_npy)

__all__ = ["Spec", "MAX_DIM", "ROLE_OF", "parse_dims", "parse_shape", "parse_spec"]

#: the largest size of one dimension
MAX_DIM = 10**8
#: table of a model file -> the role of its arrays
ROLE_OF = {"params": "param", "constants": "constant", "data": "data"}
#: role -> the table it is declared in (as messages name it)
_ROLE_OF_LABEL = {"param": "params", "constant": "constants", "data": "data"}
_SPEC_KEYS = {"shape", "values", "init", "file", "dataset"}


@dataclass(frozen=True)
class Spec:
    """One declared array: its shape and where its numbers come from (exactly one of
    ``values``, ``init``, ``file``; a data array may name a ``dataset`` column too)."""

    name: str
    role: str
    shape: tuple
    values: object = None
    array: object = None
    init: tuple = None
    file: str = None
    dataset: str = None

    @property
    def size(self):
        return math.prod(self.shape)

    def floats(self, batch, seed):
        """float64 numbers: as declared, data with a leading batch axis; None for a data set's
        column only (``seed`` seeds an ``init``)."""
        batched = self.role == "data"
        if self.values is not None or self.array is not None:
            a = self.array if self.array is not None else _as_float64(self)
            return np.broadcast_to(a, (batch,) + self.shape).copy() if batched else a
        if self.init is not None:
            rng = generator(seed, self.name, 1 if batched else 0)
            return draw(self.init, self.shape, rng, batch if batched else None)
        if self.file is not None:
            a = read_npy(self.file, self.shape, f"{_ROLE_OF_LABEL[self.role]} '{self.name}'")
            return np.broadcast_to(a, (batch,) + self.shape).copy() if batched else a
        return None

    def exact(self, seed):
        """Exact values (an object array of SymPy Rationals) for one example."""
        if self.values is not None:
            return self.values
        if self.array is not None:
            return exact_from_float(self.array)
        if self.init is None and self.file is None:
            raise EqpropError(f"data '{self.name}': comes only from a data set (dataset = "
                              f"\"{self.dataset}\"); give an init too for eqprop verify")
        a = self.floats(1, seed)
        return exact_from_float(a[0] if self.role == "data" else a)


def parse_shape(text, dims, what):
    """A declared shape ("n, m", ["n", 3], 4, "()") as a tuple of sizes."""
    if isinstance(text, bool):
        raise EqpropError(f"{what}: a shape is text such as \"n, m\", got a boolean")
    if isinstance(text, int):
        items = [text]
    elif isinstance(text, str):
        body = text.strip()
        if body.startswith("(") and body.endswith(")"):
            body = body[1:-1]
        if len(body) > 1000:
            raise EqpropError(f"{what}: the shape text is too long")
        items = [t.strip() for t in body.split(",")] if body else []
        if items and not items[-1] and len(items) > 1:  # "(n,)": a trailing comma
            items.pop()
        if any(not t for t in items):
            raise EqpropError(f"{what}: shape {shorten(text, 40)} has an empty entry between "
                              "commas; write the sizes as \"n, m\"")
    elif isinstance(text, (list, tuple)):
        items = list(text)
    else:
        raise EqpropError(f"{what}: a shape is text such as \"n, m\" or a list, got "
                          f"{type(text).__name__}")
    if len(items) > 4:
        raise EqpropError(f"{what}: shape {shorten(text, 40)} has {len(items)} axes; at most 4")
    out = []
    for item in items:
        if isinstance(item, str) and item in dims:
            out.append(dims[item])
        elif isinstance(item, str) and item.isascii() and item.isdigit() and len(item) <= 9:
            out.append(int(item))
        elif isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            out.append(int(item))
        else:
            raise EqpropError(f"{what}: {shorten(item, 30)} in shape {shorten(text, 40)} is "
                              f"neither a positive integer nor a dimension of [dims] "
                              f"({', '.join(dims) or 'none declared'})")
        if not 1 <= out[-1] <= MAX_DIM:
            raise EqpropError(f"{what}: size {out[-1]} in shape {shorten(text, 40)}; sizes are "
                              f"between 1 and {MAX_DIM:,}")
    return tuple(out)


def _nested_shape(v):
    shape = []
    while isinstance(v, (list, tuple)):
        shape.append(len(v))
        if not v:
            break
        v = v[0]
    return tuple(shape)


def parse_spec(name, role, entry, dims, what, base):
    """A :class:`Spec` from a model file's entry or the Python API's value."""
    if isinstance(entry, np.ndarray):
        if entry.dtype.kind not in "biuf":
            raise EqpropError(f"{what}: a numpy array of {entry.dtype}; give numbers")
        a = np.array(entry, dtype=np.float64)
        if a.ndim > 4 or not all(1 <= k <= MAX_DIM for k in a.shape):
            raise EqpropError(f"{what}: a numpy array of shape {a.shape}; arrays have at most 4 "
                              f"axes, each of size 1 to {MAX_DIM:,}")
        if not np.all(np.isfinite(a)):
            raise EqpropError(f"{what}: holds NaN or infinite values")
        check_range(a, what)
        return Spec(name, role, a.shape, array=a)
    if not isinstance(entry, Mapping):
        if isinstance(entry, (list, tuple)):
            shape = _nested_shape(entry)
            return Spec(name, role, shape, values=exact_array(entry, shape, what))
        return Spec(name, role, (), values=np.array(exact_number(entry, what=what), dtype=object))
    unknown = sorted(set(entry) - _SPEC_KEYS)
    if unknown:
        raise EqpropError(f"{what}: unknown key {shorten(unknown[0], 30)}; an array is "
                          "declared with shape and one of values, init, file (data may add "
                          "dataset = \"images\" or \"labels\")")
    sources = [k for k in ("values", "init", "file") if k in entry]
    dataset = entry.get("dataset")
    if dataset is not None:
        if role != "data":
            raise EqpropError(f"{what}: only data may come from a data set")
        if dataset not in ("images", "labels"):
            raise EqpropError(f"{what}: dataset = {shorten(dataset, 30)}; choose \"images\" (the "
                              "input pixels) or \"labels\" (one-hot targets)")
    if len(sources) != 1 and not (dataset and not sources):
        raise EqpropError(f"{what}: give exactly one of values, init or file, got "
                          f"{', '.join(sources) or 'none'}")
    if "shape" in entry:
        shape = parse_shape(entry["shape"], dims, what)
    elif "values" in entry:
        shape = _nested_shape(entry["values"])
    else:
        raise EqpropError(f"{what}: give its shape, e.g. shape = \"n, m\"")
    if "values" in entry:
        v = entry["values"]
        values = exact_array(v, shape, what) if shape else \
            np.array(exact_number(v, what=what), dtype=object)
        return Spec(name, role, shape, values=values, dataset=dataset)
    if "init" in entry:
        return Spec(name, role, shape, init=parse_init(entry["init"], what), dataset=dataset)
    if "file" in entry:
        f = entry["file"]
        if not isinstance(f, (str, os.PathLike)):
            raise EqpropError(f"{what}: file must be a path to an .npy file")
        path = Path(f) if base is None or Path(f).is_absolute() else Path(base) / f
        return Spec(name, role, shape, file=str(path), dataset=dataset)
    return Spec(name, role, shape, dataset=dataset)


def _as_float64(spec):
    """Exact values as float64; refused where one overflows or underflows to zero."""
    exact = np.ravel(spec.values)
    def as_float(v):
        try:
            return float(v)
        except OverflowError:
            return math.inf
    a = np.array([as_float(v) for v in exact], dtype=float)
    bad = [v for v, f in zip(exact, a) if not np.isfinite(f) or (f == 0 and v != 0)]
    if bad:
        shown = sp.sstr(sp.N(bad[0], 3))
        raise EqpropError(f"{_ROLE_OF_LABEL[spec.role]} '{spec.name}': the value {shown} is outside "
                          "float64's range (about 1e-308 to 1e308), where code at scale computes; "
                          "rescale it")
    return a.reshape(spec.shape)


def parse_dims(dims):
    """name -> size from a ``[dims]`` table (each a whole number from 1 to MAX_DIM)."""
    out = {}
    if dims is None:
        return out
    if not isinstance(dims, Mapping):
        raise EqpropError("dims: expected a table of name = size entries, e.g. n = 784")
    for key, value in dims.items():
        n = variable_name(key, "dims")
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                or not 1 <= value <= MAX_DIM:
            raise EqpropError(f"dims '{n}': a size is a whole number from 1 to {MAX_DIM:,}, "
                              f"got {shorten(value, 30)}")
        out[n] = int(value)
    return out
