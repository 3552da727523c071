"""What :func:`eqprop.proofs.scale.scale` checks before it allocates anything.

:func:`check_layers` and :func:`check_options` validate every argument
(whole numbers, finite reals, known names); :func:`estimate` gives a run's
peak memory and arithmetic from the generated code's own counts, and
:func:`check_budget` refuses a run beyond the limits (:data:`MAX_MEMORY`,
:data:`MAX_FLOPS`), with the estimate in the message.
"""

from __future__ import annotations

import math

import numpy as np

from eqprop.errors import EqpropError

from .options import finite_number

__all__ = ["estimate", "check_budget", "check_layers", "check_options", "MAX_MEMORY", "MAX_FLOPS",
           "RBP_LIMIT_TIME"]


#: what :func:`~eqprop.proofs.scale.scale` refuses to start: estimated peak memory (bytes) and
#: work (flop)
MAX_MEMORY = 8 * 2**30
MAX_FLOPS = 1e13
#: the RBP limit runs until its tail is below 1e-14, but at most to t = eps K = 200 (the tail
#: left then is accounted for, see :func:`~eqprop.proofs.scale.rbp_limit`)
RBP_LIMIT_TIME = 200.0


def _sci(n):
    """A non-negative number, possibly a huge Python int, as '1.2e+15' (never OverflowError)."""
    n = int(n)
    if n < 10**300:
        return f"{float(n):.1e}"
    e = math.floor(math.log10(n))  # math.log10 takes ints of any size
    return f"{10 ** (math.log10(n) - e):.1f}e+{e}"


def _short(value, n=80):
    text = repr(value)
    return text if len(text) <= n else text[:n - 3] + "..."


def _bytes(n):
    n = int(n)
    if n.bit_length() > 1000:
        return f"{_sci(n)} bytes"
    v = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if v < 1024 or unit == "PiB":
            return f"{v:.0f} {unit}" if unit == "bytes" else f"{v:.3g} {unit}"
        v /= 1024


def estimate(program, batch, steps, eps=0.5, continuous=False):
    """``(bytes, flops)``: the peak memory and arithmetic of a :func:`~eqprop.proofs.scale.scale` run.

    ``program`` is the model's generated :class:`~eqprop.symbolic.arrays.Program`.
    A deliberately generous model, in Python integers (no overflow): about
    16 copies of the parameters and constants, 40 of the batch's state, two
    batch-by-batch Gram matrices, every intermediate of the largest generated
    function alive at once (twice, for complex arithmetic), and 100 bytes per
    step, quantity and estimator of per-step errors. Work: the generated
    functions' own counts (:meth:`~eqprop.symbolic.arrays.Program.flops`) --
    per step the complex-step pass, RBP's H^T v and M v and the two real-beta
    passes; then the RBP limit (``RBP_LIMIT_TIME / eps`` products with H^T),
    the free phase, the hypotheses and Newton-CG (taken as 2000 products H v)
    and, with ``continuous``, 15000 more -- and Python's own work per
    operation and step.
    """
    d = program.derived
    B = int(batch)
    P = sum(math.prod(shape) for _, shape in d.fixed)
    N = d.n
    quantities = len(d.blocks) + len(d.params)
    peak = max(_live(program, e, B) for e in program.entries)
    mem = 8 * (16 * P + 40 * B * N + 2 * B * B) + 16 * peak + 100 * int(steps) * 3 * quantities
    if continuous:
        mem += 16 * 80 * B * N
    f = program.flops
    per_step = f("dual", B) + f("hvT", B) + f("mv", B) + 2 * f("step" if "step" in program.entries
                                                             else "grad", B)
    # the comparisons: differences of every parameter-sized value of the three estimators, and
    # the Gram route (B x B x rows) for a derivative kept as its factors
    rows = max([shape[0] for _, shape in d.params if shape] + [1])
    per_step += 10 * P + 2 * B * B * rows
    hv = f("hv", B)
    flops = int(steps) * per_step + (_rbp_steps(eps) + 1) * f("hvT", B) + 2000 * hv + f("mv", B)
    if continuous:
        flops += 15000 * hv
    nodes = sum(len(roots) for roots in program.entries.values())
    flops += (int(steps) + 100) * nodes * 10**4  # Python's own work, about 10 us an operation
    return mem, flops


def check_budget(m, batch, steps, eps, mem, flops, max_memory, max_flops):
    """Refuse (one line) a run whose :func:`estimate` ``(mem, flops)`` exceeds the limits, with
    the estimate and what to change."""
    shape = f"{m.name} at {', '.join(f'{k} = {v}' for k, v in m.dims.items()) or 'its sizes'}, " \
            f"batch {batch}, {steps} steps"
    if mem > max_memory:
        raise EqpropError(f"scale: {shape} would need about {_bytes(mem)} of memory, more than the "
                          f"{_bytes(max_memory)} limit; use smaller sizes (--layers or --shape), a "
                          "smaller batch (--batch) or fewer steps (--steps)")
    if flops > max_flops:
        step = (f", a larger --eps (the RBP limit takes {RBP_LIMIT_TIME:g} / eps steps)"
                if RBP_LIMIT_TIME / eps > steps else "")
        raise EqpropError(f"scale: {shape} would take about {_sci(flops)} floating-point operations, "
                          f"more than the {_sci(max_flops)} limit (hours of work); use fewer steps "
                          f"(--steps), smaller sizes (--layers or --shape){step} or a smaller batch "
                          "(--batch)")


