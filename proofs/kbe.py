"""The Kolmogorov backward equation (paper A.3), a lemma behind Theorem 1.

For every state s and time t, ``dL/dt (s, t) = -dE/ds(s) . dL/ds (s, t)``
with ``L(s, t) = C(S0(s, t))``. Checked at random states away from the fixed
point (where the flow is genuinely nonlinear), at every time of the grid:

- left side: the chain rule at the END of the trajectory,
  ``dL/dt = C_s(S(t)) . dS/dt = -C_s(S(t)) . dE/ds(S(t))``;
- right side: the derivative at the START, along the direction
  ``-dE/ds(s)``, of the projected cost, by complex step on the initial state.
"""

from __future__ import annotations

import mpmath

from .report import TheoremResult

__all__ = ["check"]


def check(problem, *, samples=1) -> TheoremResult:
    P = problem
    rows = []
    with mpmath.workdps(P.working_dps):
        times = [mpmath.mpf(t) for t in P.times]
        for k in range(samples):
            rng = P.rng(f"KBE:{k}")
            s = [a + mpmath.mpf(rng.randint(-500, 500)) / 1000 for a in P.s0]
            g = P.system.grad(s)
            states, _ = P.system.flow(s, times, tol=P.tol)
            lhs = [-mpmath.fdot(P.system.dC_ds(x), P.system.grad(x)) for x in states]

            def along(e, s=s, g=g):
                start = [a + e * b for a, b in zip(s, g)]
                out, _ = P.system.flow(start, times, tol=P.tol)
                return [P.system.cost(x) for x in out]
            rhs = [-d for d in P.derivative(along)]
            for t, a, b in zip(times, lhs, rhs):
                rows.append(P.compare("KBE", "A.3", t, [a], [b], limit=P.limit_integrator))
    return TheoremResult(checks=rows)
