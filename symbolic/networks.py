"""The built-in models: the paper's layered Hopfield network and a quadratic with closed forms.

Both are built in SymPy with exact decimal parameters drawn from a seeded
generator, so that a name such as ``hopfield:2,3,3,2`` (:mod:`.builtins`)
always means the same model. Sizes are checked against the symbolic path's
limits (:data:`~.model.MAX_STATE` ...) before anything is allocated.
"""

from __future__ import annotations

import numbers
import random
import re

import numpy as np
import sympy as sp

from eqprop.errors import EqpropError

from .activations import Z, rho_function
from .model import MAX_DATA, MAX_PARAMS, MAX_STATE, Model
from .numbers import shorten

__all__ = ["hopfield", "quadratic", "hopfield_layers", "quadratic_size", "quadratic_terms"]


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
    layers = hopfield_layers(layers, biases)
    r = rho_function(rho)
    rng = random.Random(_seed(seed))
    n_free = len(layers) - 1
    s = [[sp.Symbol(f"s{l}_{i}", real=True) for i in range(layers[l])] for l in range(n_free)]
    x = [sp.Symbol(f"x_{j}", real=True) for j in range(layers[-1])]
    y = [sp.Symbol(f"y_{i}", real=True) for i in range(layers[0])]
    rho_of = {v: r.xreplace({Z: v}) for v in [u for layer in s for u in layer] + x}
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


def hopfield_layers(layers, biases):
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


def quadratic_size(n):
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
    n = quadratic_size(n)
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


def quadratic_terms(n):
    """Additive terms of ``quadratic(n)``'s energy and cost: n squares, n(n-1)/2 couplings,
    n biases and the cost."""
    return n * (n + 3) // 2 + 1
