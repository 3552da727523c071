"""Theorem 3 at realistic size, for any array model: the pipeline that ``eqprop scale`` runs.

:func:`scale` is a chain of named stages, each a function of the previous
stage's frozen result (docs/MATH.md section 7 for the mathematics):

1. :func:`arguments` -- every argument checked, the model resolved, its code
   generated and the run's cost estimated, before any array is allocated;
2. :func:`build_network` -- the compiled network with its batch of data;
3. :func:`free_fixed_points` -- the free phase to s0, the fixed point (2.2)
   of the free dynamics (2.1);
4. :func:`hypotheses` -- per example, what the theorems assume at s0
   (:mod:`~eqprop.proofs.scale_hypotheses`);
5. :func:`theorem3_rows` -- EP's temporal derivatives against RBP's error
   derivatives, (5.4) and (5.5) in discrete time
   (:mod:`~eqprop.proofs.scale_theorem3`);
6. :func:`gradient_rows` -- dJ/dtheta (2.3) three ways
   (:mod:`~eqprop.proofs.scale_gradients`);
7. :func:`continuous_rows` -- with ``continuous``, (5.4) in continuous time;
8. :func:`verdict` -- the :class:`~eqprop.proofs.scale_report.ScaleReport`,
   whose verdict is computed from typed findings
   (:mod:`~eqprop.proofs.outcomes`).

A stage that cannot go on (an argument refused, a free phase that
diverged) raises :class:`~eqprop.errors.EqpropError`, with one line for the
user. A failed hypothesis stops nothing: the rows are still computed and
shown beside it, and the report's verdict names the hypothesis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from eqprop.errors import EqpropError
from eqprop.numeric.batch_solve import free_phase
from eqprop.symbolic.arrays import derive_arrays, generate

from .scale_agreement import normalized_error
from .scale_arguments import (MAX_FLOPS, MAX_MEMORY, RBP_LIMIT_TIME, check_budget, check_layers,
                              check_options, estimate)
from .scale_gradients import GradientLimits, compare_gradients, implicit_gradient, rbp_limit
from .scale_hypotheses import check_hypotheses
from .scale_network import build, check_activation, check_smooth, network, resolve
from .scale_report import ScaleReport
from .scale_theorem3 import DUAL_THRESHOLD, check_theorem3, continuous_check

__all__ = ["check_theorem3", "implicit_gradient", "rbp_limit", "scale", "network", "ScaleReport",
           "normalized_error", "estimate", "DUAL_THRESHOLD", "arguments", "build_network",
           "free_fixed_points", "hypotheses", "theorem3_rows", "gradient_rows", "continuous_rows",
           "verdict"]

#: what ``scale`` takes only for the layered family built from ``layers``
_LAYERED = {"rho": "sigmoid", "cost": "squared", "asymmetry": 0.0, "plain_layers": (),
            "biases": False}
#: the run's options where neither the call nor the model's ``[scale]`` table gives them
_DEFAULTS = {"batch": 128, "eps": 0.5, "steps": 100, "beta": 0.01, "init": "zeros"}


def _quiet(msg):
    """The progress callback of a run that reports none."""


@dataclass(frozen=True)
class Arguments:
    """Stage 1: what to run, checked. ``model`` is the :class:`ArrayModel` at its sizes,
    ``program`` its generated code; ``started`` the clock at the start, for the timings."""

    model: object
    program: object
    batch: int
    steps: int
    seed: int
    eps: float
    beta: float
    h: float
    init: str
    data: str
    backend: str
    device: object
    continuous: bool
    started: float
    say: object = _quiet


@dataclass(frozen=True)
class Network:
    """Stage 2: the compiled network, its data bound; ``seconds`` since the run started."""

    args: Arguments
    net: object
    seconds: float


@dataclass(frozen=True)
class FixedPoints:
    """Stage 3: the free phase's result (:class:`~eqprop.numeric.batch_solve.FreePhase`),
    every example at a fixed point s0 (2.2)."""

    network: Network
    free: object
    seconds: float

    @property
    def s0(self):
        return self.free.s


@dataclass(frozen=True)
class Hypotheses:
    """Stage 4: the per-example hypotheses at s0, as the report's JSON-ready dict."""

    fixed: FixedPoints
    checks: dict
    seconds: float


