"""Every formula function through ``verify``, on both integrators, at dps 15, 30 and 50.

The cases are tests/function_cases.py's (one small two-state model per
function, smooth and inside its domain at s0). Every smooth cell must be
'verified'; every non-smooth function must be flagged ('assumption
violated', never 'verified') and must finish (the CLI-level derive and the
backend matrix are in tests/symbolic/test_functions.py).
"""

import os
import sys

import pytest

from eqprop import Verdict, verify

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from function_cases import NON_SMOOTH_CASES, SMOOTH_CASES, model  # noqa: E402

@pytest.mark.parametrize("dps", [15, 30, 50])
@pytest.mark.parametrize("case", SMOOTH_CASES, ids=[c[0] for c in SMOOTH_CASES])
def test_every_smooth_function_verifies(case, engine, dps):
    r = verify(model(case), dps=dps, engine=engine, times=[0, 1])
    assert r.engine == engine
    assert r.verdict is Verdict.VERIFIED, r.table()


@pytest.mark.parametrize("case", NON_SMOOTH_CASES, ids=[c[0] for c in NON_SMOOTH_CASES])
def test_every_non_smooth_function_is_flagged(case):
    r = verify(model(case), dps=15, times=[0, 0.5, 2])
    assert r.verdict is Verdict.ASSUMPTION_VIOLATED, r.table()
    flagged = {a.id: a for a in r.assumptions}["twice differentiable"]
    assert not flagged.holds


@pytest.mark.parametrize("case", SMOOTH_CASES + NON_SMOOTH_CASES,
                         ids=[c[0] for c in SMOOTH_CASES + NON_SMOOTH_CASES])
def test_every_function_through_derive(case):
    """The `eqprop derive` path: the derived dynamics print, as text and as LaTeX."""
    from eqprop.symbolic.display import describe
    m = model(case)
    for latex in (False, True):
        text = describe(m, latex=latex)
        assert text and "Traceback" not in text
