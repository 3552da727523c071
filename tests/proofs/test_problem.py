"""The shared setting of every check (proofs/problem.py): derivatives at the state's own size."""

import mpmath
import pytest

from eqprop import Model, Verdict, verify


@pytest.mark.parametrize("scale", ["1e35", "1e70"])
def test_states_of_size_1e_minus_35_and_70(scale, engine):
    """Found by the sixth review (issue 12; older than it): at states of size 1e-35 the complex
    step on beta moved the state by 1e-45, and its square (1e-20 relative) cost T3 9 digits
    ('not verified'); at 1e-70 T1.S.def lost 9. The steps are now scaled to the state's size
    (Problem.derivative's response). With heyoka, KBE's flow took steps without end past the
    time limit: a step callback now keeps it inside the budget (and gbs takes over)."""
    k = mpmath.mpf(scale)
    m = Model(energy=f"(a**2 + b**2)/2 - {mpmath.nstr(1 / k**2, 5)}*(w*tanh(a*{scale})*tanh(b*{scale})"
                     f" + x*tanh(b*{scale}))",
              cost=f"(a*{scale} - y)**2/2", state=["a", "b"], params={"w": "0.3"},
              data={"x": "0.5", "y": "0.2"})
    r = verify(m, dps=30, engine=engine, time_limit=120)
    assert r.verdict is Verdict.VERIFIED, (r.verdict, r.notes,
                                           [(c.id, c.t, c.digits) for c in r.checks if not c.passed])


def test_the_problems_numbers_are_at_the_working_precision():
    """Found by the math review of issue 24's stages: the Problem was built after the stages'
    precision blocks had closed, so h, tol, rest and beta_step were 53-bit numbers (beta_step
    = 0.0010000000000000000208), which moved the EP limit by 2e-27 relative at dps 20."""
    from problems import prepared
    P = prepared("two", "gbs")
    with P.precision.working():
        assert P.beta_step == mpmath.mpf("1e-3")
        assert P.h == mpmath.mpf(10) ** (-2 * P.working_dps)
        assert P.tol == mpmath.mpf(10) ** (-(P.dps + 5))
