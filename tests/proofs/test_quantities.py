"""The sides of the identities (proofs/quantities.py): each from its own ingredients.

EP's gradient never solves with H, and carries the digits its readouts need.
"""

import mpmath
import pytest
from problems import TWO

from eqprop import Model, Verdict, verify
from eqprop.proofs import quantities
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare


def test_the_ep_side_of_theorem_2_never_solves_with_H():
    """Replace H(s0) by garbage: the implicit gradient changes, EP's side does not.

    A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    import dataclasses
    model = Model(**TWO)
    P, _, _ = prepare(model, resolve(model, dps=20, times=[0, 1], engine="gbs"))
    with mpmath.workdps(P.working_dps):
        garbage = dataclasses.replace(P, H=P.H * 3 + mpmath.eye(P.n))
        ep, _, _ = quantities.ep_gradient(P)
        assert quantities.ep_gradient(garbage)[0] == ep
        assert quantities.implicit_gradient(garbage) != quantities.implicit_gradient(P)
        # and it is not the implicit gradient evaluated twice: it agrees, but not bit for bit
        diff = max(abs(a - b) for a, b in zip(ep, quantities.implicit_gradient(P)))
        assert 0 < diff < mpmath.mpf(10) ** -20


@pytest.mark.parametrize("k,c", [("1e250", "1"), ("1", "1e-280")])
def test_t2_when_the_readouts_dwarf_the_gradient(k, c):
    """Found by the fifth review (older than issue 12): with E x 1e250 (or C x 1e-280) EP's
    readouts E_theta are 10^250 times dJ/dtheta; the route needs ~330 digits and was capped at
    3 x the working digits, so it returned noise: T2 at 0 digits, 'not verified'. It now carries
    the digits it needs (up to EP_MAX_DIGITS; beyond, the row is missing: incomplete)."""
    m = Model(energy=f"{k}*((a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b))",
              cost=f"{c}*(a - y)**2/2", state=["a", "b"], params={"w": "0.3"},
              data={"x": "0.5", "y": "0.2"})
    r = verify(m, dps=30, engine="gbs")
    assert r.verdict is Verdict.VERIFIED, (r.verdict, r.notes)
    assert [x.digits for x in r.checks if x.id == "T2"] == [30.0]
