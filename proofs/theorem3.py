"""Theorem 3: temporal derivatives in EP's nudged phase are RBP's error derivatives.

``Stilde_t = Sbar_t`` (paper 5.4) and ``Thetatilde_t = Thetabar_t``
(paper 5.5) for every t >= 0, with (MATH.md section 4)

    Stilde_t     = -lim (1/beta) dS^beta/dt (s0, t)  = d/dbeta [dE^beta/ds (S^beta(s0, t))]
    Thetatilde_t =  lim (1/beta) (E^beta_theta(S^beta(s0, t)) - E_theta(s0))

Both EP sides come from ONE nudged trajectory started at s0 with complex
beta = i h (:func:`~eqprop.proofs.quantities.ep_temporal_derivatives`; linear
to the working precision, it is solved by its propagator where that applies,
:mod:`eqprop.numeric.propagator`);
the RBP sides from the integrated adjoint
(:func:`~eqprop.proofs.quantities.rbp_adjoint`).

Scale: ``Stilde_t = H u(t) + C_s`` and ``Thetatilde_t = M u(t) + C_theta``
with u(t) the accumulated deviation, so each entry is measured against
``|H| |u| + |C_s|`` (resp. ``|M| |u| + |C_theta|``): once Sbar_t has decayed,
the EP side is a small difference of large terms, and its last digits are
rounding of those terms (the limit column says how many were lost).
"""

from __future__ import annotations

import mpmath

from . import noise
from . import quantities as q
from .report import TheoremResult

__all__ = ["check"]


def check(P, *, ep=q.ep_temporal_derivatives, rbp=q.rbp_adjoint) -> TheoremResult:
    """Rows T3.S and T3.Theta at every t > 0 of the grid; the EP series."""
    rows = []
    with P.precision.working():
        tilde, bar = ep(P), rbp(P)
        # u(t) = H^-1 (Sbar_t - C_s) with Sbar_t in closed form, from the problem alone: never
        # from a side under test (an RBP side wrong by |C_s| along a soft direction of an
        # ill-conditioned H widened its own tolerance by cond(H), and passed)
        reference = q.rbp_closed_form(P).s_bar
        tiny = mpmath.mpf(10) ** -P.working_dps
        for t, st, tt, sb, tb, sref in zip(P.times, tilde.s_tilde, tilde.theta_tilde, bar.s_bar,
                                          bar.theta_bar, reference):
            if t == 0:  # Stilde_0 = C_s = Sbar_0 by construction: no evidence
                continue
            rhs = [a - b for a, b in zip(sref, P.C_s)]
            raw = q.solve(P.H, rhs)
            s_terms, th_terms = (q.term_sizes(P.H, list(raw), P.C_s),
                                 q.term_sizes(P.M, list(raw), P.C_theta))
            u = noise.through_inverse(P.H, raw, rhs,
                                      (P.spreads.get("H"), P.spreads.get("C_s")), P.rounding)
            s_scale, th_scale = (q.term_sizes(P.size("H"), u, P.size("C_s"), P.flow_level),
                                 q.term_sizes(P.size("M"), u, P.size("C_theta"), P.flow_level))
            lost = mpmath.log10(max(s_scale) / max(max(abs(x) for x in sb), tiny))
            limit = P.limit_integrator
            if lost > 1:
                limit += f"; {float(lost):.0f} digits are rounding of |H u| + |C_s| (|Sbar| small)"
            rows.append(P.compare("T3.S", "5.4", t, st, sb, scale=s_scale, terms=s_terms, limit=limit,
                                  sides=q.ROUTES["T3.S"]))
            rows.append(P.compare("T3.Theta", "5.5", t, tt, tb, scale=th_scale, terms=th_terms,
                                  limit=P.limit_integrator, sides=q.ROUTES["T3.Theta"]))
    return TheoremResult(checks=rows, series={"s_tilde": tilde.s_tilde,
                                              "theta_tilde": tilde.theta_tilde})
