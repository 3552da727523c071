"""What :func:`eqprop.proofs.scale.scale` checks before it allocates anything.

:func:`_check_arguments` validates every argument (whole numbers, finite
reals, known names) and refuses a run whose :func:`estimate` of peak memory
or arithmetic exceeds the limits (:data:`MAX_MEMORY`, :data:`MAX_FLOPS`),
with the estimate in the message.
"""

from __future__ import annotations

import math

import numpy as np

from eqprop.errors import EqpropError

from .options import finite_number

__all__ = ["estimate", "MAX_MEMORY", "MAX_FLOPS", "RBP_LIMIT_TIME"]


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


def estimate(sizes, batch, steps, eps=0.5, continuous=False, asymmetry=0.0):
    """``(bytes, flops)``: the peak memory and arithmetic of a :func:`~eqprop.proofs.scale.scale` run.

    A deliberately generous model, in Python integers (no overflow), measured
    against tracemalloc on small runs: about 16 weight-sized float64 arrays
    (the weights, their transposes' products, Thetatilde and Thetabar of three
    estimators, the buffers of the differences), 40 float64 copies of the batch
    of states (complex128 and split complex buffers count twice), two
    batch-by-batch Gram matrices, and 100 bytes per step, quantity and
    estimator of per-step errors. Work: one product of the batch with all the
    weights is ``P = 2 batch W`` flop; a step of the four runs (complex step,
    +beta, -beta, RBP) costs about 15 P and the Gram-weighted comparisons of the
    input layer 18 batch^2 n_in_hidden; the gradients add the RBP limit
    (at most RBP_LIMIT_TIME / eps steps of one product with H, P at most)
    and Newton-CG (taken as 1000 P: about 110 products with H were
    measured, complex ones at twice the cost), the free phase and the
    hypotheses another 1000 P (relaxation, Newton-CG, Lanczos);
    ``continuous`` DOP853 at rtol 1e-12 about 15000 P (measured: 13000 P).
    """
    sizes = [int(n) for n in sizes]
    W = sum(a * b for a, b in zip(sizes, sizes[1:]))
    N = sum(sizes)
    L = len(sizes) - 1
    B = int(batch)
    mem = 8 * (16 + (1 if asymmetry else 0)) * W + 8 * 40 * B * N + 2 * 8 * B * B \
        + 100 * int(steps) * 3 * L * 4
    if continuous:
        mem += 16 * 80 * B * N
    P = 2 * B * W
    per_step = 15 * P + 18 * B * B * sizes[-2]
    flops = int(steps) * per_step + (_rbp_steps(eps) + 1) * P + 2000 * P \
        + 2 * B * B * sizes[-1]
    if continuous:
        flops += 15000 * P
    # Python's own work per layer and step (a few microseconds per array operation)
    flops += (int(steps) + 100) * L * 4 * 10**6
    return mem, flops


def _rbp_steps(eps):
    """Steps of the RBP limit, ``RBP_LIMIT_TIME / eps``, as a Python int: a subnormal ``eps``
    (1e-310) makes the quotient infinite in float64, which int() cannot take."""
    steps = RBP_LIMIT_TIME / eps
    return int(steps) if math.isfinite(steps) else 10**400


#: The largest ``asymmetry`` (noise on the backward weights, relative to their scale): far
#: beyond any useful negative control, and far below where float64 weights overflow.
MAX_ASYMMETRY = 1e6


def _check_arguments(layers, batch, eps, steps, h, beta, seed, cost, continuous, asymmetry, data,
                     max_memory, max_flops):
    """Every argument of :func:`~eqprop.proofs.scale.scale`, before anything is allocated.

    Returns ``(sizes, batch, steps, seed, eps, beta, h)`` as Python ints and floats.
    """
    def whole(name, value):
        if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise EqpropError(f"{name}: expected a whole number, got {_short(value)}")
        return int(value)

    def real(name, value):
        return finite_number(value, name)

    if isinstance(layers, (str, bytes)):
        raise EqpropError(f"layers: expected a list of integers such as [10, 512, 512, 784], "
                          f"got {_short(layers)}")
    try:
        sizes = [whole("layers", n) for n in layers]
    except TypeError:
        raise EqpropError(f"layers: expected a list of integers such as [10, 512, 512, 784], "
                          f"got {_short(layers)}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        shown = ",".join(str(n) if abs(n) < 10**12 else "(huge)" for n in sizes[:20]) \
            + (f",... ({len(sizes)} sizes)" if len(sizes) > 20 else "")
        raise EqpropError(f"layers: need at least two positive sizes, output first and input last "
                          f"(such as 10,512,512,784), got {shown}")
    batch = whole("batch", batch)
    if batch < 1:
        raise EqpropError(f"batch: must be at least 1, got {batch}")
    steps = whole("steps", steps)
    if steps < 1:
        raise EqpropError(f"steps: must be at least 1, got {steps}")
    seed = whole("seed", seed)
    if seed < 0:
        raise EqpropError(f"seed: must be a non-negative integer, got {seed}")
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
    mem, flops = estimate(sizes, batch, steps, eps, continuous, asymmetry)
    def count(n):
        return str(n) if n < 10**12 else _sci(n)
    shape = (f"layers {','.join(map(count, sizes)) if len(sizes) <= 20 else f'of {len(sizes)} sizes'}, "
             f"batch {count(batch)}, {count(steps)} steps")
    if mem > max_memory:
        raise EqpropError(f"scale: {shape} would need about {_bytes(mem)} of memory, more than the "
                          f"{_bytes(max_memory)} limit; use smaller layers (--layers), a smaller "
                          "batch (--batch) or fewer steps (--steps)")
    if flops > max_flops:
        # a tiny eps makes the RBP limit long (it runs to t = RBP_LIMIT_TIME in steps of eps)
        step = (f", a larger --eps (the RBP limit takes {RBP_LIMIT_TIME:g} / eps steps)"
                if RBP_LIMIT_TIME / eps > steps else "")
        raise EqpropError(f"scale: {shape} would take about {_sci(flops)} floating-point operations, "
                          f"more than the {_sci(max_flops)} limit (hours of work); use fewer steps "
                          f"(--steps), smaller layers (--layers){step} or a smaller batch (--batch)")
    return sizes, batch, steps, seed, eps, beta, h
