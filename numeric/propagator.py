"""A complex-step flow that starts at rest, solved by its propagator instead of integrated.

The definition rows and Theorem 3 differentiate a flow by a complex step:
they start it at the free fixed point s0 and put the perturbation of size
h = 10^-(2 w) (w the working digits) into the imaginary part of the start,
of theta or of beta. Write the state as ``s0 + d_t + i y_t``. Because
``h^2`` lies far below the working precision, the force ``F = -dE^beta/ds``
evaluated on such a state is, in the arithmetic the flow is computed in,

    F(s0 + d + i y) = F0 + J d + i (J y + b),

with ``J`` the Jacobian of the force at (s0, Re theta, Re beta), ``F0`` the
force's residual at s0 (zero up to the rounding Newton left) and ``b`` the
imaginary part of the force at s0 (``-h dC/ds`` for the nudged phase,
``-h M^T u`` for a step on theta, 0 for a step on the start). The flow is
then linear with constant coefficients, and its exact solution is

    d_t + i y_t = expm(t J) (d_0 + i y_0) + int_0^t expm(r J) dr (F0 + i b),

one matrix exponential of ``[[J, F0, b], [0, 0, 0], [0, 0, 0]]`` per time
step of the grid, in Arb balls (python-flint) where each result carries a
rigorous bound on the exponential's own error.

The neglected terms: the second and third derivatives of F along y, O(h^2)
relative to what is kept; and the cross term ``F''[d, y]``, of relative size
``|d| |F''| / |J|``, which is why the start must be at rest to the working
precision (|F0| within ``rest``, 10^-(w - 5) of the force's terms in the
proofs), not merely to the fixed-point test's 10^-(dps + 2): a residual in
between is integrated.

``J`` is built from the force alone, column by column, by n complex steps
(``J e_j = Im F(s0 + i h e_j) / h``): the Hessian kernel RBP uses does not
enter, so the two sides of the rows stay independent. The premises are
checked, not assumed: the start at rest; every ball of the result within
2^-(prec + 4) of the largest entry of its vector (the rows measure errors
against the size of the terms, so this is the accuracy they need); and the
force evaluated at the end state equal to the linear model, its imaginary
part ``J y + b`` and its real part ``F0 + J d`` to 2^30 units of rounding
of the imaginary terms (the real part also to ``rest``): a perturbation
that is not infinitesimal shows as half the second derivative along y in
the real part. Where any of these
fails, :func:`rest_flow` returns None and the caller integrates the flow as
before. Cost: n + 2 evaluations of the force (2 once J is kept) and a
few Arb exponentials, instead of thousands of evaluations by
Gragg-Bulirsch-Stoer.
"""

from __future__ import annotations

import mpmath

from eqprop.symbolic.precision import arb_bits

from . import linalg
from .integrate import check_time

__all__ = ["rest_flow", "EXTRA_BITS"]

#: Bits above the working precision for the exponentials (tried in turn: the balls must hold).
EXTRA_BITS = (32, 96, 224)

_re, _im = mpmath.re, mpmath.im


def rest_flow(force, force_real, start, grid, *, rest, cache=None):
    """States of the complex-step flow ``ds/dt = force(s)`` from ``start``, at ``grid``; or None.

    ``force`` is the right-hand side with the (possibly complex) theta and
    beta of the flow, ``force_real`` the same with their real parts; both
    take and return lists of mpmath numbers. ``start``: the state at
    ``grid[0]`` (mpmath numbers, the real part at rest). ``rest``: the
    largest |Re force(Re start)| at which the start counts as a fixed point
    (``Problem.rest``: 10^-(w - 5) of the force's terms at s0). ``cache``: a dict in which the
    Jacobian at the same real point is kept between calls (the definition
    rows and Theorem 3 share it). Returns ``(states, stats)`` with states as
    mpmath numbers, or None where the flow is not such a flow (see the
    module docstring).
    """
    if linalg.backend() != "flint" or rest is None:
        return None
    s_re = [_re(x) for x in start]
    y0 = [_im(x) for x in start]
    at_start = force(s_re)
    f0 = [_re(x) for x in at_start]
    b = [_im(x) for x in at_start]
    if not all(mpmath.isfinite(x) for x in f0 + b) or max(abs(x) for x in f0) > rest:
        return None
    key = (tuple(s_re), mpmath.mp.prec)
    J = cache.get(key) if cache is not None else None
    evaluations = 1
    if J is None:
        J, used = _jacobian(force_real, s_re, y0, b)
        if J is None:
            return None
        evaluations += used
        if cache is not None:
            cache[key] = J
    for extra in EXTRA_BITS:
        states = _propagate(J, f0, b, s_re, y0, grid, extra)
        if states is not None:
            break
    else:
        return None
    if not _affine_at(force, states[-1], J, f0, b, s_re, rest):
        return None
    return states, {"evaluations": evaluations + 1, "steps": len(grid) - 1, "propagator": True}


