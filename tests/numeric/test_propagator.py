"""A complex-step flow that starts at rest, solved by its propagator (numeric/propagator.py).

Against the same flows integrated (gbs, or heyoka where installed), for every side that uses
them; and only where it applies: a start not at rest, a non-holomorphic model, a perturbation
that is not infinitesimal are integrated. The seeds are the problems' own (printed).
"""

import dataclasses

import mpmath
import pytest
from problems import prepared as _problem

from eqprop import Model
from eqprop.numeric.differences import digits_of_agreement
from eqprop.proofs import quantities as q
from eqprop.proofs.mutations import mutate
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare


def _sides(P):
    """Every side that runs a complex-step flow from s0, flattened."""
    v, u = P.random_direction(P.n, "fast:v"), P.random_direction(P.p, "fast:u")
    ep = q.ep_temporal_derivatives(P)
    return (q.projected_cost_ds(P, v) + q.projected_cost_dtheta(P, u)
            + [x for row in ep.s_tilde + ep.theta_tilde + ep.u for x in row])


@pytest.mark.parametrize("name", ["two", "field", "paper"])
def test_the_propagator_gives_what_integration_gives(name, engine):
    P = _problem(name, engine)
    with mpmath.workdps(P.working_dps):
        beta = mpmath.mpc(0, P.h)
        fast = P.system.flow(P.s0, P.times, tol=P.tol, beta=beta, rest=P.rest)
        assert fast.stats.get("propagator"), fast.stats
        got = _sides(P)
        # the reference integrated with 10 more digits and a tolerance 10^10 tighter than the
        # checks' (10^-(dps + 5) per step): what limits the agreement is the fast route's own
        # working precision, dps + 10 digits, less what entries small against their terms lose
        # (measured 33.7-35.7 digits, each entry against itself; the flows integrated at the
        # checks' own tolerance agree with the reference to 29-31)
        with mpmath.workdps(P.working_dps + 10):
            want = _sides(dataclasses.replace(P, rest=None, tol=P.tol * mpmath.mpf(10) ** -10))
        digits, err, top = digits_of_agreement(got, want, cap=P.working_dps)
        print(name, engine, "digits", digits, "largest difference", mpmath.nstr(err, 3))
        assert digits >= P.dps + 3, (digits, err, top)


@pytest.mark.parametrize("ingredient", ["s0", "rhs"])
def test_a_start_not_at_rest_is_integrated(ingredient):
    P = mutate(_problem("two", "gbs"), ingredient, "1e-10")
    with mpmath.workdps(P.working_dps):
        flow = P.system.flow(P.s0, P.times, tol=P.tol, beta=mpmath.mpc(0, P.h), rest=P.rest)
    assert not flow.stats.get("propagator") and flow.stats["steps"] > len(P.times), flow.stats


def test_a_non_holomorphic_model_has_no_propagator():
    m = Model(energy="(a**2 + b**2)/2 - w*Abs(a - 1)*b - x*b", cost="(b - y)**2/2",
              state=["a", "b"], params={"w": "0.3"}, data={"x": "0.5", "y": "0.2"})
    P, _, _ = prepare(m, resolve(m, dps=20))
    assert P is not None and P.rest is None and not P.holomorphic


def test_a_perturbation_that_is_not_infinitesimal_is_integrated():
    """Found by review: a start s0 + i y with y = O(1) passed every premise but the real part's
    (F''[y, y] / 2 moves it): the propagator returned a linear answer to a nonlinear flow."""
    m = Model(energy="(a**2 + b**2)/2 - c*a**2*b - x*a", cost="(a - y)**2/2", state=["a", "b"],
              params={"c": "0.3"}, data={"x": "0", "y": "0.2"})
    P, _, _ = prepare(m, resolve(m, dps=20, times=[0, 0.5, 1, 2]))
    with mpmath.workdps(P.working_dps):
        start = [mpmath.mpc(0, "0.5"), mpmath.mpc(0, "0.25")]
        flow = P.system.flow(start, P.times, tol=P.tol, rest=P.rest)
        assert not flow.stats.get("propagator"), flow.stats
        # the same direction at the complex step's size: linear, solved by the propagator
        tiny = [x * P.h for x in start]
        assert P.system.flow(tiny, P.times, tol=P.tol, rest=P.rest).stats.get("propagator")


def test_a_residual_above_the_working_precision_is_integrated():
    """Found by review: a start at rest only to the fixed-point test (10^-(dps+2)) lost 8
    digits to the cross term F''[d, y]; the propagator needs rest to 10^-(w-5)."""
    P = _problem("two", "gbs")
    with mpmath.workdps(P.working_dps):
        g = P.system.dEbeta_ds(P.s0)
        H = P.system.d2Ebeta_ds2(P.s0)
        # s0 moved along H^-1 so that the force is 10^-(dps+4) of its terms: accepted by the
        # fixed-point test, far from rest at the working precision
        shift = mpmath.lu_solve(H, mpmath.matrix([mpmath.mpf(10) ** -(P.dps + 4)] * P.n))
        start = [a + b for a, b in zip(P.s0, shift)]
        flow = P.system.flow(start, P.times, tol=P.tol, beta=mpmath.mpc(0, P.h), rest=P.rest)
        assert not flow.stats.get("propagator"), flow.stats
        assert max(abs(x) for x in g) <= P.rest
