"""Theorem 1 (recurrent backpropagation), paper 3.5-3.8, and its limit.

RBP's error derivatives ``Sbar_t = dL/ds (s0, t)`` and
``Thetabar_t = dL/dtheta (s0, t)`` (definition 3.3, L(s, t) = C(S0(s, t)))
obey the linear ODEs ``d/dt Sbar = -H Sbar`` and ``d/dt Thetabar = -M Sbar``
from ``(C_s, C_theta)``, and ``Thetabar_t -> dJ/dtheta``.

Three independent computations of the same series:

1. ``adjoint``: the ODEs 3.5-3.8 integrated as RBP's side network would,
   by the high-order integrator;
2. ``closed form``: ``expm(-t H)`` (mpmath's Pade/squaring), no integration;
3. ``definition``: the derivative of the NONLINEAR free flow's projected
   cost L along a random direction of s (resp. theta, with s started at s0),
   by complex step -- no H, no M, no adjoint.

Rows: ``T1.S``/``T1.Theta`` (1 vs 2), ``T1.S.def``/``T1.Theta.def`` (1 vs 3),
``T1.limit`` (Thetabar integrated to the time where expm(-t H) falls below
the working precision, against the implicit-function gradient).
"""

from __future__ import annotations

import mpmath

from eqprop.numeric.highprec import adjoint_closed_form, adjoint_flow

from .report import TheoremResult

__all__ = ["check", "implicit_gradient"]


def implicit_gradient(problem):
    """dJ/dtheta = C_theta - M H^-T C_s (implicit function theorem)."""
    z = mpmath.lu_solve(problem.H.T, mpmath.matrix(problem.C_s))
    return list(mpmath.matrix(problem.C_theta) - problem.M * z)


def t_infinity(problem):
    """A time by which expm(-t H) has decayed below the working precision.

    None when s0 does not attract (smallest eigenvalue <= 0): the limit of
    Thetabar_t then does not exist.
    """
    if problem.eig_min <= 0:
        return None
    return float(problem.working_dps * mpmath.log(10) / problem.eig_min) * 1.05


def check(problem) -> TheoremResult:
    P = problem
    with mpmath.workdps(P.working_dps):
        times = [mpmath.mpf(t) for t in P.times]
        t_inf = t_infinity(P)
        grid = times + ([mpmath.mpf(t_inf)] if t_inf is not None else [])
        flow, integ = adjoint_flow(P.H, P.M, P.C_s, P.C_theta, grid, tol=P.tol)
        rows, s_bar, theta_bar = [], [], []
        for t, (sb, tb) in zip(times, flow):
            s_bar.append(sb)
            theta_bar.append(tb)
            if t == 0:  # both sides start from (C_s, C_theta) by construction: no evidence
                continue
            sb_cf, tb_cf = adjoint_closed_form(P.H, P.M, P.C_s, P.C_theta, t)
            rows.append(P.compare("T1.S", "3.5-3.6", t, sb, sb_cf, limit=P.limit_integrator))
            rows.append(P.compare("T1.Theta", "3.7-3.8", t, tb, tb_cf, limit=P.limit_integrator))

        # definition 3.3 along random directions, on the nonlinear free flow
        v = P.random_direction(P.n, "T1.S.def")
        u = P.random_direction(P.p, "T1.Theta.def")
        theta = P.system.theta()

        def along_s(e):
            start = [a + e * b for a, b in zip(P.s0, v)]
            states, _ = P.system.flow(start, times, tol=P.tol)
            return [P.system.cost(s) for s in states]

        def along_theta(e):
            th = [a + e * b for a, b in zip(theta, u)]
            states, _ = P.system.flow(P.s0, times, tol=P.tol, theta=th)
            return [P.system.cost(s, th) for s in states]

        d_s = P.derivative(along_s)
        d_theta = P.derivative(along_theta)
        for t, ds, sb, dt, tb in zip(times, d_s, s_bar, d_theta, theta_bar):
            proj_s = mpmath.fdot(v, sb)
            proj_t = mpmath.fdot(u, tb)
            rows.append(P.compare("T1.S.def", "3.3", t, [ds], [proj_s], limit=P.limit_integrator,
                                  scale=mpmath.norm(mpmath.matrix(sb))))
            rows.append(P.compare("T1.Theta.def", "3.3", t, [dt], [proj_t], limit=P.limit_integrator,
                                  scale=mpmath.norm(mpmath.matrix(tb))))

        implicit = implicit_gradient(P)
        rbp_limit = flow[-1][1] if t_inf is not None else None
        if t_inf is not None:
            rows.append(P.compare("T1.limit", "3.8, 2.3", t_inf, rbp_limit, implicit,
                                  limit=P.limit_integrator))
        return TheoremResult(
            checks=rows,
            series={"s_bar": s_bar, "theta_bar": theta_bar},
            extra={"implicit": implicit, "rbp_limit": rbp_limit, "t_infinity": t_inf,
                   "adjoint_evaluations": integ.evaluations})