def _live(program, entry, batch):
    """Elements of every intermediate one generated function makes, as if all were alive at once.

    Inputs, views (transposes, reshapes, broadcasts) and the per-example outer products that a
    sum over the batch turns into one matrix product (never formed) do not count.
    """
    from eqprop.symbolic.arrays.ir import walk
    order = walk(program.entries[entry])
    users = {}
    for n in order:
        for a in n.args:
            users.setdefault(id(a), []).append(n.op)
    skip = ("var", "num", "zeros", "transpose", "reshape", "broadcast")
    return sum(n.size * (batch if n.batched else 1) for n in order
               if n.op not in skip and not (n.op == "outer" and n.batched
                                            and set(users.get(id(n), ())) <= {"batchsum"}))


def _rbp_steps(eps):
    """Steps of the RBP limit, ``RBP_LIMIT_TIME / eps``, as a Python int: a subnormal ``eps``
    (1e-310) makes the quotient infinite in float64, which int() cannot take."""
    steps = RBP_LIMIT_TIME / eps
    return int(steps) if math.isfinite(steps) else 10**400


#: The largest ``asymmetry`` (noise on the backward weights, relative to their scale): far
#: beyond any useful negative control, and far below where float64 weights overflow.
MAX_ASYMMETRY = 1e6


def _whole(name, value):
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise EqpropError(f"{name}: expected a whole number, got {_short(value)}")
    return int(value)


def check_layers(layers):
    """Layer sizes ``[n_out, ..., n_in]`` as Python ints, or one line saying what is wrong."""
    if isinstance(layers, (str, bytes)):
        raise EqpropError(f"layers: expected a list of integers such as [10, 512, 512, 784], "
                          f"got {_short(layers)}")
    try:
        sizes = [_whole("layers", n) for n in layers]
    except TypeError:
        raise EqpropError(f"layers: expected a list of integers such as [10, 512, 512, 784], "
                          f"got {_short(layers)}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        shown = ",".join(str(n) if abs(n) < 10**12 else "(huge)" for n in sizes[:20]) \
            + (f",... ({len(sizes)} sizes)" if len(sizes) > 20 else "")
        raise EqpropError(f"layers: need at least two positive sizes, output first and input last "
                          f"(such as 10,512,512,784), got {shown}")
    if max(sizes) > 10**8 or len(sizes) > 1000:
        raise EqpropError(f"layers: {len(sizes)} sizes up to {_sci(max(sizes))}; each size is at "
                          "most 100,000,000 and there are at most 1,000 layers (the memory limit "
                          "refuses far less)")
    return sizes


def check_options(batch, eps, steps, h, beta, seed, cost, asymmetry, data):
    """Every option of :func:`~eqprop.proofs.scale.scale` but the model, before anything is built.

    Returns ``(batch, steps, seed, eps, beta, h)`` as Python ints and floats.
    """
    def real(name, value):
        return finite_number(value, name)

    batch = _whole("batch", batch)
    if batch < 1:
        raise EqpropError(f"batch: must be at least 1, got {batch}")
    steps = _whole("steps", steps)
    if steps < 1:
        raise EqpropError(f"steps: must be at least 1, got {steps}")
    seed = _whole("seed", seed)
    if seed < 0:
        raise EqpropError(f"seed: must be a non-negative integer, got {seed}")
    if seed >= 2**63:
        raise EqpropError(f"seed: at most 2**63 - 1, got {_short(seed)}")
    eps = real("eps", eps)
    if not eps > 0:  # any positive step: whether it is stable is a hypothesis, checked per example
        raise EqpropError(f"eps: the Euler step must be positive, got {eps}")
    beta = real("beta", beta)
    if beta == 0:
        raise EqpropError("beta: must be non-zero (EP divides by it); the default is 0.01")
    h = real("h", h)
    if h <= 0:
        raise EqpropError(f"h: the complex step must be positive, got {h} (default 1e-20)")
    if abs(real("asymmetry", asymmetry)) > MAX_ASYMMETRY:  # the weights themselves overflow
        raise EqpropError(f"asymmetry: at most {MAX_ASYMMETRY:.0e} in absolute value (the noise "
                          f"relative to the weights' scale), got {_short(asymmetry)}")
    if cost not in ("squared", "cross_entropy"):
        raise EqpropError(f"cost: {_short(cost)}; choose 'squared' or 'cross_entropy'")
    if not isinstance(data, str):
        raise EqpropError(f"data: expected random, digits or mnist:PATH, got {_short(data)}")
    if data not in ("random", "digits") and not data.startswith("mnist:"):
        raise EqpropError(f"data: {_short(data)} is an unknown data source; choose random, digits or "
                          "mnist:PATH (in --data or the model's [scale] table)")
    return batch, steps, seed, eps, beta, h
