"""The fields of a model that are checked on their own: its name, its ``verify`` table, its
layer sizes, and the size limits of the symbolic path (used by :class:`~.model.Model`)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from eqprop.errors import EqpropError

from .parse import check_printable, shorten

__all__ = ["MAX_STATE", "MAX_PARAMS", "MAX_DATA", "MAX_NAME_CHARS", "model_name", "verify_table",
           "layer_sizes"]

#: Most state variables of a model on the symbolic path (derivation, exact Hessian).
MAX_STATE = 2000
#: Most parameters, and most data values, of a model on the symbolic path.
MAX_PARAMS = MAX_DATA = 200_000
#: Longest model name, in characters.
MAX_NAME_CHARS = 1000


def model_name(name):
    """A model's name: printable text (it is printed in reports), at most MAX_NAME_CHARS."""
    if not isinstance(name, str):
        raise EqpropError(f"name: expected a string, got {type(name).__name__}")
    if len(name) > MAX_NAME_CHARS:
        raise EqpropError(f"name: {len(name):,} characters; at most {MAX_NAME_CHARS:,} are allowed")
    check_printable(name, "name")
    if not name.strip():
        raise EqpropError("name: empty; give the model a name, such as name = \"two neurons\"")
    return name


def verify_table(verify):
    """A model's defaults for verify: a mapping of option names (checked by verify itself)."""
    if verify is None:
        return {}
    if not isinstance(verify, Mapping):  # dict('ab') raised a bare ValueError, dict(5) TypeError
        raise EqpropError(f"verify: expected a mapping of options such as {{'dps': 30}}, got "
                          f"{type(verify).__name__}")
    return dict(verify)


def layer_sizes(layers, n_state):
    """Layer sizes: a list of two or more positive integers, all but the last adding up to n_state."""
    if layers is None:
        return None
    if isinstance(layers, (str, bytes, dict)) or not hasattr(layers, "__iter__"):
        raise EqpropError(f"layers: expected a list of layer sizes such as [2, 3, 2], got "
                          f"{type(layers).__name__}")
    sizes = list(itertools.islice(iter(layers), MAX_STATE + 2))
    if len(sizes) > MAX_STATE + 1:
        raise EqpropError(f"layers: more than {MAX_STATE + 1:,} layers; the state has at most "
                          f"{MAX_STATE:,} variables")
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, int) and not (
                type(n).__name__.startswith(("int", "uint")) and hasattr(n, "item")):
            raise EqpropError(f"layers: {shorten(n, 40)} is not an integer; give layer sizes such "
                              "as [2, 3, 2], output first, input last")
    sizes = [int(n) for n in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise EqpropError(f"layers: {shorten(sizes, 60)} must list two or more positive sizes, "
                          "output first, input last")
    if sizes[-1] > MAX_DATA:
        raise EqpropError(f"layers: an input layer of {sizes[-1]:,} units; at most {MAX_DATA:,}")
    if sum(sizes[:-1]) != n_state:
        raise EqpropError(f"layers: {shorten(sizes, 60)} do not match the {n_state} state variables "
                          "(all sizes but the last, the input, must add up to it)")
    return tuple(sizes)
