"""2.3's second route: dJ/dtheta along directions u by the complex step of J(theta + i h u).

Each directional derivative re-solves the free fixed point by Newton at complex
parameters: no adjoint, no nudging, no linear solve with H(s0) beyond Newton's
own (the ``IFT.cs`` row of :mod:`.theorem2`, against the implicit gradient).
"""

from __future__ import annotations

import mpmath

from eqprop.numeric import linalg
from eqprop.numeric.highprec import newton

__all__ = ["IFT_ALL_COORDINATES", "ift_directions", "ift_gradient", "mt"]


#: Up to this many parameters IFT.cs differentiates J along every coordinate.
IFT_ALL_COORDINATES = 8


def ift_directions(P, dense=3, coordinates=3):
    """The directions u in theta space along which :func:`ift_gradient` differentiates J.

    Every coordinate direction while p <= :data:`IFT_ALL_COORDINATES`; beyond,
    ``dense`` random directions with entries drawn from {-1000, ..., 1000}/1000
    (then normalised) and ``coordinates`` random coordinate directions, drawn
    from the seed. Cost: one complex-step fixed point per direction, not per
    parameter. Detection: an error vector d in dJ/dtheta passes a dense
    direction only if u . d = 0 to the row's precision. For d with a single
    wrong entry k that needs u_k = 0, probability 1/2001 per direction, so
    three dense directions miss it with probability below 1.3e-10; for any
    other d, u . d = 0 is one linear condition on u, met by at most one value
    of u_k for each choice of the other entries, the same 1/2001 bound. The
    coordinate directions compare single entries exactly as the
    all-coordinates mode does.
    """
    p = P.p
    if p <= IFT_ALL_COORDINATES:
        return [[mpmath.mpf(int(i == k)) for i in range(p)] for k in range(p)]
    dirs = [P.random_direction(p, f"IFT:{j}") for j in range(dense)]
    rng = P.rng("IFT:coordinates")
    for k in rng.sample(range(p), min(coordinates, p)):
        dirs.append([mpmath.mpf(int(i == k)) for i in range(p)])
    return dirs


def ift_gradient(P, directions=None):
    """u . dJ/dtheta for each u of :func:`ift_directions`: J(theta + i h u), fixed point re-solved.

    Each directional derivative is the complex step of J along u, the free
    fixed point solved again by Newton at the complex parameters: no adjoint,
    no nudging, no linear solve with H(s0) beyond Newton's own.
    """
    theta = P.system.theta()
    out = []
    for u in directions if directions is not None else ift_directions(P):
        def J(e, u=u):
            th = [a + e * b for a, b in zip(theta, u)]
            s, _, _ = newton(P.system, P.s0, theta=th, im_unit=P.h)
            return [P.system.C(s, th)]
        out.append(P.derivative(J, P.response(mt(P, u)))[0])
    return out


def mt(P, u):
    """M^T u (the force a step u on theta puts on the state), from M's non-zeros."""
    out = [mpmath.mpf(0)] * P.n
    for (k, j), x in linalg.nonzeros(P.M):
        out[j] += x * u[k]
    return out
