"""heyoka's Taylor flows (numeric/taylor.py): the dual state's scale, whatever the units.

Both engines: gbs is the reference the heyoka runs once disagreed with.
"""

import pytest
from problems import TWO, TWO_E
from problems import failures as _rows

from eqprop import Model, Verdict, verify


def test_a_small_cost_verifies_on_heyoka_too(engine):
    """heyoka's error control is absolute below 1: its dual state is rescaled to size 1.

    A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(**{**TWO, "cost": "c*(a - y)**2/2", "data": {**TWO["data"], "c": "1e-12"}})
    assert verify(m, dps=20, engine=engine).verdict is Verdict.VERIFIED


@pytest.mark.parametrize("k", ["1e-12", "1e20"])
def test_energy_units_do_not_change_the_verdict_on_either_engine(k, engine):
    """k = 1e20 on heyoka: the complex-step dual state was scaled by its rate (1/time), so
    at t ~ 1e-20 it was 1e20 times smaller than the real state and T1.Theta.def and T3
    kept 9-12 of 20 digits ('not verified'); gbs verified.

    Found by a review of units, offsets and exact zeros (test_verdict_scales.py)."""
    m = Model(**{**TWO, "energy": f"k*({TWO_E})", "data": {**TWO["data"], "k": k}})
    r = verify(m, dps=20, engine=engine)
    assert r.verdict is Verdict.VERIFIED, _rows(r)
