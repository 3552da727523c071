"""The networks that :func:`eqprop.proofs.scale.scale` checks: any array model, at any size.

:func:`build` derives the model's array expressions, generates and compiles
their code for the chosen backend, draws the parameters and a batch of data
(or reads the data set), and returns an
:class:`~eqprop.numeric.array_network.ArrayNetwork`. :func:`resolve` turns
what ``scale`` was given (layer sizes, an array model, a model file) into an
array model at the sizes to check; :func:`check_activation` refuses an
activation the layered free phase cannot work with.
"""

from __future__ import annotations

import os

import numpy as np

from eqprop.errors import EqpropError
from eqprop.numeric.array_network import ArrayNetwork
from eqprop.numeric.data import load
from eqprop.numeric.namespaces import namespace
from eqprop.symbolic.arrays import ArrayModel, derive_arrays, generate, layered
from eqprop.symbolic.arrays.smoothness import check_smooth
from eqprop.symbolic.builtins import load_model, rho_function
from eqprop.symbolic.codegen import compile_unary
from eqprop.symbolic.parse import NON_SMOOTH

__all__ = ["build", "network", "resolve", "check_activation", "check_smooth", "Built"]

#: the activation is checked on [-GRID_END, GRID_END] at spacing GRID_STEP
GRID_END, GRID_STEP = 20.0, 1e-3


def resolve(model, *, dims=None, layered_options=None):
    """The :class:`ArrayModel` to check: ``model`` is layer sizes, an array model or a file.

    ``layered_options`` (rho, biases, cost, seed, asymmetry, plain_layers) build
    the layered family from sizes; ``dims`` overrides sizes of an array model.
    """
    if isinstance(model, (str, os.PathLike)):
        loaded = load_model(model)
        if not isinstance(loaded, ArrayModel):
            raise EqpropError(f"scale: {str(model)[:80]!r} is a per-neuron model; eqprop scale "
                              "checks array models (a [state] table of arrays, see the README's "
                              "'Realistic size') and layered networks (--layers)")
        model = loaded
    if isinstance(model, ArrayModel):
        sizes = {**model.scale.get("dims", {}), **(dims or {})}  # --shape on top of [scale] dims
        return model.with_dims(**sizes) if sizes else model
    return layered(model, **(layered_options or {}))


class Built:
    """A network with its model, program and the numbers it was built from."""

    def __init__(self, model, derived, program, net, numbers):
        self.model, self.derived, self.program, self.net = model, derived, program, net
        self.numbers = numbers


def _dataset(model, numbers, data, batch, seed):
    """Fill the data arrays that come from a data set (``--data digits`` or ``mnist:PATH``)."""
    columns = {s.dataset: n for n, s in model.specs.items() if s.dataset}
    if data == "random":
        missing = [n for n, s in model.specs.items() if s.role == "data" and numbers[n] is None]
        if missing:
            raise EqpropError(f"data '{missing[0]}' comes only from a data set; give --data "
                              "digits or mnist:PATH, or an init in the model file")
        return
    if "images" not in columns:
        raise EqpropError(f"--data {data}: the model has no data array with dataset = \"images\" "
                          "to put the images in")
    images = model.specs[columns["images"]]
    labels = model.specs.get(columns.get("labels", ""), None)
    n_out = labels.size if labels is not None else 10
    try:
        x, y = load(data, n_in=images.size, n_out=n_out, batch=batch, seed=seed)
    except EqpropError as exc:
        if model.layers is not None:
            raise
        raise EqpropError(_arrays_wording(str(exc), images, labels)) from None
    numbers[images.name] = x.reshape((batch,) + images.shape)
    if labels is not None:
        numbers[labels.name] = y.reshape((batch,) + labels.shape)


def _arrays_wording(msg, images, labels):
    """A data loader's message in terms of the model's arrays rather than layers."""
    import re
    msg = re.sub(r"the input layer has (\d+) units; set the last layer size to (\d+)",
                 rf"the images array '{images.name}' has \1 entries; declare it with \2", msg)
    if labels is not None:
        msg = re.sub(r"the output layer has (\d+) units; set the first layer size to (\d+)",
                     rf"the labels array '{labels.name}' has \1 entries; declare it with \2", msg)
    return msg


