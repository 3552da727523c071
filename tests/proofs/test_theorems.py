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


@pytest.fixture(scope="module")
def many_params():
    """A model with p = 12 > IFT_ALL_COORDINATES: IFT.cs goes by directions, not coordinates."""
    from eqprop import Model
    from eqprop.proofs.options import resolve
    from eqprop.proofs.problem import prepare
    ws = [f"w{k}" for k in range(12)]
    energy = "(a**2 + b**2 + c**2)/2 + " + " + ".join(
        f"{w}*tanh({'abc'[k % 3]})*tanh({'abc'[(k + 1) % 3]})/{k + 3}" for k, w in enumerate(ws))
    m = Model(energy=energy + " - x*b", cost="(a - y)**2/2 + c**2/4", state=["a", "b", "c"],
              params={w: f"{(k % 5 - 2) / 10}" for k, w in enumerate(ws)},
              data={"x": "0.5", "y": "0.2"})
    P, assumptions, _ = prepare(m, resolve(m, dps=20, engine="gbs", times=[0, 1]))
    assert P is not None and P.p == 12
    return P


def test_ift_uses_directions_beyond_a_few_parameters(many_params):
    P = many_params
    dirs = q.ift_directions(P)
    assert len(dirs) == 6 < P.p  # 3 dense and 3 coordinate directions: 6 solves, not 12
    with mpmath.workdps(P.working_dps):
        rows = [r for r in theorem2.check(P).checks if r.id == "IFT.cs"]
    assert [r.passed for r in rows] == [True]


@pytest.mark.parametrize("k", range(12))
def test_ift_directions_catch_one_wrong_entry_anywhere(many_params, k):
    """The implicit gradient with entry k wrong by 1e-12 of its scale fails IFT.cs, whether or
    not k is among the sampled coordinates (the dense directions see every entry)."""
    P = many_params
    with mpmath.workdps(P.working_dps):
        fd = q.ift_gradient(P)
        exact = q.implicit_gradient(P)
        scale = max(q.gradient_scale(P))
        wrong = list(exact)
        wrong[k] += scale * mpmath.mpf("1e-12")
        rows = [r for r in theorem2.check(P, ift=lambda _P: fd, implicit=lambda _P: wrong,
                                          ep=lambda _P: (wrong, 0, None)).checks
                if r.id == "IFT.cs"]
    assert [r.passed for r in rows] == [False]
