"""numpy functions of one variable and their derivatives.

:func:`eqprop.proofs.scale_network.check_activation` evaluates a layered
network's activation rho and its derivatives on a grid of the real line
before any work; these are compiled here from their SymPy expressions. (At
scale, the elementwise functions of an array model are printed into its
generated module: :mod:`eqprop.symbolic.arrays.codegen`.)
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .numpy_tables import _np_modules
from .templates import _printable


def _one_variable(expr, name):
    free = sorted(expr.free_symbols, key=str)
    if len(free) != 1:
        raise ValueError(f"{name or 'function'}: expected one variable, got {free}")
    return free[0]


def _derivatives(expr, z, order, name):
    """``[expr, expr', ..., expr^(order)]`` in ``z``, printable (see :func:`_printable`)."""
    return [_printable(sp.diff(expr, z, k) if k else expr, name or "rho") for k in range(order + 1)]


def compile_unary(expr, name=""):
    """A scalar function of one variable and its first two derivatives, for numpy.

    ``expr`` is a SymPy expression in one symbol (rho or the neuron
    potential u of :mod:`eqprop.numeric.layered`). Returns
    ``(f, df, ddf, dddf, free_symbol)``; each accepts real or complex arrays
    and keeps their shape.
    """
    z = _one_variable(expr, name)
    out = []
    for e in _derivatives(expr, z, 3, name):
        fn = sp.lambdify([z], e, modules=_np_modules(), cse=True)
        if not e.free_symbols:  # a constant derivative must still broadcast
            out.append(lambda a, c=fn(0): np.full(np.shape(a), c, dtype=np.result_type(a, float)))
        else:
            out.append(fn)
    return out[0], out[1], out[2], out[3], z
