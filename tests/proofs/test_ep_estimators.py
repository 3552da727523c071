"""proofs/ep_estimators.py: the estimators' formulas, against closed forms computed here."""

import mpmath
import pytest

from eqprop.proofs import ep_estimators as est


class _Known:
    """A stand-in problem whose readout is a known analytic function g(beta) of one
    parameter, so that each estimator's error has a closed form."""

    holomorphic = True
    p = 1

    def __init__(self, g):
        self.g = g
        self.s0 = [mpmath.mpf(0)]


@pytest.fixture
def known(monkeypatch):
    def make(g):
        P = _Known(g)
        monkeypatch.setattr(est.q, "ep_readout", lambda P, s, beta: [P.g(beta)])
        monkeypatch.setattr(est.q, "nudged_fixed_point", lambda P, beta, near=None, **_: [beta])
        return P
    return make


@pytest.mark.parametrize("N", [1, 2, 3, 4, 8, 16, 32])
def test_the_n_point_estimator_aliases_exactly_the_coefficients_n_apart(known, N):
    """g = exp: a_m = 1/m!, so D_N(r) - g'(0) = sum_{k>=1} r^(kN) / (kN + 1)! (computed here
    term by term, not by the estimator), to the rounding of values of size 1 at 60 digits;
    at r = 0.9 the aliased terms stay far above that rounding up to N = 32 (4e-39)."""
    with mpmath.workdps(60):
        P = known(mpmath.exp)
        r = mpmath.mpf("0.9")
        value = est.holomorphic(P, r, N)[0]
        alias = mpmath.nsum(lambda k: r ** (k * N) / mpmath.factorial(k * N + 1), [1, mpmath.inf])
        assert alias > mpmath.mpf(10) ** -40
        assert abs(mpmath.re(value) - 1 - alias) < mpmath.mpf(10) ** -55


def test_one_sided_of_either_sign_and_centered(known):
    with mpmath.workdps(40):
        P = known(lambda b: mpmath.exp(2 * b))   # g'(0) = 2
        b = mpmath.mpf("1e-3")
        assert abs(est.one_sided(P, b)[0] - (mpmath.exp(2 * b) - 1) / b) < mpmath.mpf(10) ** -35
        assert abs(est.one_sided(P, -b)[0] - (mpmath.exp(-2 * b) - 1) / -b) < mpmath.mpf(10) ** -35
        assert abs(est.centered(P, b)[0] - mpmath.sinh(2 * b) / b) < mpmath.mpf(10) ** -35


def test_the_wrong_orientation_picks_another_coefficient(known):
    """w^+k instead of w^-k: D = a_(N-1) r^(N-2) + ...; for exp and N = 4, r^2/3! + ..., far
    from g'(0) = 1 (the negative control of the order rows)."""
    with mpmath.workdps(40):
        P = known(mpmath.exp)
        r = mpmath.mpf("0.1")
        wrong = mpmath.re(est.holomorphic(P, r, 4, orientation=1)[0])
        assert abs(wrong - r ** 2 / 6) < r ** 5


def test_errors_against_hand_computed_values():
    e = est.errors([mpmath.mpf(1), mpmath.mpf(2)], [mpmath.mpf(1), mpmath.mpf(1)])
    assert e.absolute == 1
    assert abs(e.relative - 1 / mpmath.sqrt(2)) < 1e-15
    assert abs(e.cosine - 3 / mpmath.sqrt(10)) < 1e-15
    assert abs(e.rmse - mpmath.sqrt(mpmath.mpf(1) / 2)) < 1e-15


def test_too_many_points_and_a_non_holomorphic_model_are_refused(known):
    P = known(mpmath.exp)
    with pytest.raises(ValueError):
        est.holomorphic(P, mpmath.mpf("0.1"), est.MAX_POINTS + 1)
    P.holomorphic = False
    with pytest.raises(est.ComputationBreakdown):
        est.holomorphic(P, mpmath.mpf("0.1"), 4)
    with pytest.raises(est.ComputationBreakdown):
        est.complex_step(P)


def test_a_float64_start_ends_at_the_same_nudged_fixed_point(monkeypatch):
    """Newton's first steps in complex128 (``nudged_fixed_point(..., float64=True)``) end where
    Newton from s0 ends, to the working precision, with fewer steps at that precision; a
    perturbed system (its perturbation is not in the compiled kernels) too."""
    from problems import prepared

    from eqprop.proofs.mutations import mutate
    P = prepared("two", "gbs", dps=30)
    steps = []

    def counted(*args, **kwargs):
        out = newton(*args, **kwargs)
        steps.append(out[2])
        return out
    newton = est.q.newton
    monkeypatch.setattr(est.q, "newton", counted)
    with P.precision.working():
        for problem in (P, mutate(P, "H", "1e-2")):
            for beta in (mpmath.mpf("0.4"), mpmath.mpc("-0.3", "0.5")):
                plain = est.q.nudged_fixed_point(problem, beta)
                fast = est.q.nudged_fixed_point(problem, beta, float64=True)
                assert max(abs(a - b) for a, b in zip(plain, fast)) < mpmath.mpf(10) ** -35
                if problem is P:
                    assert steps[-1] < steps[-2], steps
