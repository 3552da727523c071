"""The layered networks that :func:`eqprop.proofs.scale.scale` checks: built or read from a model.

:func:`network` draws Glorot-uniform weights for given layer sizes (with an
optional asymmetric negative control); :func:`network_from_model` takes the
weights and data of a built-in ``hopfield(...)`` model, so that the float64
path can be checked against the symbolic one. ``rho`` and ``u`` are compiled
from SymPy by :mod:`eqprop.symbolic.codegen` into dual-number-ready
:class:`~eqprop.numeric.layered.Unary` functions.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from eqprop.errors import EqpropError
from eqprop.numeric.layered import LayeredNetwork, Unary
from eqprop.symbolic.builtins import rho_function
from eqprop.symbolic.codegen import compile_unary, compile_unary_joint

__all__ = ["network", "network_from_model"]


def _unary(expr, name):
    f, df, ddf, dddf, _ = compile_unary(expr, name)
    return Unary(f, df, ddf, name=str(expr), dddf=dddf, joint=compile_unary_joint(expr, name))


def network(layers, *, rho="sigmoid", u=None, biases=False, seed=0, cost="squared",
            asymmetry=0.0):
    """A :class:`LayeredNetwork` with Glorot-uniform weights drawn from ``seed``.

    ``layers = [n_out, ..., n_in]``. ``rho`` and ``u`` are names or SymPy
    expressions/strings in one variable (u defaults to z^2/2). A nonzero
    ``asymmetry`` adds that much independent noise to the backward weights:
    the non-gradient negative control.
    """
    try:
        sizes = [int(n) for n in layers]
    except (TypeError, ValueError):
        raise EqpropError(f"layers: expected integers such as 10,512,512,784, got {layers!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise EqpropError(f"layers: need at least two positive sizes, output first and input "
                          f"last, got {sizes}")
    rng = np.random.default_rng(seed)
    W = [rng.uniform(-1, 1, (sizes[l], sizes[l + 1])) * np.sqrt(6 / (sizes[l] + sizes[l + 1]))
         for l in range(len(sizes) - 1)]
    b = [rng.uniform(-0.5, 0.5, sizes[l]) if biases else np.zeros(sizes[l])
         for l in range(len(sizes) - 1)]
    W_back = None
    if asymmetry:
        W_back = [w + asymmetry * rng.standard_normal(w.shape) * np.sqrt(2 / sum(w.shape))
                  for w in W[:-1]]
    z = sp.Symbol("z", real=True)
    u_expr = z**2 / 2 if u is None else rho_function(u)
    return LayeredNetwork(sizes=tuple(sizes), W=W, b=b, rho=_unary(rho_function(rho), "rho"),
                          u=_unary(u_expr, "u"), cost=cost, W_back=W_back)


def network_from_model(model):
    """The :class:`LayeredNetwork` of a built-in ``hopfield(...)`` model, same weights and data.

    Returns ``(net, x, y)`` with a batch of one example.
    """
    if model.layers is None:
        raise EqpropError("network_from_model: the model has no layer structure; use a "
                          "hopfield(...) model")
    sizes = model.layers
    vals = {s.name: float(v) for s, v in {**model.params, **model.data}.items()}
    W = [np.array([[vals[f"W{l}{l + 1}_{i}_{j}"] for j in range(sizes[l + 1])]
                   for i in range(sizes[l])]) for l in range(len(sizes) - 1)]
    b = [np.array([vals.get(f"b{l}_{i}", 0.0) for i in range(sizes[l])]) for l in range(len(sizes) - 1)]
    x = np.array([[vals[f"x_{j}"] for j in range(sizes[-1])]])
    y = np.array([[vals[f"y_{i}"] for i in range(sizes[0])]])
    z = sp.Symbol("z", real=True)
    # rho is recovered from the energy's coupling term of W01_0_0
    w = next(p for p in model.params if p.name == "W01_0_0")
    term = next(t for t in sp.Add.make_args(model.energy) if t.has(w))
    s00 = next(s for s in model.state if s.name == "s0_0")
    rho_expr = sp.Mul(*[f for f in sp.Mul.make_args(term) if f.free_symbols == {s00}]).xreplace({s00: z})
    net = LayeredNetwork(sizes=sizes, W=W, b=b, rho=_unary(rho_expr, "rho"),
                         u=_unary(z**2 / 2, "u"))
    return net, x, y
