"""Theorem 1 (recurrent backpropagation), paper 3.5-3.8, and its limit.

RBP's error derivatives ``Sbar_t = dL/ds (s0, t)`` and
``Thetabar_t = dL/dtheta (s0, t)`` (definition 3.3, L(s, t) = C(S0(s, t)))
obey the linear ODEs ``d/dt Sbar = -H Sbar`` and ``d/dt Thetabar = -M Sbar``
from ``(C_s, C_theta)``, and ``Thetabar_t -> dJ/dtheta``.

Three independent computations of the same series
(:mod:`eqprop.proofs.quantities`):

1. :func:`rbp_adjoint`: the ODEs 3.5-3.8 integrated as RBP's side network
   would, by the high-order integrator;
2. :func:`rbp_closed_form`: ``expm(-t H)`` (Pade/squaring), no integration;
3. :func:`projected_cost_ds` / :func:`projected_cost_dtheta`: the derivative
   of the NONLINEAR free flow's projected cost L along a random direction of
   s (resp. theta, with s started at s0), by complex step -- no H, no M.

Rows: ``T1.S``/``T1.Theta`` (1 vs 2), ``T1.S.def``/``T1.Theta.def`` (3 vs 1),
``T1.limit`` (1 at the time where expm(-t H) falls below the working
precision, against :func:`implicit_gradient`). Sbar rows are measured
against |C_s| (expm(-t H) is a contraction), Thetabar rows against
|C_theta| + |M| |H^-1 C_s| entry by entry: the sizes of their terms.
"""

from __future__ import annotations

import mpmath

from . import quantities as q
from .report import TheoremResult

__all__ = ["check"]


def check(P, *, adjoint=q.rbp_adjoint, closed_form=q.rbp_closed_form,
          along_s=q.projected_cost_ds, along_theta=q.projected_cost_dtheta,
          implicit=q.implicit_gradient) -> TheoremResult:
    """Rows T1.S, T1.Theta, T1.S.def, T1.Theta.def, T1.limit; the RBP series."""
    R = q.ROUTES
    with P.precision.working():
        rbp = adjoint(P)
        closed = closed_form(P)
        s_size = mpmath.norm(mpmath.matrix(P.size("C_s")))
        th_size = q.gradient_scale(P, flow=True)  # Thetabar is read off integrated flows
        th_terms = q.gradient_terms(P)
        s_terms = mpmath.norm(mpmath.matrix(P.C_s))
        rows = []
        for t, sb, tb, sb_cf, tb_cf in zip(P.times, rbp.s_bar, rbp.theta_bar, closed.s_bar,
                                           closed.theta_bar):
            if t == 0:  # both sides start from (C_s, C_theta) by construction: no evidence
                continue
            rows.append(P.compare("T1.S", "3.5, 3.7", t, sb, sb_cf, scale=[s_size] * P.n,
                                  terms=[s_terms] * P.n,
                                  limit=P.limit_integrator, sides=R["T1.S"]))
            rows.append(P.compare("T1.Theta", "3.6, 3.8", t, tb, tb_cf, scale=th_size, terms=th_terms,
                                  limit=P.limit_integrator, sides=R["T1.Theta"]))

        v = P.random_direction(P.n, "T1.S.def")
        u = P.random_direction(P.p, "T1.Theta.def")
        d_s, d_theta = along_s(P, v), along_theta(P, u)
        u_size = mpmath.fsum(abs(a) * b for a, b in zip(u, th_size))
        u_terms = mpmath.fsum(abs(a) * b for a, b in zip(u, th_terms))
        for t, ds, sb, dth, tb in zip(P.times, d_s, rbp.s_bar, d_theta, rbp.theta_bar):
            if t == 0:  # L(s, 0) = C(s): both sides are C's own derivative, no evidence
                continue
            rows.append(P.compare("T1.S.def", "3.3", t, [ds], [mpmath.fdot(v, sb)],
                                  scale=[s_size], terms=[s_terms], limit=P.limit_integrator,
                                  sides=R["T1.S.def"]))
            rows.append(P.compare("T1.Theta.def", "3.3", t, [dth], [mpmath.fdot(u, tb)],
                                  scale=[u_size], terms=[u_terms], limit=P.limit_integrator,
                                  sides=R["T1.Theta.def"]))
        if rbp.limit is not None:
            rows.append(P.compare("T1.limit", "3.8, 2.3", rbp.t_infinity, rbp.limit, implicit(P),
                                  scale=th_size, terms=th_terms, limit=P.limit_integrator,
                                  sides=R["T1.limit"]))
        return TheoremResult(checks=rows, series={"s_bar": rbp.s_bar, "theta_bar": rbp.theta_bar},
                             extra={"rbp_limit": rbp.limit, "t_infinity": rbp.t_infinity,
                                    "adjoint_evaluations": rbp.evaluations})
