"""Fixed points, adjoints and the derivative helper of the high-precision path."""

import mpmath
import pytest
from problems import prepared as _problem

from eqprop import compile_model, derive, quadratic
from eqprop.numeric.highprec import (System, adjoint_closed_form, adjoint_flow, derivative,
                                     digits_of_agreement, newton)
from eqprop.proofs.mutations import mutate


@pytest.fixture(scope="module")
def quad():
    m = quadratic(3)
    theta, data = m.values()
    return m, System(compile_model(derive(m)), theta, data)


def exact_fixed_point(m):
    """s0 = H^-1 b from the parameter values, by hand (H = I - W_sym)."""
    import sympy as sp
    n = len(m.state)
    vals = {s.name: v for s, v in m.params.items()}
    H = sp.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            H[i, j] = H[j, i] = -vals[f"W_{i}_{j}"]
    b = sp.Matrix([vals[f"b_{i}"] for i in range(n)])
    return H, H.LUsolve(b)


def test_newton_finds_the_exact_fixed_point(quad):
    m, system = quad
    H, s0 = exact_fixed_point(m)
    with mpmath.workdps(50):
        s, res, iters = newton(system, [mpmath.mpf(0)] * 3)
        for got, want in zip(s, s0):
            assert abs(got - mpmath.mpf(want.p) / want.q) < mpmath.mpf(10) ** -45
        assert res < mpmath.mpf(10) ** -45
        assert iters <= 3  # linear gradient: one step, one to confirm


def test_adjoint_flow_matches_closed_form(quad):
    m, system = quad
    with mpmath.workdps(40):
        s0, _, _ = newton(system, [mpmath.mpf(0)] * 3)
        H, M = system.d2Ebeta_ds2(s0), system.d2E_dtheta_ds(s0)
        C_s, C_t = system.dC_ds(s0), system.dC_dtheta(s0)
        flow = adjoint_flow(H, M, C_s, C_t, [0, 1, 4], tol=mpmath.mpf(10) ** -35).states
        for t, (sb, tb) in zip([0, 1, 4], flow):
            sb_cf, tb_cf = adjoint_closed_form(H, M, C_s, C_t, mpmath.mpf(t))
            assert digits_of_agreement(sb, sb_cf, cap=40)[0] > 30
            assert digits_of_agreement(tb, tb_cf, cap=40)[0] > 30


def test_derivative_complex_step_and_richardson_agree():
    f = lambda e: [mpmath.exp(1 + e) * mpmath.sin(e + mpmath.mpf(1) / 3)]  # noqa: E731
    with mpmath.workdps(60):
        exact = mpmath.e * (mpmath.sin(mpmath.mpf(1) / 3) + mpmath.cos(mpmath.mpf(1) / 3))
        cs = derivative(f, holomorphic=True, h=mpmath.mpf(10) ** -60)[0]
        rich = derivative(f, holomorphic=False, h=None)[0]
        assert abs(cs - exact) < mpmath.mpf(10) ** -58
        assert abs(rich - exact) < mpmath.mpf(10) ** -35


