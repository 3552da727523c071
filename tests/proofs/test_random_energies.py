"""Property-based: random smooth energies from a grammar satisfy every identity.

Energies are a strongly convex part plus random tanh / sin / Gaussian bumps of
random linear combinations of the state, with bounded second derivatives,
so H is positive definite everywhere and the free phase has one minimum.
Costs are random and may depend on theta.
"""

import os

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from eqprop import Model, Verdict, verify

FUNCS = ["tanh({})", "sin({})", "exp(-({})**2/2)", "tanh({})*tanh({})"]


@st.composite
def energies(draw):
    n = draw(st.integers(2, 3))
    names = [f"s{i}" for i in range(n)]
    terms, params = [f"3*({' + '.join(f'{v}**2' for v in names)})/2"], {}
    for k in range(draw(st.integers(1, 3))):
        f = draw(st.sampled_from(FUNCS))
        combos = []
        for _ in range(f.count("{}")):
            coeffs = draw(st.lists(st.sampled_from([-1, 0, 1]), min_size=n, max_size=n)
                          .filter(lambda c: any(c)))
            combos.append(" + ".join(f"({c})*{v}" for c, v in zip(coeffs, names) if c))
        w = f"w{k}"
        params[w] = str(draw(st.integers(-300, 300)) / 1000)
        terms.append(f"{w}*" + f.format(*combos))
    x = draw(st.integers(-500, 500)) / 1000
    terms.append(f"-x*{names[-1]}")
    target = draw(st.integers(-500, 500)) / 1000
    cost = f"({names[0]} - y)**2/2"
    if draw(st.booleans()):
        cost += f" + w0**2*{names[-1]}/4"  # the cost may depend on theta
    return Model(energy=" + ".join(terms), cost=cost, state=names, params=params,
                 data={"x": str(x), "y": str(target)}, name="random energy")


#: every random test is seeded: the same examples on every run (hypothesis prints a failing one)
SEED = 20261127
ENGINES = ["gbs", "heyoka"]


def _check(model, engine="gbs"):
    if engine == "heyoka":
        pytest.importorskip("heyoka")
    r = verify(model, dps=30, times=[0, 0.7, 2.5], engine=engine)
    if r.verdict is Verdict.INCOMPLETE:  # a cost stationary at s0: every error derivative is 0
        assert any("nothing to compare" in n for n in r.notes), r.table()
        assert all(c.passed for c in r.checks), r.table()
        return
    assert r.verdict is Verdict.VERIFIED, \
        f"seed {SEED}, engine {engine}\n{model.energy}\n{model.cost}\n{r.table()}"
    assert r.min_digits >= 25


# both engines by parametrization, not the engine fixture: hypothesis refuses function-scoped
# fixtures under @given (they would not be reset between its examples)
@pytest.mark.parametrize("engine", ENGINES)
@seed(SEED)
@settings(max_examples=50, derandomize=False)
@given(model=energies())
def test_random_smooth_energies_verify(engine, model):
    _check(model, engine)


@pytest.mark.slow
@seed(SEED + 1)
@settings(max_examples=int(os.environ.get("EQPROP_SLOW_EXAMPLES", "200")), derandomize=False)
@given(model=energies())
def test_random_smooth_energies_verify_many(model):
    _check(model)


def test_vanishing_derivative_regression():
    """Found by hypothesis: w1 = 0 makes dJ/dw1 exactly 0, so the complex-step
    Newton's imaginary part is pure rounding noise; it must converge absolutely."""
    m = Model(energy="3*s0**2/2 + 3*s1**2/2 + 3*s2**2/2 - s2*x - w0*tanh(s0 - s1 + s2)"
                     " + w1*exp(-(s0 + s1)**2/2)",
              cost="(s0 - y)**2/2", state=["s0", "s1", "s2"], params={"w0": "1/1000", "w1": "0"},
              data={"x": "1/1000", "y": "0"})
    _check(m)


def test_fixed_point_exactly_zero_regression(engine):
    """Found by hypothesis (CI, 2026-12-08): x = w1 puts s0 at exactly 0, where the
    complex-step Newton's real part is O(h^2) noise with no size to converge against; it
    converges below h |Im s| (IFT.cs was 'incomplete')."""
    m = Model(energy="3*s0**2/2 + 3*s1**2/2 - s1*x + w0*tanh(s0)*tanh(s0 + s1) + w1*tanh(s1)"
                     " - w2*tanh(s0 + s1)",
              cost="(s0 - y)**2/2", state=["s0", "s1"],
              params={"w0": "1/1000", "w1": "1/1000", "w2": "0"},
              data={"x": "1/1000", "y": "1/1000"})
    _check(m, engine)


def test_gradient_zero_with_every_term_zero(engine):
    """Found by the seeded search: w0 = 0, x = 0 put s0 at 0, where E_theta, M and so dJ/dtheta
    vanish with all their terms; EP's side is then rounding of readouts of size beta^2."""
    m = Model(energy="3*s0**2/2 + 3*s1**2/2 - s1*x + w0*tanh(s0 + s1)**2", cost="(s0 - y)**2/2",
              state=["s0", "s1"], params={"w0": "0"}, data={"x": "0", "y": "1/1000"})
    _check(m, engine)
