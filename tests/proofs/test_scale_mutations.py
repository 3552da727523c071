"""Every row of `eqprop scale` can fail: one ingredient of one side wrong by 1e-9, the row fails.

The generated functions of a network are replaced one at a time by a copy
whose output is off by a relative 1e-9 (a wrong rule would be off by far
more): EP's side of Theorem 3 reads the complex-step pass (``dual``: the
tangent H u, the cost gradient, the readout), RBP's side the products at s0
(``hvT``, ``mv``). Each mutation must fail the rows that read it, and the
unmutated run must pass them, on an energy (the layered network) and on an
array model from the examples.
"""

import os

import numpy as np
import pytest

from eqprop.proofs.scale import check_theorem3
from eqprop.proofs.scale_gradients import compare_gradients
from eqprop.proofs.scale_agreement import _rel
from eqprop.proofs.scale_hypotheses import check_hypotheses
from eqprop.proofs.scale_network import build
from eqprop.numeric.batch_solve import free_phase
from eqprop.numeric.namespaces import Factored
from eqprop.symbolic.arrays import layered
from eqprop.symbolic.builtins import load_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DELTA = 1e-9
TOL = 1e-12


def _off(value, k):
    """``value`` with its k-th piece off by a relative DELTA (arrays, lists, Factored)."""
    if isinstance(value, Factored):
        return Factored(value.A * (1 + DELTA), value.X)
    if isinstance(value, (list, tuple)):
        out = list(value)
        out[k] = _off(out[k], 0) if isinstance(out[k], (list, tuple, Factored)) else out[k] * (1 + DELTA)
        return type(value)(out)
    return value * (1 + DELTA)


def _mutated(net, entry, k=0, shift=False):
    """``net`` with one generated function off by a relative DELTA (``shift``: plus DELTA, which
    moves a zero; scaling a force leaves its zeros where they are)."""
    f = net.f[entry]
    net.f = dict(net.f)
    net.f[entry] = (lambda *args: f(*args) + DELTA) if shift else (lambda *args: _off(f(*args), k))
    return net


def _model(name):
    if name == "layered":
        return layered([4, 6, 5], biases=True)
    return load_model(os.path.join(ROOT, "examples", f"{name}.toml"))


#: (entry, piece) -> the rows that must fail: "states" (every state block), "params", "limits"
MUTATIONS = [("dual", 1, "states"),     # EP: the tangent H(a) u of the complex-step pass
             ("dual", 2, "states"),     # EP: the cost gradient C_s(a) it adds
             ("dual", 3, "params"),     # EP: the readout's tangent E_theta'(a)[u]
             ("hvT", 0, "states"),      # RBP: H^T Sbar
             ("mv", 0, "params")]       # RBP: M Sbar


@pytest.mark.parametrize("name", ["layered", "modern_hopfield", "xy_oscillators"])
@pytest.mark.parametrize("entry,piece,rows", MUTATIONS)
def test_a_wrong_ingredient_fails_its_rows(name, entry, piece, rows):
    model = _model(name)
    built = build(model, batch=2)
    net = built.net
    free = free_phase(net, eps=0.1)
    s0 = free.s
    clean = {r["quantity"]: r["complex_step"] for r in check_theorem3(net, s0, eps=0.1, steps=20,
                                                                      real=False)}
    assert max(clean.values()) <= TOL, clean
    _mutated(net, entry, piece)
    got = {r["quantity"]: r["complex_step"] for r in check_theorem3(net, s0, eps=0.1, steps=20,
                                                                    real=False)}
    wanted = net.block_names if rows == "states" else net.param_names
    # the readout's tangent enters only after the first step; a parameter the cost never reaches
    # within 20 steps can stay exactly zero on both sides
    failed = [q for q in wanted if got[q] > TOL]
    assert failed, (entry, piece, got)
    if rows == "states":
        assert all(got[q] > TOL for q in net.block_names), got


@pytest.mark.parametrize("entry,piece", [("readout", 0), ("mv", 0), ("hvT", 0), ("grad", None)])
def test_a_wrong_ingredient_fails_the_gradient_limits(entry, piece):
    """EP limit, RBP limit and the implicit gradient: a wrong M, H^T, E_theta or force shows (C_s
    is shared by every route: the Theorem 3 rows catch it, the complex-step pass has its own;
    Newton's H only sets how fast the nudged fixed point is found, not where it is)."""
    model = layered([4, 6, 5])
    built = build(model, batch=2)
    net = built.net
    free = free_phase(net)
    hyp = check_hypotheses(net, free.s, free, eps=0.5)
    clean = compare_gradients(net, free.s, hyp, eps=0.5, h=1e-20, beta=0.01).gradient
    assert clean["ep_vs_implicit"] <= 1e-12 and clean["rbp_vs_implicit"] <= 1e-12
    _mutated(net, entry, piece or 0, shift=piece is None)
    bad = compare_gradients(net, free.s, hyp, eps=0.5, h=1e-20, beta=0.01).gradient
    assert max(bad["ep_vs_implicit"], bad["rbp_vs_implicit"]) > 1e-11, (entry, bad)


def test_the_gradient_field_hypothesis_fails_on_a_wrong_tangent_rule():
    """H v (forward mode) off by 1e-9 against H^T v (reverse mode): not a gradient field."""
    built = build(layered([4, 6, 5]), batch=2)
    net = built.net
    free = free_phase(net)
    ok = {c["id"]: c for c in check_hypotheses(net, free.s, free, eps=0.5)["checks"]}
    assert ok["gradient field"]["holds"]
    _mutated(net, "hv")
    bad = {c["id"]: c for c in check_hypotheses(net, free.s, free, eps=0.5)["checks"]}
    assert not bad["gradient field"]["holds"] and bad["gradient field"]["value"] > 1e-10
    assert _rel([np.ones(2)], [np.ones(2)]) == 0.0