@dataclass(frozen=True)
class TheoremRows:
    """Stage 5: one row per state block and parameter, (5.4) and (5.5) in discrete time."""

    hypotheses: Hypotheses
    rows: list
    seconds: float


@dataclass(frozen=True)
class GradientRows:
    """Stage 6: dJ/dtheta (2.3) by the EP limit, the RBP limit and real-beta EP."""

    theorem: TheoremRows
    limits: GradientLimits
    seconds: float


@dataclass(frozen=True)
class ContinuousRows:
    """Stage 7: (5.4) in continuous time per state block; empty, and no time, without
    ``continuous``."""

    gradients: GradientRows
    rows: list
    seconds: float = None


def scale(model=(10, 512, 512, 784), *, batch=None, data="random", rho="sigmoid", eps=None,
          steps=None, h=1e-20, beta=None, seed=None, cost="squared", continuous=False,
          asymmetry=0.0, init=None, plain_layers=(), biases=False, dims=None, backend="numpy",
          device=None, progress=None, max_memory=MAX_MEMORY, max_flops=MAX_FLOPS):
    """Run the realistic-size check end to end; returns a :class:`ScaleReport`.

    ``model`` is an :class:`~eqprop.symbolic.arrays.ArrayModel`, a model file
    declaring one, or the layer sizes ``[n_out, ..., n_in]`` of the layered
    Hopfield network (then ``rho``, ``cost``, ``biases``, ``asymmetry`` and
    ``plain_layers`` choose its variant). ``dims`` sets an array model's sizes
    (default: its ``[scale] dims``); ``batch``, ``eps``, ``steps``, ``beta``,
    ``init`` default to its ``[scale]`` table, else 128, 0.5, 100, 0.01,
    ``"zeros"``. ``backend`` is ``"numpy"`` or ``"torch"`` (``device`` "cpu"
    or "cuda").

    Free phase (:func:`~eqprop.numeric.batch_solve.free_phase`): relaxation
    with steps of at most ``eps``, each lowering every example's energy, then
    Newton-CG, to ``max|dE/ds| <= 1e-15`` or float64's floor; an example whose
    state runs away is refused (EqpropError). Then the hypotheses, per example
    (:mod:`~eqprop.proofs.scale_hypotheses`), :func:`check_theorem3` and the
    gradient comparison (implicit function theorem, EP limit by complex-step
    nudged fixed point, RBP limit run until its tail is below 1e-14).

    Every argument is checked before anything is allocated, and a run whose
    :func:`estimate` exceeds ``max_memory`` bytes (default 8 GiB) or
    ``max_flops`` (default 1e13) is refused with the estimate in the message.
    """
    args = arguments(model, batch=batch, data=data, rho=rho, eps=eps, steps=steps, h=h, beta=beta,
                     seed=seed, cost=cost, continuous=continuous, asymmetry=asymmetry, init=init,
                     plain_layers=plain_layers, biases=biases, dims=dims, backend=backend,
                     device=device, progress=progress, max_memory=max_memory, max_flops=max_flops)
    built = build_network(args)
    with np.errstate(all="ignore"):  # overflow is detected and reported, not warned about
        fixed = free_fixed_points(built)
        checked = hypotheses(fixed)
        rows = theorem3_rows(checked)
        gradients = gradient_rows(rows)
        continuous_part = continuous_rows(gradients)
    return verdict(continuous_part)


