"""The default time grid, and the rates it is measured against.

Float64 estimates are enough here: they place the grid and set the
integration budget, and every number the checks compare is computed at the
working precision elsewhere.
"""

from __future__ import annotations

import mpmath
import numpy as np

__all__ = ["DEFAULT_DECAY", "default_times", "t_infinity", "sbar_decay", "largest_rate"]

#: Sbar_t must have decayed by this factor at the end of the default grid.
DEFAULT_DECAY = mpmath.mpf(10) ** -6


def t_infinity(eig_min, working_dps):
    """A time by which expm(-t H) has decayed below the working precision (None: no decay)."""
    if eig_min <= 0:
        return None
    return float(working_dps * mpmath.log(10) / eig_min) * 1.05


def default_times(decay, *, points=6):
    """0, then t_max / 2^k up to t_max, where ``decay(t_max)`` = 1e-6.

    ``decay(t)`` is |Sbar_t| / |Sbar_0|, non-increasing: the grid follows
    what the compared quantity does, not only the slowest eigenvalue (C_s may
    lie along a fast direction, and Sbar_t then vanishes long before
    exp(-lambda_min t) does).
    """
    lo, hi = 0.0, 1.0
    while decay(hi) > DEFAULT_DECAY and hi < 1e300:  # slow units (E scaled by 1e-16) too
        lo, hi = hi, hi * 2
    while lo == 0 and hi > 1e-300 and decay(hi / 2) <= DEFAULT_DECAY:  # fast decay: t_max << 1
        hi /= 2
    lo = lo or hi / 2
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if decay(mid) > DEFAULT_DECAY else (lo, mid)
    grid = [0.0] + [hi / 2 ** k for k in range(points - 2, -1, -1)]
    return [float(f"{t:.3g}") for t in grid]


def sbar_decay(H, C_s, symmetric, eig_min):
    """t -> |expm(-t H^T) C_s| / |C_s|, in float64 (it only places the default grid).

    From an eigendecomposition where H is symmetric; with C_s = 0 (Sbar
    vanishes), the slowest mode's exp(-lambda_min t) instead.
    """
    import scipy.linalg
    norm0 = mpmath.norm(mpmath.matrix(C_s))
    if norm0 == 0:
        return lambda t: float(mpmath.exp(-eig_min * t))
    A = _float64(H)
    c = np.array([float(x / norm0) for x in C_s])
    if symmetric:
        lam, Q = np.linalg.eigh((A + A.T) / 2)
        coef = Q.T @ c
        return lambda t: float(np.sqrt(np.sum((coef * np.exp(-lam * t)) ** 2)))
    return lambda t: float(np.linalg.norm(scipy.linalg.expm(-t * A.T) @ c))


def _float64(A):
    return np.array([[float(mpmath.re(A[i, j])) for j in range(A.cols)] for i in range(A.rows)])


def largest_rate(H):
    """max |eigenvalue| of H, in float64 on H scaled by its largest entry (an energy x 1e-1000
    has a rate float64 cannot hold): it sets the integration budget, an estimate."""
    top = max([abs(x) for x in H] + [mpmath.mpf(0)])
    if top == 0 or not mpmath.isfinite(top):
        return top
    return top * mpmath.mpf(float(np.max(np.abs(np.linalg.eigvals(_float64(H / top))))))