def _jacobian(force_real, s_re, y0, b):
    """J, column by column: ``Im force_real(s0 + i h e_j) / h``, h the flow's own imaginary scale."""
    n = len(s_re)
    h = max([abs(x) for x in y0] + [mpmath.mpf(0)]) or mpmath.mpf(2) ** (-2 * mpmath.mp.prec)
    J = mpmath.matrix(n, n)
    for j in range(n):  # force_real is real at the real point s0: no base value to subtract
        check_time("integration steps")
        probe = [mpmath.mpc(x, h if k == j else 0) for k, x in enumerate(s_re)]
        col = force_real(probe)
        for i in range(n):
            v = _im(col[i]) / h
            if not mpmath.isfinite(v):
                return None, j + 1
            J[i, j] = v
    return J, n


def _propagate(J, f0, b, s_re, y0, grid, extra):
    """The states at ``grid`` by exponentials of the augmented matrix; None if a ball is too wide."""
    flint = linalg.flint
    n = J.rows
    with arb_bits(mpmath.mp.prec + linalg.GUARD_BITS + extra):
        # the constant columns F0 and b scaled to unit size, their sizes moved into the
        # constant unknowns they multiply: Arb bounds the exponential's error entry-wise
        # against the matrix's size, and F0 and b are many orders below J
        sizes = [max([abs(x) for x in v] + [mpmath.mpf(0)]) or mpmath.mpf(1) for v in (f0, b)]
        A = flint.arb_mat(n + 2, n + 2)
        for i in range(n):
            for j in range(n):
                if J[i, j]:
                    A[i, j] = flint.arb(J[i, j])
            A[i, n] = flint.arb(f0[i] / sizes[0])
            A[i, n + 1] = flint.arb(b[i] / sizes[1])
        re = flint.arb_mat(n + 2, 1)
        im = flint.arb_mat(n + 2, 1)
        re[n, 0] = flint.arb(sizes[0])
        im[n + 1, 0] = flint.arb(sizes[1])
        for i in range(n):
            im[i, 0] = flint.arb(y0[i])
        out = [_state(s_re, re, im, n)]
        powers = {}
        for t0, t1 in zip(grid, grid[1:]):
            check_time("integration steps")
            dt = mpmath.mpf(t1) - mpmath.mpf(t0)
            if dt < 0:
                raise ValueError(f"times must be non-decreasing, got {t1} after {t0}")
            if dt:
                P = _power(A, dt, powers)
                re, im = P * re, P * im
                if not (_tight(re, n, s_re) and _tight(im, n, None)):
                    return None
                re, im = re.mid(), im.mid()
            out.append(_state(s_re, re, im, n))
        return out


def _power(A, dt, powers):
    """expm(dt A) as balls, from a kept exponential at dt / 2 by squaring where there is one
    (keyed by dt to dps + 5 digits: a collision moves the result by 10^-(dps+5) |dt A|, and
    the balls' test catches more)."""
    key = mpmath.nstr(dt, mpmath.mp.dps + 5)
    if key in powers:
        return powers[key]
    half = mpmath.nstr(dt / 2, mpmath.mp.dps + 5)
    if half in powers:
        P = powers[half] * powers[half]
    else:
        P = (A * linalg.flint.arb(dt)).exp()
    powers[key] = P
    return P


def _tight(v, n, base):
    """Every ball of the first n entries holds the working precision of the vector's size."""
    flint = linalg.flint
    mids = [v[i, 0].mid() for i in range(n)]
    if not all(v[i, 0].is_finite() for i in range(n)):
        return False
    top = max([abs(m) for m in mids] + [flint.arb(0)])
    if base is not None:  # the real part sits on s0: its drift counts against |s0| too
        top = max([top] + [abs(flint.arb(x)) for x in base])
    limit = top * flint.arb(2) ** -(mpmath.mp.prec + 4)
    return all(v[i, 0].rad() <= limit for i in range(n)) if top > 0 else True


def _state(s_re, re, im, n):
    return [mpmath.mpc(s_re[i] + linalg._mid(re[i, 0]), linalg._mid(im[i, 0])) for i in range(n)]


def _affine_at(force, state, J, f0, b, s_re, rest):
    """The force at the end state is the linear model: ``J y + b`` in its imaginary part, and
    ``F0 + J d`` in its real part, each to 2^30 units of rounding of the imaginary terms (or
    to ``rest`` for the real part): a perturbation that is not infinitesimal moves the real
    part by half the second derivative along y."""
    n = len(state)
    y = [_im(x) for x in state]
    d = [_re(x) - s for x, s in zip(state, s_re)]
    got = force(state)
    slack = mpmath.mpf(2) ** -(mpmath.mp.prec - 30)
    for i in range(n):
        if not (mpmath.isfinite(_re(got[i])) and mpmath.isfinite(_im(got[i]))):
            return False
        terms = [J[i, j] * y[j] for j in range(n)]
        want = mpmath.fsum(terms) + b[i]
        size = mpmath.fsum(abs(x) for x in terms) + abs(b[i])
        if abs(_im(got[i]) - want) > slack * size:
            return False
        # the real part's departure, F''[y, y] / 2, must be below rounding of the imaginary
        # terms (|y| |F''| / |J| < 2^-(prec-30): y infinitesimal) or of the force at rest
        drift = f0[i] + mpmath.fsum(J[i, j] * d[j] for j in range(n))
        if abs(_re(got[i]) - drift) > max(rest, slack * size):
            return False
    return True