def arguments(model, *, batch, data, rho, eps, steps, h, beta, seed, cost, continuous, asymmetry,
              init, plain_layers, biases, dims, backend, device, progress, max_memory, max_flops):
    """Stage 1: check every argument of :func:`scale`, resolve the model and generate its code,
    and refuse a run beyond ``max_memory`` or ``max_flops``; an :class:`Arguments`."""
    say = progress or _quiet
    given = dict(rho=rho, cost=cost, asymmetry=asymmetry, plain_layers=plain_layers, biases=biases)
    is_layers = _check_family(model, given, dims)
    started = time.perf_counter()
    check_options(1, 0.5, 1, h, 0.01, seed or 0, cost, asymmetry, data)
    if is_layers:
        model = check_layers(model)
        check_activation(rho)
    say("model: derivation and code generation")
    m = resolve(model, dims=dims, layered_options=dict(given, seed=seed or 0))
    chosen = {k: (v if v is not None else m.scale.get(k, _DEFAULTS[k]))
              for k, v in (("batch", batch), ("eps", eps), ("steps", steps), ("beta", beta),
                           ("init", init))}
    if data == "random" and m.scale.get("data"):
        data = m.scale["data"]
    batch, steps, seed_used, eps, beta, h = check_options(
        chosen["batch"], chosen["eps"], chosen["steps"], h, chosen["beta"],
        m.seed if seed is None else seed, "squared", 0.0, data)
    if chosen["init"] not in ("zeros", "random"):
        raise EqpropError(f"init: {str(chosen['init'])[:40]!r}; choose zeros or random")
    if backend not in ("numpy", "torch"):
        raise EqpropError(f"backend: {str(backend)[:40]!r}; choose numpy or torch")
    check_smooth(m)
    program = generate(derive_arrays(m))
    mem, flops = estimate(program, batch, steps, eps, continuous)
    check_budget(m, batch, steps, eps, mem, flops, max_memory, max_flops)
    return Arguments(model=m, program=program, batch=batch, steps=steps, seed=seed_used, eps=eps,
                     beta=beta, h=h, init=chosen["init"], data=data, backend=backend,
                     device=device, continuous=continuous, started=started, say=say)


def _check_family(model, given, dims):
    """Whether ``model`` is layer sizes; refuse the options of the other family (the layered
    options for an array model, ``dims`` for layer sizes)."""
    is_layers = not isinstance(model, (str, bytes)) and hasattr(model, "__iter__") \
        and not hasattr(model, "specs")
    if not is_layers:
        odd = [k for k, v in given.items() if v != _LAYERED[k] and not (k == "plain_layers" and not v)]
        if odd:
            raise EqpropError(f"scale: {odd[0]} applies to the layered network (--layers) only; "
                              "an array model writes its own energy and cost")
    elif dims:
        raise EqpropError("scale: dims applies to an array model; give the layer sizes instead")
    return is_layers


def build_network(args):
    """Stage 2: the model's :class:`~eqprop.numeric.array_network.ArrayNetwork` on its backend,
    with the batch of data bound; a :class:`Network`."""
    try:
        built = build(args.model, batch=args.batch, data=args.data, seed=args.seed,
                      backend=args.backend, device=args.device, program=args.program)
    except ImportError as exc:
        raise EqpropError(f"backend: {exc}") from None
    return Network(args, built.net, time.perf_counter() - args.started)


def free_fixed_points(network):
    """Stage 3: the free dynamics (2.1) to a fixed point s0 (2.2) per example: relaxation with
    steps of at most eps, then Newton-CG; a :class:`FixedPoints`, or EqpropError where an
    example's state ran away."""
    args, net = network.args, network.net
    args.say("free phase: relaxation and Newton-CG")
    t = time.perf_counter()
    free = free_phase(net, _initial_state(args.init, args.batch, net.n_free, args.seed), eps=args.eps)
    if "diverged" in free.status:
        raise _diverged(free, args.model)
    return FixedPoints(network, free, time.perf_counter() - t)


def _initial_state(init, batch, n, seed):
    """The free phase's start: zeros, or a seeded standard normal state (``init='random'``)."""
    if init == "zeros":
        return np.zeros((batch, n))
    return np.random.default_rng([seed, 1]).standard_normal((batch, n))


def _diverged(free, model):
    """The one-line refusal when the free phase ran away for some examples."""
    bad = [i for i, st in enumerate(free.status) if st == "diverged"]
    size = float(np.max(np.abs(np.nan_to_num(free.s[bad], nan=np.inf))))
    where = (f"the state ran out of range, max|s| = {size:.1e}" if size > 0 else
             "the energy or its gradient became infinite or NaN")
    return EqpropError(
        f"scale: the free phase diverged for {len(bad)} of {len(free.status)} examples (example "
        f"{bad[0]}: {where}): {model.name} with these parameters has no minimum within reach; "
        "use a bounded activation (sigmoid, tanh, erf), smaller sizes, another --seed or "
        "--init random")