def test_digits_of_agreement_is_capped_and_honest():
    with mpmath.workdps(30):
        one = [mpmath.mpf(1)]
        assert digits_of_agreement(one, one, cap=15)[0] == 15
        d, err, _ = digits_of_agreement(one, [1 + mpmath.mpf(10) ** -20], cap=50)
        assert 19.9 < d < 20.1
        # an entry measured against the size of its terms: zero by cancellation is not a failure
        d, _, _ = digits_of_agreement([0], [mpmath.mpf(10) ** -40], cap=25, scale=[1])
        assert d == 25
        assert digits_of_agreement([0], [mpmath.mpf(10) ** -10], cap=25, scale=[1])[0] == 10
        # without terms, relative to the sides; nothing is absolute (scaling changes nothing)
        assert digits_of_agreement([0], [mpmath.mpf(10) ** -40], cap=25)[0] == 0
        assert digits_of_agreement([0], [mpmath.mpf(10) ** -90], cap=25)[0] == 0
        # an entry zero at the reported precision against the row (all its terms vanish) is
        # measured against the row's largest size; one with a size of its own, against that
        row = [mpmath.mpf(1), mpmath.mpf(0)]
        assert digits_of_agreement(row, [1, mpmath.mpf(10) ** -40], cap=25, scale=[1, 0])[0] == 25
        # ... but a side of that entry that is not zero at the reported precision disagrees
        assert digits_of_agreement(row, [1, mpmath.mpf(10) ** -18], cap=25, scale=[1, 0])[0] == 0
        # an entry with terms of its own, however small against the row, keeps its own size:
        # a factor-2 error or a sign error in it fails (found by a review of the floor rule)
        with mpmath.workdps(70):
            tiny = [mpmath.mpf(1), mpmath.mpf(10) ** -60]
            assert digits_of_agreement(tiny, [1, 2 * tiny[1]], cap=50, scale=[1, tiny[1]])[0] < 11
            assert digits_of_agreement(tiny, [1, -tiny[1]], cap=50, scale=[1, tiny[1]])[0] < 11
        small = [mpmath.mpf(1), mpmath.mpf(10) ** -20]
        d = digits_of_agreement(small, [1, small[1] * (1 + mpmath.mpf(10) ** -8)], cap=25)[0]
        assert 7.9 < d < 8.1
        tiny = mpmath.mpf(10) ** -80
        d, _, _ = digits_of_agreement([tiny], [tiny * (1 + mpmath.mpf(10) ** -20)], cap=25)
        assert 19.9 < d < 20.1
        # entry by entry: a small entry's error is not hidden by a large one
        d, _, _ = digits_of_agreement([1, mpmath.mpf("1e-10")], [1, mpmath.mpf("1.001e-10")], cap=30)
        assert 2.9 < d < 3.1


def test_newton_does_not_accept_the_linear_convergence_of_a_double_root():
    """E' = (s - 1)^2: Newton halves its step each time towards the double root, which is no
    strict minimum; that is not the rounding stagnation it may accept (found by a review)."""
    from eqprop import Model
    from eqprop.numeric.highprec import ComputationBreakdown
    from eqprop.proofs.options import resolve
    from eqprop.proofs.problem import prepare
    m = Model(energy="(a - 1)**3/3", cost="(a - y)**2/2 + w*a", state=["a"],
              params={"w": "0.5"}, data={"y": "0.2"})
    P, assumptions, _ = prepare(m, resolve(m, dps=30, engine="gbs", initial_state=[1.000001]))
    assert P is None or not all(a.holds for a in assumptions)


@pytest.mark.parametrize("beta", ["0", "1e-3", "complex"])
def test_newton_from_gmpy_values_agrees_with_the_mpmath_route(beta):
    P = _problem("paper", "gbs")
    with mpmath.workdps(P.working_dps):
        b = mpmath.mpc(0, P.h) if beta == "complex" else mpmath.mpf(beta)
        start = [x + mpmath.mpf("0.01") for x in P.s0]
        fast = P.system.newton_step(start, None, b)
        assert fast is not None
        g = P.system.dEbeta_ds(start, None, b)
        step = mpmath.lu_solve(P.system.d2Ebeta_ds2(start, None, b), g)
        # dE^beta/ds from its own kernel, against dE/ds + beta dC/ds: equal to rounding
        assert max(abs(x - y) for x, y in zip(fast[0], g)) <= \
            mpmath.mpf(10) ** -(P.working_dps - 3) * mpmath.norm(g)
        assert max(abs(x - y) for x, y in zip(fast[1], step)) <= \
            mpmath.mpf(10) ** -(P.working_dps - 3) * mpmath.norm(step)
        if beta == "complex":
            assert max(abs(mpmath.im(x - y)) for x, y in zip(fast[1], step)) <= \
                mpmath.mpf(10) ** -(P.working_dps - 3) * max(abs(mpmath.im(y)) for y in step)
        # a perturbed system takes the mpmath route, and Newton still converges
        Q = mutate(P, "H", "1e-10")
        assert Q.system.newton_step(start, None, b) is None
        s, res, _ = newton(Q.system, P.s0, beta=b)
        assert res <= mpmath.mpf(10) ** -(P.working_dps - 5)
