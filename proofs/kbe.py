"""The Kolmogorov backward equation (paper A.3), a lemma behind Theorem 1.

For every state s and time t, ``dL/dt (s, t) = -dE/ds(s) . dL/ds (s, t)``
with ``L(s, t) = C(S0(s, t))``. Checked at random states away from the fixed
point (where the flow is genuinely nonlinear), at every time of the grid:

- left side (:func:`~eqprop.proofs.quantities.kbe_chain_rule`): the chain
  rule at the END of the trajectory, ``-C_s(S_t) . dE/ds(S_t)``;
- right side (:func:`~eqprop.proofs.quantities.kbe_directional`): the
  derivative at the START, along ``-dE/ds(s)``, of the projected cost, by
  complex step on the initial state.

Each row is measured against ``sum_i |C_s,i dE/ds_i|`` at S_t, the size of
the terms of the left side.
"""

from __future__ import annotations

import mpmath

from . import quantities as q
from .report import TheoremResult

__all__ = ["check"]


def check(P, *, chain_rule=q.kbe_chain_rule, directional=q.kbe_directional,
          samples=1) -> TheoremResult:
    """Rows ``KBE`` at every time, for ``samples`` random starting states."""
    rows = []
    with P.precision.working():
        for s in q.kbe_points(P, samples):
            lhs, sizes = chain_rule(P, s)
            rhs = directional(P, s)
            for t, a, b, size in zip(P.times, lhs, rhs, sizes):
                if t == 0:  # both sides are -C_s . dE/ds at s: no evidence
                    continue
                rows.append(P.compare("KBE", "A.3", t, [a], [b], scale=[size],
                                      limit=P.limit_integrator, sides=q.ROUTES["KBE"]))
    return TheoremResult(checks=rows)
