"""How much of H, M, C_s and C_theta is rounding: the floor under each entry's size.

Newton's s0 is exact only to the rounding of the force it zeroes. Force
component i is a sum of terms; to first order their sizes are
``T_i = sum_z |dg_i/dz| |z|`` over every input z (the state, the parameters,
the data: a constant term such as ``-x`` in ``exp(a) - x`` counts through
x), and it is computed to ``eps T_i``, eps = 10^-w at the working precision
w. The last Newton step solves with H, so s0 carries about
``r = eps |H^-1| T`` per component (:func:`state_rounding`, in units of eps).
A function f(s) evaluated there inherits ``sum_j |df/ds_j| r_j``
(:func:`state_spreads`, again in units of eps).

When f vanishes at the exact fixed point (a vector field whose parameter
derivatives are the state components that happen to be zero there, a cost
whose target is the free output), the computed f is that rounding alone,
and every quantity formed from it is rounding too: measuring two routes to
it against its own size compares noise with noise. So each entry's size is
at least ``10^dps`` times its rounding, the level at which that rounding is
the last reported digit (:func:`size`):

    size(f) = max(|f(s0)|, 10^(dps - w) spread(f)).

An entry well above its rounding keeps exactly its own size (10^(dps - w)
= 10^-10); one that is zero at the exact s0 is measured against the rounding
it is made of. This is first-order error propagation with a model of the
force's rounding, an estimate rather than a bound; it can only lower the
digits a rounding-sized difference needs, never let a difference 10^10 times
the rounding pass. The derivatives are central differences of the compiled
float64 functions (a size needs two or three digits, not thirty), each
coordinate stepped relative to its own size, a few at a time so that no
(n, p, n) array exists. Where float64 cannot resolve a step (a state of size
1e-30) the spread is 0 and the entry keeps its own size.
"""

from __future__ import annotations

import mpmath
import numpy as np

from eqprop.numeric import linalg
from eqprop.symbolic.precision import working

__all__ = ["state_rounding", "state_spreads", "evaluation_rounding", "size", "through_inverse", "term_sizes",
           "NAMES", "COARSER"]

#: Problem field -> compiled function evaluated at s0 to get it.
NAMES = {"H": "d2E_ds2", "M": "d2E_dtheta_ds", "C_s": "dC_ds", "C_theta": "dC_dtheta"}

#: Digits fewer at which :func:`evaluation_rounding` recomputes the ingredients.
COARSER = 10
#: Relative step of the central differences (of each coordinate's size), coordinates per batch.
STEP, BATCH = 1e-6, 16


def state_rounding(compiled, s0, theta, data, measured=None):
    """``(|H^-1| T, T)``: s0's rounding per component and the sizes of the force's terms, both in
    units of the working precision's eps (float64 arrays; ``None`` if H is singular or a
    difference is not finite). See the module doc. ``measured``: the force's evaluation
    rounding (:func:`evaluation_rounding`, eps units), added to T: a force component that
    vanishes along a symmetry (tanh' tanh - tanh tanh') has no first-order terms, only
    rounding."""
    s, th, da = (np.array([float(x) for x in v]) for v in (s0, theta, data))
    n, p = s.size, th.size
    z = np.concatenate([s, th, da])
    with np.errstate(all="ignore"):
        H = np.asarray(compiled.d2E_ds2(s, th, da), float)
        force = _spread(lambda x: compiled.dE_ds(x[..., :n], x[..., n:n + p], x[..., n + p:]),
                        z, np.abs(z))  # sum_z |dg/dz| |z|
        if measured is not None:
            force = force + np.asarray(measured, float)
        try:
            carried = np.abs(np.linalg.inv(H)) @ force
        except np.linalg.LinAlgError:
            return None, force
    if not (np.all(np.isfinite(carried)) and np.all(np.isfinite(force))):
        return None, force
    return carried, force


def state_spreads(compiled, s0, theta, data, carried, *, edge=None):
    """``{name: sum_j |df/ds_j| carried_j}`` for f = H, M, C_s, C_theta at s0 (float64 arrays
    of their shapes; in units of eps), ``carried`` from :func:`state_rounding`; ``{}``
    without it. ``edge``: the distance from s0 to the nearest domain edge (the differences
    stay inside it). Entries whose differences are not finite get 0."""
    if carried is None or not np.any(carried):
        return {}
    s, th, da = (np.array([float(x) for x in v]) for v in (s0, theta, data))
    cap = float(edge) / 4 if edge is not None else None
    return {name: _spread(lambda x, fn=getattr(compiled, fn): fn(x, th, da), s, carried, cap)
            for name, fn in NAMES.items()}


def evaluation_rounding(values, recompute, working_dps):
    """``{name: |f - f_coarse| 10^(w - COARSER)}``: each ingredient's own evaluation rounding
    in units of eps (float64 arrays), measured by recomputing it ``COARSER`` digits lower.

    ``values``: ``{name: value at the working precision}``; ``recompute()`` returns the same
    dict evaluated at the current (lower) precision. This catches what first-order models
    cannot: an entry that is zero in exact arithmetic as a difference of equal terms (H_01
    of a symmetric energy, tanh'' tanh - tanh tanh''), computed as the rounding of those
    terms. At the lower precision that rounding is 10^COARSER times larger; scaled back, it
    is the rounding at the working precision, to within a factor of a few.
    """
    with working(working_dps - COARSER):
        coarse = recompute()
    scale = 10.0 ** (working_dps - COARSER)
    out = {}
    for name, value in values.items():
        a, b = coarse[name], value
        if isinstance(b, mpmath.matrix):  # where either is non-zero (M: 2 of p entries a row)
            diff = np.zeros((b.rows, b.cols))
            both = dict(linalg.nonzeros(a))
            for key, y in linalg.nonzeros(b):
                both[key] = both.get(key, 0) - y
            for (i, j), d in both.items():
                diff[i, j] = float(abs(d)) * scale
        else:
            diff = np.array([float(abs(x - y)) * scale for x, y in zip(a, b)])
        out[name] = np.where(np.isfinite(diff), diff, 0.0)
    return out


