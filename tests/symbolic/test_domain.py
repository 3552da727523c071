"""Where a model's functions are real (symbolic/domain.py): powers, their bases and exponents."""

from eqprop import Model, Verdict, verify


def test_an_integer_exponent_given_as_data_is_a_polynomial(engine):
    """a**k with data k = 2 was 'power needs a positive base' (a 30-digit Float 2.0 is not
    int 2 to SymPy): data are fixed numbers, a**k is a**2.

    Found by the third hostile review and the math review of the verdict (issue 9)."""
    m = Model(state=["a"], energy="a**k/2 - w*tanh(a) + x*a", cost="(a - y)**2/2",
              params={"w": "0.3"}, data={"x": "1", "k": "2", "y": "0.1"})
    r = verify(m, dps=20, engine=engine)
    assert r.verdict is Verdict.VERIFIED, [a.message for a in r.assumptions if not a.holds]
    assert float(r.s_free[0]) < 0  # a negative base throughout


def test_an_exponent_given_by_a_parameter_needs_a_positive_base():
    """dE/dk of a**k is a**k log(a): not real for a < 0, whatever k's value.

    Found by the third hostile review and the math review of the verdict (issue 9)."""
    m = Model(state=["a"], energy="a**k/2 - w*tanh(a) + x*a", cost="(a - y)**2/2",
              params={"w": "0.3", "k": "2"}, data={"x": "1", "y": "0.1"})
    r = verify(m, dps=20, engine="gbs", initial_state=[0.5])  # s0 = -0.84
    # the float64 free phase reaches a < 0 first: a jump over a domain edge is 'incomplete'
    assert r.verdict in (Verdict.ASSUMPTION_VIOLATED, Verdict.INCOMPLETE)
    assert any("exponent depends on a parameter" in a.message for a in r.assumptions if not a.holds)


def test_a_data_exponent_a_hair_from_an_integer_is_not_an_integer():
    """k = 2 + 1e-38 read at 30 digits was 2: a negative base then passed as a**2 and the run
    said 'verified' at dps 15 and 20 with E complex at s0. Data are exact.

    Found by round 2 of the third hostile review (issue 9)."""
    m = Model(state=["a", "b"], energy="a**k/2 + b**2/2 + x*a + w*a*b", cost="(a - y)**2/2",
              params={"w": "0.3"}, data={"x": "1.5", "y": "0.2",
                                         "k": "2.00000000000000000000000000000000000001"})
    for dps in (15, 20):
        assert verify(m, dps=dps, engine="gbs").verdict is not Verdict.VERIFIED
