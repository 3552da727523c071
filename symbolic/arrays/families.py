"""Built-in array models: the layered Hopfield network of ``eqprop scale --layers``.

:func:`layered` writes the paper's modified Hopfield energy (paper 2.4) for
any depth as an :class:`~.model.ArrayModel`, so ``eqprop scale --layers``
goes through the same generated code as any model file::

    E = sum_l |s_l|^2 / 2 - sum_l rho(s_l)^T W_l rho(s_{l+1}) [- sum_l b_l^T rho(s_l)]

with layers numbered from the output (0), the input ``x`` clamped as the
last, and the cost ``|s_0 - y|^2 / 2`` or the cross entropy of a softmax
readout, ``sum(y) logsumexp(s_0) - y . s_0``. Two non-gradient variants are
negative controls, written as vector fields: ``asymmetry`` makes layer l+1
hear layer l through backward weights ``B_l`` (constants: ``W_l`` plus that
much noise) instead of ``W_l^T``; ``plain_layers`` names layers whose force
lacks the factor ``rho'(s_l)`` while their neighbours still hear ``rho(s_l)``.
"""

from __future__ import annotations

import sympy as sp

from eqprop.errors import EqpropError

from ..activations import rho_function

from .model import ArrayModel

__all__ = ["layered"]

_z = sp.Symbol("z", real=True)


def _sizes(layers):
    try:
        sizes = [int(n) for n in layers]
    except (TypeError, ValueError):
        raise EqpropError(f"layers: expected integers such as 10,512,512,784, got {layers!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise EqpropError(f"layers: need at least two positive sizes, output first and input "
                          f"last, got {sizes}")
    return sizes


def layered(layers, *, rho="sigmoid", biases=False, cost="squared", seed=0, asymmetry=0.0,
            plain_layers=(), name=None):
    """The layered Hopfield network as an :class:`ArrayModel` (see the module docstring).

    Weights are Glorot-uniform, biases uniform in [-0.5, 0.5), inputs
    uniform in [0, 1) and targets one-hot (``eqprop scale`` replaces the data
    by its ``--data``). Parameters are named ``W01, W12, ...`` and ``b0, b1,
    ...``; state blocks ``s0, s1, ...``.
    """
    sizes = _sizes(layers)
    L = len(sizes) - 1
    rho_expr = rho_function(rho)
    s = [f"s{l}" for l in range(L)]
    up = s[1:] + ["x"]  # the layer above each free layer
    W = [f"W{l}{l + 1}" for l in range(L)]
    dims = {f"n{l}": n for l, n in enumerate(sizes)}
    state = {s[l]: f"n{l}" for l in range(L)}
    params = {W[l]: {"shape": f"n{l}, n{l + 1}", "init": "glorot"} for l in range(L)}
    if biases:
        params.update({f"b{l}": {"shape": f"n{l}", "init": "uniform(-0.5, 0.5)"} for l in range(L)})
    data = {"x": {"shape": f"n{L}", "init": "uniform(0, 1)", "dataset": "images"},
            "y": {"shape": "n0", "init": "uniform(0, 1)", "dataset": "labels"}}
    if cost == "squared":
        cost_text = "sum((s0 - y)**2)/2"
    elif cost == "cross_entropy":
        cost_text = "sum(y) * logsumexp(s0) - y @ s0"
    else:
        raise EqpropError(f"cost: {str(cost)[:40]!r}; choose 'squared' or 'cross_entropy'")
    functions = {"rho": rho_expr}
    plain = tuple(sorted(int(l) for l in plain_layers))
    if any(not 0 <= l < L for l in plain):
        raise EqpropError(f"plain_layers: {list(plain)}; free layers are 0..{L - 1}")
    label = name or f"hopfield {'-'.join(map(str, sizes))} ({rho if isinstance(rho, str) else 'custom rho'})"
    common = dict(state=state, params=params, data=data, dims=dims, seed=seed, name=label,
                  layers=tuple(sizes))
    if not asymmetry and not plain:
        terms = [f"sum({b}**2)/2" for b in s]
        terms += [f"- rho({s[l]}) @ {W[l]} @ rho({up[l]})" for l in range(L)]
        if biases:
            terms += [f"- b{l} @ rho({s[l]})" for l in range(L)]
        return ArrayModel(energy=" + ".join(terms).replace("+ -", "-"), cost=cost_text,
                          functions=functions, **common)
    # a vector field: ds_l/dt = -s_l + rho'(s_l) * field_l (rho' left out on plain layers)
    functions["drho"] = sp.diff(rho_expr, _z)
    constants = {}
    if asymmetry:
        import numpy as np

        from .values import draw, generator
        for l in range(L - 1):
            rng = generator(seed, W[l], 0)
            w = draw(("glorot", ()), (sizes[l], sizes[l + 1]), rng)
            noise = np.random.default_rng([seed, l, 7]).standard_normal(w.shape)
            constants[f"B{l}{l + 1}"] = w + asymmetry * noise * np.sqrt(2 / sum(w.shape))
    field = {}
    for l in range(L):
        terms = [f"{W[l]} @ rho({up[l]})"]
        if l > 0:
            back = f"B{l - 1}{l}" if asymmetry else W[l - 1]
            terms.append(f"{back}.T @ rho({s[l - 1]})")
        if biases:
            terms.append(f"b{l}")
        inner = " + ".join(terms)
        field[s[l]] = f"-{s[l]} + ({inner})" if l in plain else f"-{s[l]} + drho({s[l]}) * ({inner})"
    return ArrayModel(vector_field=field, cost=cost_text, functions=functions,
                      constants=constants or None, **common)
