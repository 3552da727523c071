"""Each theorem's check called directly on a prepared problem: its rows, its sides."""

import mpmath
import pytest

from eqprop.proofs import kbe, quantities as q, theorem1, theorem2, theorem3

ROWS = {kbe.check: {"KBE"}, theorem1.check: {"T1.S", "T1.Theta", "T1.S.def", "T1.Theta.def", "T1.limit"},
        theorem2.check: {"T2", "IFT.cs", "T2.bias1", "T2.bias2"}, theorem3.check: {"T3.S", "T3.Theta"}}


@pytest.mark.parametrize("check", list(ROWS), ids=lambda c: c.__module__.split(".")[-1])
def test_each_check_produces_its_rows_and_they_pass(problem, check):
    with mpmath.workdps(problem.working_dps):
        rows = check(problem).checks
    assert {r.id for r in rows} == ROWS[check]
    assert all(r.passed and r.testable for r in rows), [(r.id, r.t, r.digits) for r in rows]
    assert all(r.t is None or r.t > 0 for r in rows)  # no row at t = 0: both sides agree by construction
    assert all(r.sides == q.ROUTES[r.id] for r in rows)


def test_every_quantity_of_the_gradient_agrees(problem):
    """dJ/dtheta four ways: implicit, integrated RBP limit, EP from real betas, complex-step J."""
    P = problem
    with mpmath.workdps(P.working_dps):
        implicit = q.implicit_gradient(P)
        others = [q.rbp_adjoint(P).limit, q.ep_gradient(P)[0], q.ift_gradient(P)]
        for other in others:
            assert max(abs(a - b) for a, b in zip(implicit, other)) < mpmath.mpf(10) ** -18
