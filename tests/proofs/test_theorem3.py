"""Theorem 3's rows (proofs/theorem3.py): a tolerance that no side under test sets."""

import dataclasses

import mpmath

from eqprop import Model
from eqprop.proofs import quantities as q
from eqprop.proofs import theorem3
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare


def test_theorem3s_tolerance_does_not_come_from_a_side_under_test():
    """u(t) for the T3 scale was H^-1 (Sbar_t - C_s) with Sbar_t from the RBP side under
    test: a wrong Sbar along a soft direction widened its own tolerance by cond(H).

    Found by the third hostile review and the math review of the verdict (issue 9)."""
    m = Model(state=["a", "b"], energy="(a**2 + b**2)/2 + c*a*b - x*tanh(a) - w*tanh(a)*tanh(b)",
              cost="(a - y)**2/2", params={"w": "0.01"}, data={"x": "0.5", "y": "0.2", "c": "0.999"})
    P, _, _ = prepare(m, resolve(m, dps=15, engine="gbs"))
    with mpmath.workdps(P.working_dps):
        good = q.rbp_adjoint(P)
        amp = mpmath.norm(mpmath.matrix(P.C_s))
        bad = dataclasses.replace(good, s_bar=[[x + amp * d for x, d in zip(sb, (1, -1))]
                                               for sb in good.s_bar])
        right = theorem3.check(P).checks
        wrong = theorem3.check(P, rbp=lambda _: bad).checks
    for a, b in zip(right, wrong):
        assert a.id == b.id and a.scale == b.scale
        if b.id == "T3.S":
            assert not b.passed
