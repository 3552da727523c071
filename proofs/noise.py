"""How large H, M, C_s and C_theta are *as computed*: their sizes at s0 including its rounding.

Newton's s0 is exact only to the rounding of the force it zeroes: force
component i is formed from terms of size about ``T_i = sum_j |H_ij| |s0_j|``
and is computed to ``eps T_i``, so the solution carries an error of about
``delta = eps |H^-1| T`` (first order: the last Newton step solves with H).
A function f(s) evaluated there inherits ``sum_j |df/ds_j| delta_j``. When f
vanishes at the exact fixed point (a vector field whose parameter
derivatives are the state components that happen to be zero there, a cost
whose target is the free output), the computed f is that error alone, and
every quantity formed from it is rounding: measuring two routes to it
against its own size would compare noise with noise and call it a failure.

So each ingredient gets a *size*, entry by entry,

    size(f) = max(|f(s0)|, sum_j |df/ds_j (s0)| (|H^-1| T)_j),

the size of the numbers it is formed from: the same notion as
:func:`~eqprop.proofs.quantities.term_sizes`, with the state's own rounding
counted as a term. A unit coupled to nothing the cost sees keeps its large
terms to itself (``|H^-1|`` does not carry them across). The derivatives are
central differences of the compiled float64 functions (a size needs two or
three digits, not thirty), a few coordinates at a time so that no (n, p, n)
array exists. This is first-order error propagation, not a tolerance: an
ingredient well above its rounding keeps exactly its own size.
"""

from __future__ import annotations

import mpmath
import numpy as np

__all__ = ["state_spreads", "size", "NAMES"]

#: Problem field -> compiled function evaluated at s0 to get it.
NAMES = {"H": "d2E_ds2", "M": "d2E_dtheta_ds", "C_s": "dC_ds", "C_theta": "dC_dtheta"}

#: Relative step of the central differences (of |s0|_inf), and coordinates per batch.
STEP, BATCH = 1e-6, 16


def state_spreads(compiled, s0, theta, data, *, edge=None):
    """``{name: sum_j |df/ds_j| (|H^-1| |H| |s0|)_j}`` for f = H, M, C_s, C_theta at s0 (float64
    arrays of their shapes), or ``{}`` when s0 = 0 (exact: nothing to round) or H is singular;
    see the module doc. ``edge``: the distance from s0 to the nearest domain edge (the
    differences stay inside it). Entries whose differences are not finite get 0.
    """
    s = np.array([float(x) for x in s0])
    top = float(np.max(np.abs(s))) if s.size else 0.0
    th = np.array([float(x) for x in theta])
    da = np.array([float(x) for x in data])
    d = STEP * top
    if edge is not None:
        d = min(d, float(edge) / 4)
    if not (d > 0 and np.isfinite(d)):
        return {}
    with np.errstate(all="ignore"):
        H = np.asarray(compiled.d2E_ds2(s, th, da), float)
        try:
            carried = np.abs(np.linalg.inv(H)) @ (np.abs(H) @ np.abs(s))  # (|H^-1| T)_j
        except np.linalg.LinAlgError:
            return {}
    if not np.all(np.isfinite(carried)):
        return {}
    return {name: _spread(getattr(compiled, fn), s, th, da, d, carried)
            for name, fn in NAMES.items()}


def size(value, spread):
    """Entry-wise ``max(|value|, spread)`` for an mpmath matrix or a list; ``|value|`` if
    ``spread`` is None."""
    if isinstance(value, mpmath.matrix):
        out = value.apply(abs)
        if spread is not None:
            for i in range(value.rows):
                for j in range(value.cols):
                    out[i, j] = max(out[i, j], mpmath.mpf(float(spread[i, j])))
        return out
    if spread is None:
        return [abs(v) for v in value]
    return [max(abs(v), mpmath.mpf(float(x))) for v, x in zip(value, spread)]


def _spread(fn, s, th, da, d, weight):
    """``sum_j |f(s + d e_j) - f(s - d e_j)| / 2d * weight_j``: f's gradient in s against the
    rounding ``weight`` of each coordinate, per entry."""
    n = s.size
    total = None
    with np.errstate(all="ignore"):
        for start in range(0, n, BATCH):
            idx = np.arange(start, min(n, start + BATCH))
            step = np.zeros((idx.size, n))
            step[np.arange(idx.size), idx] = d
            plus, minus = fn(s + step, th, da), fn(s - step, th, da)
            part = np.abs(np.asarray(plus, float) - np.asarray(minus, float)) / (2 * d)
            part = np.where(np.isfinite(part), part, 0.0)
            part = np.tensordot(weight[idx], part, axes=(0, 0))
            total = part if total is None else total + part
    return total


def through_inverse(A, u, spread):
    """Sizes of ``u = A^-1 b`` when ``b`` carries rounding ``spread``: ``max(|u|, |A^-1| spread)``
    entry by entry (``|u|`` alone when ``spread`` is None or zero). |A^-1| in float64: a size."""
    out = [abs(x) for x in u]
    if spread is None or not np.any(spread):
        return out
    with np.errstate(all="ignore"):
        inv = np.abs(np.linalg.inv(np.array(A.tolist(), dtype=float)))
        carried = inv @ np.asarray(spread, float)
    return [max(a, mpmath.mpf(float(b))) if np.isfinite(b) else a for a, b in zip(out, carried)]
