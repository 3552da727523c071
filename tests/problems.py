"""Models, prepared problems and a report helper shared by several test modules.

Import as ``from problems import ...`` (tests/conftest.py puts tests/ on the path).
"""

import functools

import pytest

from eqprop import Model
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare
from eqprop.proofs.verify import as_model

#: the two-neuron energy of the verdict's cases
TWO_E = "(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b)"
#: its state, cost, parameter and data, for ``Model(energy=..., **TWO_PARTS)``
TWO_PARTS = dict(state=["a", "b"], cost="(a - y)**2/2", params={"w": "0.3"},
                 data={"x": "0.5", "y": "0.2"})
#: the whole model, for ``Model(**TWO)``
TWO = dict(energy=TWO_E, **TWO_PARTS)

#: two parameters, one of them in the cost too (the fast routes' and KBE's prefetch's model)
TWO_U = dict(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b) + u*a*b/4",
             cost="(a - y)**2/2 + u*b**2/8", state=["a", "b"], params={"w": "0.3", "u": "-0.2"},
             data={"x": "0.5", "y": "0.2"})
#: a vector-field model (a gradient field written out, no energy): the flows' force is the field
FIELD = dict(vector_field=["-a + w*(1 - tanh(a)**2)*tanh(b)",
                           "-b + w*tanh(a)*(1 - tanh(b)**2) + x*(1 - tanh(b)**2)"],
             cost="(a - y)**2/2", state=["a", "b"], params={"w": "0.3"}, data={"x": "0.5", "y": "0.2"})


@functools.lru_cache(maxsize=None)
def prepared(name, engine, dps=30):
    """The problem of ``name`` ("two": TWO_U, "field": FIELD, "paper") on ``engine``, prepared once."""
    if engine == "heyoka":
        pytest.importorskip("heyoka")
    model = {"two": lambda: Model(**TWO_U), "field": lambda: Model(**FIELD),
             "paper": lambda: as_model("paper")}[name]()
    P, assumptions, _ = prepare(model, resolve(model, dps=dps, engine=engine))
    assert P is not None and all(a.holds for a in assumptions), assumptions
    print("seed", P.seed)
    return P


def failures(r):
    """The rows of report ``r`` that did not pass: (id, t, digits)."""
    return [(c.id, c.t, round(c.digits, 1)) for c in r.checks if not c.passed]
