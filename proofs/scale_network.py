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
from eqprop.symbolic.parse import NON_SMOOTH

__all__ = ["network", "network_from_model", "check_activation"]

#: the activation is checked on [-GRID_END, GRID_END] at spacing GRID_STEP
GRID_END, GRID_STEP = 20.0, 1e-3


def _unary(expr, name):
    f, df, ddf, dddf, _ = compile_unary(expr, name)
    return Unary(f, df, ddf, name=str(expr), dddf=dddf, joint=compile_unary_joint(expr, name))


def network(layers, *, rho="sigmoid", u=None, biases=False, seed=0, cost="squared",
            asymmetry=0.0, plain_layers=()):
    """A :class:`LayeredNetwork` with Glorot-uniform weights drawn from ``seed``.

    ``layers = [n_out, ..., n_in]``. ``rho`` and ``u`` are names or SymPy
    expressions/strings in one variable (u defaults to z^2/2). A nonzero
    ``asymmetry`` adds that much independent noise to the backward weights:
    the non-gradient negative control; so do ``plain_layers``, free layers
    whose update lacks the factor rho'(s_l) (``(0,)``: the output layer).
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
                          u=_unary(u_expr, "u"), cost=cost, W_back=W_back,
                          plain_layers=tuple(plain_layers))


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


def check_activation(net, rho):
    """Refuse (EqpropError, one line) an activation the layered free phase cannot work with.

    The states of a layered network range over all reals, and with
    ``u = z^2/2`` each unit's fixed point solves ``s = rho'(s) field``. So
    ``rho`` (as given to :func:`network`) must be smooth (no Abs, Min, Max,
    ...: the complex step needs a holomorphic function), rho, rho' and rho''
    real and finite (checked on a grid of [-20, 20] at spacing 1e-3; beyond
    it the free phase reports a state that runs out of range), without a
    pole, jump or kink
    between grid points (each step of rho must match the trapezoid rule on
    rho', and each step of rho' the rule on rho''),
    and ``rho'(0)`` must not vanish: where it does (an even function such as
    cos), ``s = 0`` is a fixed point of every unit, through which no signal
    passes.
    """
    found = sorted({type(a).__name__ for a in rho_function(rho).atoms(*NON_SMOOTH)})
    rho, name = net.rho, net.rho.name
    if found:
        raise EqpropError(f"rho: {name} is not smooth ({', '.join(found)}): the theorems need a "
                          "twice differentiable energy, and the complex step a smooth rho; use "
                          "sigmoid, tanh, smoothhard or another smooth formula")
    z = np.arange(-GRID_END, GRID_END + GRID_STEP / 2, GRID_STEP)
    with np.errstate(all="ignore"):
        f, df, ddf = (np.asarray(g(z)) for g in (rho.f, rho.df, rho.ddf))
        d0 = float(np.asarray(rho.df(np.zeros(1)))[0])
    for what, v in (("rho", f), ("rho'", df), ("rho''", ddf)):
        bad = ~np.isfinite(v) if not np.iscomplexobj(v) else ~(np.isfinite(v) & (v.imag == 0))
        if v.shape != z.shape or bad.any():
            at = z[int(np.argmax(bad))] if v.shape == z.shape else z[0]
            what = "" if what == "rho" else f" ({what})"
            raise EqpropError(f"rho: {name}{what} is not a finite real number at z = {at:g}; "
                              "the states of a layered network range over all reals, so rho must "
                              "be defined everywhere (such as sigmoid, tanh, erf, atan, softplus)")
    for v, dv in ((f, df), (df, ddf)):  # rho and rho' against the trapezoid rule on their derivatives
        step = np.diff(v)
        trapezoid = (dv[1:] + dv[:-1]) * GRID_STEP / 2
        # smooth: the rule's relative error is about h^2/12 times v''' / v', far below a tenth;
        # across a pole, jump or kink the two disagree in size or sign
        jump = np.abs(step - trapezoid) > 0.1 * (np.abs(step) + np.abs(trapezoid)) \
            + 1e-12 * (1 + np.abs(v[1:]))
        if jump.any():
            at = z[int(np.argmax(jump))]
            raise EqpropError(f"rho: {name} has a pole, jump or kink near z = {at:.4g}; the states "
                              "of a layered network range over all reals, so rho must be twice "
                              "differentiable everywhere")
    if d0 == 0:
        raise EqpropError(f"rho: {name} has rho'(0) = 0, so s = 0 is a fixed point of every unit "
                          "and passes no signal (the layers decouple); shift it (such as "
                          "cos(z + 1/2)) or choose another activation")
