"""Ball arithmetic encloses every value, and the radii built on it are lower bounds.

The enclosures are checked against the expression evaluated by mpmath at
random points of the box (seeded; the seed is in the assertion message);
the certified distances against distances worked out by hand.
"""

import random

import flint
import mpmath
import pytest
import sympy as sp

from eqprop import Model
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare
from eqprop.proofs.radius import basin_radius, certified_basin
from eqprop.symbolic.balls import Unsupported, ball_value, point
from eqprop.symbolic.domain import edge_distance

a, b = sp.symbols("a b")
SEED = 20261127


@pytest.mark.parametrize("expr", [
    a**2 - a, a**3 - 2*a*b, 1 / (2 + a**2), sp.log(1 - a**2 / 4), sp.atanh(a / 2),
    sp.sqrt(3 + a) * sp.exp(-b), sp.tanh(a * b) + sp.erf(b), a**sp.Rational(5, 2) + b**4,
    sp.acos(a / 3) + sp.asinh(b) + sp.atan(a - b), sp.cosh(a) - sp.sinh(b) + sp.tan(a / 4),
])
def test_the_ball_contains_every_value_in_the_box(expr):
    rng = random.Random(f"{SEED}:{expr}")
    centre, radius = {a: sp.Rational(1, 2), b: sp.Rational(-1, 3)}, sp.Rational(1, 4)
    if expr.has(sp.Pow) and any(p.exp == sp.Rational(5, 2) for p in expr.atoms(sp.Pow)):
        radius = sp.Rational(1, 5)  # a stays positive
    env = {s: point(v, radius) for s, v in centre.items()}
    ball = ball_value(expr, env)
    assert ball.is_finite(), expr
    f = sp.lambdify((a, b), expr, "mpmath")
    for _ in range(200):
        x = [float(centre[s]) + float(radius) * rng.uniform(-1, 1) for s in (a, b)]
        value = f(*x)
        assert float(ball.lower()) - 1e-12 <= value <= float(ball.upper()) + 1e-12, \
            (f"seed {SEED}", expr, x, value, ball)


def test_even_powers_keep_their_sign_around_zero():
    """Arb's own power of a ball around 0 is NaN (it goes through log): a^2 must be >= 0."""
    square = ball_value(a**2, {a: flint.arb(0, 0.5)})
    # (Arb rounds radii up to 30 bits: the enclosure is rigorous, a hair wider)
    assert square.is_finite() and float(square.lower()) >= -1e-8
    assert float(square.upper()) <= 0.25 + 1e-8
    assert ball_value(1 - a**2, {a: flint.arb(0, 0.5)}) > 0
    assert ball_value(sp.atanh(a), {a: flint.arb(0, 0.5)}).is_finite()


def test_an_expression_outside_the_evaluator_is_refused():
    with pytest.raises(Unsupported):
        ball_value(sp.gamma(a), {a: flint.arb(1)})


@pytest.mark.parametrize("expr, at, true", [
    (sp.log(1 - a**2), 0, 1),                       # zero gradient: first order gave nothing
    (sp.log(1 - a**2), sp.Rational(1, 2), sp.Rational(1, 2)),   # first order said 0.75
    (sp.tan(a), sp.Rational(3, 2), sp.pi / 2 - sp.Rational(3, 2)),
    (sp.acos(a / 3), sp.Rational(1), 2),
    (a**sp.Rational(5, 2), sp.Rational(1, 10**6), sp.Rational(1, 10**6)),
])
def test_the_edge_distance_is_a_lower_bound(expr, at, true):
    dist, where = edge_distance([expr], {a: at}, [a])
    assert dist is not None and 0 < dist <= sp.N(true), (expr, dist)
    assert dist >= sp.N(true) / 8, (expr, dist)  # and not needlessly small
    assert where


def test_the_basin_of_a_symmetric_minimum_is_proved():
    """E = a^2/2 - a^4/4 at s0 = 0: E''' = 0 there, so the third-derivative estimate is
    infinite; H = 1 - 3 a^2 stays above lambda_min / 2 = 1/2 for |a| <= 1/sqrt(6)."""
    m = Model(state=["a"], energy="a**2/2 - a**4/4 + w*a", cost="(a - y)**2/2",
              params={"w": "0"}, data={"y": "0.1"})
    P, _, _ = prepare(m, resolve(m, dps=20))
    with mpmath.workdps(P.working_dps):
        r = certified_basin(P.system, m, P.s0, P.H, P.eig_min, 4)
        along = basin_radius(P.system, P.s0, P.H, P.eig_min, [mpmath.mpf(1)], m)
    assert r is not None and 0.1 < r <= 1 / mpmath.sqrt(6), r
    assert 0.1 < along <= 1 / mpmath.sqrt(6), along  # proved too, from the finite estimate