def build(model, *, batch, data="random", seed=None, backend="numpy", device=None, program=None,
          values=None):
    """The :class:`Built` network of an array model for one batch (see the module docstring).

    ``program``: the model's generated code, when the caller has it already;
    ``values``: arrays by name that replace the model's own numbers (data with
    the batch axis in front).
    """
    if program is None:
        check_smooth(model)
        program = generate(derive_arrays(model))
    derived = program.derived
    xp = namespace(backend, device)
    numbers = model.numbers(batch=batch, seed=seed)
    _dataset(model, numbers, data, batch, model.seed if seed is None else seed)
    for n, v in (values or {}).items():
        if n not in model.specs:
            raise EqpropError(f"values: '{n}' is not a parameter, constant or data array of the model")
        spec = model.specs[n]
        want = ((batch,) if spec.role == "data" else ()) + spec.shape
        v = np.asarray(v, dtype=float)
        if v.shape != want:
            raise EqpropError(f"values: '{n}' has shape {v.shape}, expected {want}")
        numbers[n] = v
    for n, s in model.specs.items():
        if s.role == "data" and not np.all(np.isfinite(numbers[n])):
            raise EqpropError(f"data '{n}': contains NaN or infinite values; clean the data first")
    net = ArrayNetwork(program.compile(xp), blocks=derived.blocks, params=derived.params,
                       fixed=[numbers[n] for n, _ in derived.fixed],
                       data=[numbers[n] for n, _ in derived.data], has_energy=model.has_energy,
                       xp=xp, name=model.name, batch=batch,
                       fixed_names=[n for n, _ in derived.fixed])
    return Built(model, derived, program, net, numbers)


def network(model=(10, 512, 512, 784), *, batch=1, values=None, seed=0, dims=None,
            backend="numpy", device=None, **layered_options):
    """An :class:`~eqprop.numeric.array_network.ArrayNetwork` with its data bound, for tests and
    notebooks: ``network([4, 6, 5], batch=3, values={"x": x, "y": y}, rho="tanh")``.

    ``model`` as for :func:`resolve`; ``values`` replaces arrays by name.
    """
    m = resolve(model, dims=dims, layered_options=dict(seed=seed, **layered_options))
    return build(m, batch=batch, seed=seed, backend=backend, device=device, values=values).net


def check_activation(rho):
    """Refuse (EqpropError, one line) an activation the layered free phase cannot work with.

    The states of a layered network range over all reals, and with
    ``u = z^2/2`` each unit's fixed point solves ``s = rho'(s) field``. So
    ``rho`` must be smooth (no Abs, Min, Max, ...: the complex step needs a
    holomorphic function), rho, rho' and rho'' real and finite (checked on a
    grid of [-20, 20] at spacing 1e-3; beyond it the free phase reports a
    state that runs out of range), without a pole, jump or kink between grid
    points (each step of rho must match the trapezoid rule on rho', and each
    step of rho' the rule on rho''), and ``rho'(0)`` must not vanish: where it
    does (an even function such as cos), ``s = 0`` is a fixed point of every
    unit, through which no signal passes.
    """
    expr = rho_function(rho)
    name = str(expr)
    found = sorted({type(a).__name__ for a in expr.atoms(*NON_SMOOTH)})
    if found:
        raise EqpropError(f"rho: {name} is not smooth ({', '.join(found)}): the theorems need a "
                          "twice differentiable energy, and the complex step a smooth rho; use "
                          "sigmoid, tanh, smoothhard or another smooth formula")
    try:
        with np.errstate(all="ignore"):
            f_, df_, ddf_, _, _ = compile_unary(expr, "rho")
            z = np.arange(-GRID_END, GRID_END + GRID_STEP / 2, GRID_STEP)
            f, df, ddf = (np.asarray(g(z)) for g in (f_, df_, ddf_))
            d0 = float(np.asarray(df_(np.zeros(1)))[0])
    except OverflowError:  # a number of rho beyond float64 ('1e999*z'), met when it is evaluated
        raise EqpropError(f"rho: {name[:60]!r} overflows float64 (its numbers or values pass "
                          "1e308); the network computes in float64: use an activation "
                          "whose values stay within range, such as sigmoid or tanh") from None
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
