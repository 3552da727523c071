"""Theorem 3: temporal derivatives in EP's nudged phase are RBP's error derivatives.

``Stilde_t = Sbar_t`` (paper 5.4) and ``Thetatilde_t = Thetabar_t``
(paper 5.5) for every t >= 0, with (MATH.md section 4)

    Stilde_t     = -lim (1/beta) dS^beta/dt (s0, t)  = d/dbeta [dE^beta/ds (S^beta(s0, t))]
    Thetatilde_t =  lim (1/beta) (E^beta_theta(S^beta(s0, t)) - E_theta(s0))

Both EP sides are read off ONE nonlinear nudged trajectory started at s0
with complex beta = i h (no second trajectory to subtract, no cancellation
between runs); the RBP sides come from Theorem 1's integrated adjoint.

The precision floor: Stilde_t is ``H u(t) + C_s`` with u the accumulated
deviation, a small difference of large terms once Sbar_t has decayed; the
guard digits absorb the loss, which the row's limit column reports.
"""

from __future__ import annotations

import mpmath

from .report import TheoremResult
from .theorem2 import ep_side

__all__ = ["check"]


def check(problem, s_bar, theta_bar) -> TheoremResult:
    """Compare EP's temporal derivatives with RBP's series ``s_bar``, ``theta_bar``."""
    P = problem
    rows = []
    with mpmath.workdps(P.working_dps):
        times = [mpmath.mpf(t) for t in P.times]
        n, p = P.n, P.p

        def nudged_phase(beta):
            states, _ = P.system.flow(P.s0, times, tol=P.tol, beta=beta)
            out = []
            for s in states:
                out += P.system.grad(s, beta=beta)      # dE^beta/ds = -dS/dt
                out += ep_side(P, beta, s)               # E^beta_theta (or its linearization)
                out += [a - b for a, b in zip(s, P.s0)]  # deviation, for the floor estimate
            return out
        flat = P.derivative(nudged_phase)
        width = n + p + n
        s_tilde, theta_tilde = [], []
        for k, t in enumerate(times):
            row = flat[k * width:(k + 1) * width]
            st = row[:n]
            tt = row[n:n + p]
            u = row[n + p:]
            s_tilde.append(st)
            theta_tilde.append(tt)
            sb = s_bar[k]
            lost = mpmath.log10(max(abs(x) for x in u) / max(max(abs(x) for x in sb), mpmath.mpf(10) ** -P.working_dps)) \
                if any(u) else 0
            limit = P.limit_integrator
            if lost > 1:
                limit += f"; cancellation ~{float(lost):.0f} digits (|u|/|Sbar|)"
            if t == 0:  # Stilde_0 = C_s = Sbar_0 by construction: no evidence
                continue
            rows.append(P.compare("T3.S", "5.4", t, st, sb, limit=limit))
            rows.append(P.compare("T3.Theta", "5.5", t, tt, theta_bar[k], limit=P.limit_integrator))
    return TheoremResult(checks=rows, series={"s_tilde": s_tilde, "theta_tilde": theta_tilde})
