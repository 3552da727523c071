"""The stages at s0 (proofs/at_fixed_point.py): an informative grid, inside the domain, resolved."""

import pytest
from problems import TWO_E
from problems import TWO_PARTS as TWO

from eqprop import Model, Verdict, verify


@pytest.mark.parametrize("times", [[0, 1e-200], [0, 1e-17, 1e-16]])
def test_a_grid_too_short_to_see_H_is_incomplete(times):
    """At t = 1e-200 every side equals its start: an H wrong by 1% passed every row.

    Found by a review of units, offsets and exact zeros (test_verdict_scales.py)."""
    r = verify(Model(energy=TWO_E, **TWO), dps=20, times=times, engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE, r.table()
    assert [a for a in r.assumptions if a.id == "informative grid" and not a.holds]


def test_a_minimum_exactly_on_a_domain_edge_is_incomplete(engine):
    """E = a^(5/2) + a^2/2 has its minimum at a = 0, the edge of a^(5/2)'s domain; Newton
    stops 1e-107 inside, within the fixed point's own uncertainty (Newton-Kantorovich):
    whether E is C^2 around s0 cannot be decided, so no verdict. It used to be 'verified'.

    A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(state=["a"], energy="a**(5/2) + a**2/2 + w*a", cost="(a - y)**2/2",
              params={"w": "0"}, data={"y": "0.1"})
    r = verify(m, dps=30, engine=engine, initial_state=[0.5])
    assert r.verdict is Verdict.INCOMPLETE, r.table()
    inside = [a for a in r.assumptions if a.id == "inside the domain"]
    assert inside and not inside[0].holds and "a**(5/2)" in inside[0].message


def test_a_state_offset_beyond_the_working_digits_is_incomplete():
    """a shifted by 1e40 at dps 20: s0 is known to 1e10, so the run checked a frozen
    system and said 'verified' with dJ/dw = 0 (true -0.0334). It is not resolved.

    Found by a review of units, offsets and exact zeros (test_verdict_scales.py)."""
    m = Model(energy="((a - X)**2 + b**2)/2 - w*tanh(a - X)*tanh(b) - x*tanh(b)",
              **{**TWO, "cost": "(a - X - y)**2/2", "data": {**TWO["data"], "X": "1e40"}})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE, r.table()
    assert [a for a in r.assumptions if a.id == "resolved" and not a.holds]


def test_a_rotation_with_no_nudge_radius_is_incomplete_not_a_crash():
    """Found by the math review of issue 24's stages: a vector field whose Jacobian's
    eigenvalues lie on the imaginary axis (a rotation) has lambda_min = 0 to every precision,
    so beta -> s^beta has no radius; the run crashed in Theorem 2 (log10 of a zero beta step;
    before issue 24, a StopIteration). It stops before the rows, 'incomplete'."""
    m = Model(vector_field=["w*b", "x - a"], cost="(a - y)**2/2", state=["a", "b"],
              params={"w": "0.3"}, data={"x": "0.5", "y": "0.2"})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE and not r.checks, r.table()
    assert [a.id for a in r.assumptions if not a.holds] == ["isolated minimum", "nudge radius"]