def hypotheses(fixed):
    """Stage 4: per example, the hypotheses of Theorem 3 and of the limits (2.3) at s0: fixed
    point, strict minimum, stable step, gradient field, finite; a :class:`Hypotheses`."""
    args = fixed.network.args
    args.say("hypotheses: fixed point, strict minimum (Lanczos), stable step, gradient field")
    t = time.perf_counter()
    checks = check_hypotheses(fixed.network.net, fixed.s0, fixed.free, eps=args.eps, seed=args.seed)
    return Hypotheses(fixed, checks, time.perf_counter() - t)


def theorem3_rows(checked):
    """Stage 5: EP's Stilde_k and Thetatilde_k against RBP's Sbar_k and Thetabar_k, (5.4) and
    (5.5) for Euler steps, complex-step and real beta; a :class:`TheoremRows`."""
    fixed = checked.fixed
    args, net = fixed.network.args, fixed.network.net
    args.say(f"nudged phase ({args.steps} complex-step and real-beta steps) and RBP "
             f"({args.steps} steps)")
    t = time.perf_counter()
    rows = check_theorem3(net, fixed.s0, eps=args.eps, steps=args.steps, h=args.h, beta=args.beta)
    return TheoremRows(checked, rows, time.perf_counter() - t)


def gradient_rows(theorem):
    """Stage 6: dJ/dtheta (2.3) by the implicit function theorem, the EP limit and the RBP limit
    (run until its tail is below 1e-14, at most to t = :data:`RBP_LIMIT_TIME`); a
    :class:`GradientRows`."""
    checked = theorem.hypotheses
    fixed = checked.fixed
    args = fixed.network.args
    args.say("gradients: implicit function theorem, EP limit, RBP limit")
    t = time.perf_counter()
    limits = compare_gradients(fixed.network.net, fixed.s0, checked.checks, eps=args.eps, h=args.h,
                               beta=args.beta, limit_time=RBP_LIMIT_TIME)
    return GradientRows(theorem, limits, time.perf_counter() - t)


def continuous_rows(gradients):
    """Stage 7: with ``continuous``, (5.4) in continuous time, DOP853 for RBP and the
    complex-step nudged flow; a :class:`ContinuousRows` (empty without it)."""
    fixed = gradients.theorem.hypotheses.fixed
    args = fixed.network.args
    if not args.continuous:
        return ContinuousRows(gradients, [])
    args.say("continuous time: DOP853 for RBP and the complex-step nudged flow")
    t = time.perf_counter()
    rows = continuous_check(fixed.network.net, fixed.s0)
    return ContinuousRows(gradients, rows, time.perf_counter() - t)


def verdict(continuous):
    """Stage 8: every stage's result in one :class:`ScaleReport`, which decides the verdict."""
    gradients = continuous.gradients
    theorem = gradients.theorem
    checked = theorem.hypotheses
    fixed = checked.fixed
    args, m = fixed.network.args, fixed.network.args.model
    seconds = {"model": fixed.network.seconds, "free phase": fixed.seconds,
               "hypotheses": checked.seconds, "theorem 3": theorem.seconds,
               "gradients": gradients.seconds}
    if continuous.seconds is not None:
        seconds["continuous"] = continuous.seconds
    seconds["total"] = time.perf_counter() - args.started
    return ScaleReport(layers=list(m.layers) if m.layers else None, batch=args.batch, data=args.data,
                       eps=args.eps, steps=args.steps, h=args.h, beta=args.beta,
                       residual=float(np.max(fixed.free.residual)), rows=theorem.rows,
                       gradient=gradients.limits.gradient, continuous=continuous.rows,
                       seconds=seconds, notes=list(gradients.limits.notes), hypotheses=checked.checks,
                       init=args.init, model=m.name, dims=dict(m.dims), n_state=m.n_state,
                       n_params=m.n_params, backend=args.backend)
