"""How far beta -> s^beta and the random points of the KBE row may reach from s0.

Finite steps away from the fixed point (EP's real betas, KBE's random
states) must stay inside three things, each estimated at s0: the radius of
convergence of beta -> s^beta, the nearest edge of a function's real
domain, and the basin of s0 (where H stays definite). The edge and the
basin are proved, not estimated, where Arb's ball arithmetic can
(:mod:`eqprop.symbolic.balls`).
"""

from __future__ import annotations

import flint
import mpmath

from eqprop.numeric import linalg
from eqprop.symbolic import balls
from eqprop.symbolic.domain import edge_distance
from eqprop.symbolic.precision import arb_bits, working

__all__ = ["radius_at_s0", "basin_radius", "certified_basin"]


def radius_at_s0(model, system, s0, H, C_s, eig_min, fixed):
    """``(edge distance, the edge's function, radius)``: how far s0 is from a domain edge, and
    beta -> s^beta's radius.

    Three things bound the radius of convergence of beta -> s^beta at 0,
    each estimated: the cost's curvature against the energy's
    (lambda_min / |d2C/ds2|_F: in one dimension s^beta has its pole there);
    the nearest edge of a function's real domain (s^beta moves at the rate |ds/dbeta| = |H^-1 C_s| and reaches an edge at
    distance d near beta = d / |H^-1 C_s|, where the derivatives of E blow
    up); and the energy's own curvature changing along that path (a fold:
    H(s^beta) loses definiteness about :func:`basin_radius` away, a shallow
    minimum next to a barrier).
    """
    d2C = system.c.d2C_ds2.mp(s0, system.theta(), system.data())
    c_ss = mpmath.mnorm(d2C, "F") if d2C.rows else mpmath.mpf(0)  # >= its 2-norm
    radius = abs(eig_min) / c_ss if c_ss else mpmath.mpf(1)  # 1-D: s^beta's pole at lambda / c
    with working(20):
        try:
            path = linalg.solve(H, C_s)
        except ZeroDivisionError:  # pragma: no cover - H was found definite before
            path = mpmath.matrix(len(C_s), 1)
    rate = mpmath.norm(path)
    if rate > 0:
        radius = min(radius, basin_radius(system, s0, H, eig_min, [x / rate for x in path], model) / rate)
    edge, where = edge_distance(model.expressions, {**fixed, **dict(zip(model.state, s0))},
                                model.state, digits=mpmath.mp.dps, fixed=frozenset(model.data))  # s0's own digits
    if edge is None:
        return None, None, radius
    edge = mpmath.mpf(str(edge))
    if rate > 0:
        radius = min(radius, edge / rate)
    return edge, where, radius


def basin_radius(system, s0, H, eig_min, v, model=None):
    """How far from s0 along the unit ``v`` H stays definite: the minimum's basin.

    The estimate: ``|lambda_min| / |d/de H(s0 + e v)|``, the third derivative
    of E along v by a forward difference of the Hessian (H(s0 + r v) differs
    from H(s0) by about lambda_min at r; for a cubic, exactly the inflection
    point); infinite where that derivative vanishes (a symmetric s0 of an
    even energy). With ``model`` (an energy of at most :data:`CERTIFY_STATES`
    states), the estimate is replaced by a proof: :func:`certified_basin`
    from the estimate (or from the state's size where it is infinite)
    down (capped at 1000 times the state's size), whenever the proof succeeds.
    """
    d = mpmath.mpf(10) ** -(mpmath.mp.dps // 3) * max([abs(x) for x in s0] + [1])
    try:
        moved = system.d2Ebeta_ds2([a + d * b for a, b in zip(s0, v)])
    except (ArithmeticError, ValueError):  # pragma: no cover - outside a domain: no estimate
        return mpmath.inf
    third = mpmath.mnorm(moved - H, "F") / d
    estimate = abs(eig_min) / third if third else mpmath.inf
    if model is None or not model.has_energy or system.n > CERTIFY_STATES:
        return estimate
    start = min(estimate, 1000 * max([abs(x) for x in s0] + [1]))  # 60 halvings reach 1e-15
    proved = certified_basin(system, model, s0, H, eig_min, start)
    return estimate if proved is None else proved


#: Most states whose basin :func:`certified_basin` proves (it evaluates n^2 entries per box).
CERTIFY_STATES = 30


def certified_basin(system, model, s0, H, eig_min, start, *, halvings=60):
    """The largest ``r = start / 2^k`` (k < ``halvings``) such that on the whole box
    ``|s - s0|_inf <= r`` every Hessian eigenvalue stays above lambda_min / 2, or None.

    Each entry of H = d2E/ds2 is enclosed over the box by Arb's ball arithmetic
    (:mod:`eqprop.symbolic.balls`); if the matrix of deviations from H(s0)
    has Frobenius norm below lambda_min / 2, Weyl's inequality keeps H
    positive definite on the box, a proof that the box lies in s0's basin.
    None: a function the balls do not cover, or no box down to the last.
    """
    exprs = system.c.derivs.sympy("d2E_ds2")
    values = {**model.params, **model.data}
    digits = mpmath.mp.dps
    half = float(abs(eig_min)) / 2
    h0 = [[float(H[i, j]) for j in range(system.n)] for i in range(system.n)]
    r = mpmath.mpf(start)
    try:
        with arb_bits(64 + int(3.33 * digits)):
            fixed = {k: balls.point(v, digits=digits) for k, v in values.items()}
            for _ in range(halvings):
                env = {**fixed, **{sym: balls.point(x, r, digits=digits)
                                   for sym, x in zip(model.state, s0)}}
                if _deviation(exprs, env, h0) < half:
                    return r
                r /= 2
    except (balls.Unsupported, ValueError, ArithmeticError):
        return None
    return None


def _deviation(exprs, env, h0):
    """Frobenius norm of the largest deviation of the Hessian's balls from H(s0) (inf if any
    ball is not finite)."""
    total = 0.0
    n = len(h0)
    for i in range(n):
        for j in range(n):
            e = exprs[i, j]
            if e == 0:
                continue
            ball = balls.ball_value(e, env, bits=flint.ctx.prec)
            if not ball.is_finite():
                return float("inf")
            dev = max(abs(float(ball.upper()) - h0[i][j]), abs(float(ball.lower()) - h0[i][j]))
            total += dev * dev
    return total ** 0.5