def size(value, spread, rounding):
    """Entry-wise ``max(|value|, rounding * spread)`` for an mpmath matrix or a list
    (``rounding`` = 10^(dps - w), see the module doc); ``|value|`` if ``spread`` is None."""
    if isinstance(value, mpmath.matrix):
        out = mpmath.matrix(value.rows, value.cols)
        for (i, j), x in linalg.nonzeros(value):  # the non-zeros, then where the spread is
            out[i, j] = abs(x)
        if spread is not None:
            for i, j in zip(*np.nonzero(np.asarray(spread))):
                i, j = int(i), int(j)
                out[i, j] = max(out[i, j], rounding * mpmath.mpf(float(spread[i, j])))
        return out
    if spread is None:
        return [abs(v) for v in value]
    return [max(abs(v), rounding * mpmath.mpf(float(x))) for v, x in zip(value, spread)]


def through_inverse(A, u, b, spreads, rounding):
    """Sizes of the solution ``u`` of ``A u = b``, entry by entry::

        max(|u|, rounding |A^-1| ((|A| + spread_A) |u| + |b| + spread_b))

    ``rounding`` = 10^(dps - w) (see :func:`size`); ``spreads`` = ``(spread_A,
    spread_b)``, the roundings A and b carry in units of eps (either may be
    None). ``eps |A^-1| (|A| |u| + |b|)`` bounds the solve's own rounding
    (Skeel's componentwise backward error), ``eps |A^-1| (spread_A |u| +
    spread_b)`` the rounding it inherits. An entry of u that is zero in exact
    arithmetic (by symmetry, say) is computed as that rounding, and is
    measured against it. |A^-1| in float64: a size.
    """
    spread_a, spread_b = spreads
    out = [abs(x) for x in u]
    with np.errstate(all="ignore"):
        a = np.array(A.tolist(), dtype=float)
        weight = np.abs(a) + (np.asarray(spread_a, float) if spread_a is not None else 0.0)
        carried = weight @ np.array([float(x) for x in out]) + \
            np.array([float(abs(x)) for x in b])
        if spread_b is not None:
            carried = carried + np.asarray(spread_b, float)
        try:
            carried = np.abs(np.linalg.inv(a)) @ carried
        except np.linalg.LinAlgError:
            return out
    return [max(x, rounding * mpmath.mpf(float(c))) if np.isfinite(c) else x
            for x, c in zip(out, carried)]


def _spread(fn, x, weight, cap=None):
    """``sum_j |f(x + d_j e_j) - f(x - d_j e_j)| / 2 d_j * weight_j``: f's gradient against
    ``weight``, per output entry. Coordinate j is stepped by ``STEP`` times its own size
    (``|x_j|``, or ``weight_j`` for a zero coordinate), at most ``cap``."""
    m = x.size
    d = STEP * np.where(x != 0, np.abs(x), weight)
    if cap is not None:
        d = np.minimum(d, cap)
    total = None
    with np.errstate(all="ignore"):
        for start in range(0, m, BATCH):
            idx = np.arange(start, min(m, start + BATCH))
            idx = idx[(d[idx] > 0) & (weight[idx] > 0)]
            if not idx.size:
                continue
            step = np.zeros((idx.size, m))
            step[np.arange(idx.size), idx] = d[idx]
            plus, minus = np.asarray(fn(x + step), float), np.asarray(fn(x - step), float)
            shape = (idx.size,) + (1,) * (plus.ndim - 1)
            part = np.abs(plus - minus) / (2 * d[idx].reshape(shape))
            part = np.where(np.isfinite(part), part, 0.0)
            part = np.tensordot(weight[idx], part, axes=(0, 0))
            total = part if total is None else total + part
    if total is None:  # nothing moved: the shape of one evaluation, all zero
        total = np.zeros_like(np.asarray(fn(x), float))
    return total


def term_sizes(A, u, c, flow=0):
    """The size of the terms of ``A u + c``, entry by entry: ``sum_j |A_ij| |u_j| + |c_i|``.

    ``A``, ``u`` and ``c`` may be sizes already (:meth:`Problem.size`,
    :func:`.noise.through_inverse`): an entry whose terms vanish in exact
    arithmetic (by symmetry, say) is then measured against the rounding its
    factors carry, not against its own rounding residue. ``flow``
    (:attr:`Problem.flow_level`, for quantities read off integrated flows)
    adds that fraction of the cross scale ``max_j |A_ij| sum_j |u_j|``: an
    integrator controls the error of the whole state vector, so a component
    that is zero in exact arithmetic carries an error of the vector's size.
    """
    fast = linalg.abs_terms(A, u, c, flow)
    if fast is not None:
        return fast
    out = []
    for i in range(len(c)):
        row = [abs(A[i, j]) for j in range(len(u))]
        proper = mpmath.fsum(a * abs(x) for a, x in zip(row, u)) + abs(c[i])
        if flow:
            proper += flow * max(row + [mpmath.mpf(0)]) * mpmath.fsum(abs(x) for x in u)
        out.append(proper)
    return out
