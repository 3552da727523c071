"""Every row can fail: corrupt one ingredient of one side, and THAT row must fail.

For every row id of a verification, each of its two sides is recomputed
from a problem in which one ingredient is wrong (eqprop.proofs.mutations:
H, M, C_s, C_theta, the flow's right-hand side, the time grid, the complex
step, s0), while the other side keeps its correct value; the row must then
fail. A row that no mutation of one of its sides can fail would not be an
independent check. Run on both integrators (a plain ``pip install .`` has
no heyoka, so gbs is what most users get).

The mutations are relative 1e-10 at dps 20 (identity rows need 15 digits),
and 1e-3 for the slope rows, whose detection threshold is the bias itself.
"""

import functools

import mpmath
import pytest

from eqprop import Model
from eqprop.proofs import kbe, quantities as q, theorem1, theorem2, theorem3
from eqprop.proofs.mutations import INGREDIENTS, mutate
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare
from eqprop.proofs.report import REQUIRED_ROWS

TWO = dict(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b) + u*a*b/4",
           cost="(a - y)**2/2 + u*b**2/8", state=["a", "b"], params={"w": "0.3", "u": "-0.2"},
           data={"x": "0.5", "y": "0.2"})

FLOW = ("H", "C_s", "rhs", "times", "h", "s0")
FIXED = ("H", "M", "C_s", "C_theta")
#: row id -> (check, (lhs keyword, lhs ingredients), (rhs keyword, rhs ingredients))
ROWS = {
    "KBE": (kbe.check, ("chain_rule", ("H", "C_s", "rhs", "times")),
            ("directional", ("H", "C_s", "rhs", "times", "h"))),
    "T1.S": (theorem1.check, ("adjoint", ("H", "C_s", "times")),
             ("closed_form", ("H", "C_s", "times"))),
    "T1.Theta": (theorem1.check, ("adjoint", FIXED + ("times",)),
                 ("closed_form", FIXED + ("times",))),
    "T1.S.def": (theorem1.check, ("along_s", FLOW), ("adjoint", ("H", "C_s", "times"))),
    "T1.Theta.def": (theorem1.check, ("along_theta", FLOW + ("M", "C_theta")),
                     ("adjoint", FIXED + ("times",))),
    "T1.limit": (theorem1.check, ("adjoint", FIXED), ("implicit", FIXED)),
    "IFT.cs": (theorem2.check, ("ift", FIXED + ("rhs", "h")), ("implicit", FIXED)),
    "T2": (theorem2.check, ("ep", FIXED + ("rhs",)), ("implicit", FIXED)),
    "T2.bias1": (theorem2.check, ("estimates", FIXED + ("rhs",)), ("implicit", FIXED)),
    "T2.bias2": (theorem2.check, ("estimates", FIXED + ("rhs",)), ("implicit", FIXED)),
    "T3.S": (theorem3.check, ("ep", FLOW), ("rbp", ("H", "C_s", "times"))),
    "T3.Theta": (theorem3.check, ("ep", FLOW + ("M", "C_theta")), ("rbp", FIXED + ("times",))),
}
#: the default side functions, by check and keyword
SIDES = {
    kbe.check: {"chain_rule": q.kbe_chain_rule, "directional": q.kbe_directional},
    theorem1.check: {"adjoint": q.rbp_adjoint, "closed_form": q.rbp_closed_form,
                     "along_s": q.projected_cost_ds, "along_theta": q.projected_cost_dtheta,
                     "implicit": q.implicit_gradient},
    theorem2.check: {"ep": q.ep_gradient, "ift": q.ift_gradient, "implicit": q.implicit_gradient,
                     "estimates": q.finite_beta_estimates},
    theorem3.check: {"ep": q.ep_temporal_derivatives, "rbp": q.rbp_adjoint},
}


def test_every_row_and_ingredient_is_covered():
    assert set(ROWS) == set(REQUIRED_ROWS)
    for row, (check, (lk, lhs), (rk, rhs)) in ROWS.items():
        assert lk in SIDES[check] and rk in SIDES[check], row
        assert set(lhs) <= set(INGREDIENTS) and set(rhs) <= set(INGREDIENTS), row
        assert lhs and rhs, row


@functools.lru_cache(maxsize=None)
def _problem(engine):
    if engine == "heyoka":
        pytest.importorskip("heyoka")
    model = Model(**TWO)
    P, assumptions, _ = prepare(model, resolve(model, dps=20, times=[0, 0.4, 1.5], engine=engine))
    assert P is not None and all(a.holds for a in assumptions)
    assert P.system.engine == engine
    return P


_CACHE = {}


def _default(engine, check, keyword, args):
    """A side's correct value, computed once and reused for every mutation of the other side."""
    key = (engine, check, keyword, tuple(tuple(a) for a in args))
    if key not in _CACHE:
        _CACHE[key] = SIDES[check][keyword](_problem(engine), *args)
    return _CACHE[key]


def _run(engine, check, mutated=None):
    """``check`` with every side at its cached value, except ``mutated = (keyword, problem)``.

    Sides take the problem and, for some, an argument (a direction, a state).
    """
    P = _problem(engine)
    sides = {}
    for keyword, fn in SIDES[check].items():
        if mutated and keyword == mutated[0]:
            sides[keyword] = (lambda _P, *args, fn=fn, Q=mutated[1]: fn(Q, *args))
        else:
            sides[keyword] = (lambda _P, *args, k=keyword: _default(engine, check, k, args))
    with mpmath.workdps(P.working_dps):
        return check(P, **sides).checks


@pytest.mark.parametrize("check", list(SIDES), ids=lambda c: c.__module__.split(".")[-1])
def test_unmutated_rows_pass(engine, check):
    rows = _run(engine, check)
    assert rows and all(r.passed for r in rows), [(r.id, r.t, r.digits) for r in rows if not r.passed]


CASES = [(row, side, ingredient) for row, (_, *sides) in ROWS.items()
         for side, (_, ingredients) in zip(("lhs", "rhs"), sides) for ingredient in ingredients]


@pytest.mark.parametrize("row,side,ingredient", CASES, ids=["-".join(c) for c in CASES])
def test_mutating_one_side_fails_the_row(engine, row, side, ingredient):
    check, lhs, rhs = ROWS[row]
    keyword = (lhs if side == "lhs" else rhs)[0]
    P = _problem(engine)
    delta = "1e-3" if row.startswith("T2.bias") else "1e-10"
    rows = [r for r in _run(engine, check, (keyword, mutate(P, ingredient, delta))) if r.id == row]
    assert rows, f"{row} produced no row"
    assert not all(r.passed for r in rows), (
        f"{row}: {ingredient} corrupted by {delta} on the {side} ({keyword}) and the row still "
        f"passes: {[(r.t, round(r.digits, 1)) for r in rows]}")
