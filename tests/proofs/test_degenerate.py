"""A singular H(s0) is named as such, whichever path meets it first (issue 23).

Oscillators without a pinning field have an exact zero mode (rotating all of
them leaves E unchanged); a quartic bottom has H = 0; a tiny curvature is
singular to the working precision. Each used to get advice that sent the user
the wrong way ("no fixed point reached ... give an initial_state nearer the
minimum", or "[ok] positive definite 1e-41 ... strict local minimum" followed
by "rescale the energy's terms"). Each now gets the ``isolated minimum``
assumption with H's null direction, the verdict ``incomplete`` (a zero by
symmetry and one within rounding look the same numerically), and never a
line that calls s0 a strict minimum.
"""

import pytest

from eqprop import Model, Verdict, verify

XY = dict(state=["a", "b", "c"], energy="-J*cos(a - b) - J*cos(b - c) - J*cos(c - a)",
          cost="(a - y)**2/2", params={"J": "1"}, data={"y": "0.3"})


def _assumption(report, id_):
    found = [a for a in report.assumptions if a.id == id_]
    assert found, [a.id for a in report.assumptions]
    return found[0]


def _no_false_minimum(report):
    text = report.table()
    assert "strict local minimum" not in text, text
    assert "nearer the minimum" not in text, text
    return text


@pytest.mark.parametrize("start", [None, [0.1, 0.5, -0.2]], ids=["on the manifold", "off it"])
def test_oscillators_without_a_pinning_field(start):
    r = verify(Model(**XY), dps=20, engine="gbs", initial_state=start)
    a = _assumption(r, "isolated minimum")
    assert not a.holds and r.verdict is Verdict.INCOMPLETE
    # the zero mode: every oscillator rotated alike
    assert "a: 0.577, b: 0.577, c: 0.577" in a.message and "pin it" in a.message
    _no_false_minimum(r)


def test_a_pinning_field_makes_the_same_ring_verify():
    """The advice works: one field term pins the rotation."""
    pinned = XY["energy"] + " - h*(cos(a - x1) + cos(b - x2) + cos(c - x3))"
    m = Model(**{**XY, "energy": pinned, "params": {"J": "1", "h": "0.5"},
                 "data": {"y": "0.3", "x1": "0.4", "x2": "-0.2", "x3": "0.1"}})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.VERIFIED, r.table()
    assert "strict local minimum" in r.table()


def test_a_quartic_bottom_started_at_its_minimum():
    r = verify(Model(state=["a", "b"], energy="a**4/4 + b**2/2 - w*a*b", cost="(a - y)**2/2",
                     params={"w": "0"}, data={"y": "0.3"}), dps=20, engine="gbs")
    a = _assumption(r, "isolated minimum")
    assert not a.holds and r.verdict is Verdict.INCOMPLETE
    assert "a: 1.0, b: 0.0" in a.message
    _no_false_minimum(r)


def test_a_curvature_below_the_working_precision():
    """Newton converges (H is invertible at 30 digits), but H's smallest eigenvalue 1e-30 is
    within 10^-(w/2) |H| of zero: singular to this precision, with its direction."""
    m = Model(state=["a", "b"], energy="a**2/2 + e*b**2/2 - w*a - e*b", cost="(a - y)**2/2",
              params={"w": "0.5", "e": "1e-30"}, data={"y": "0.3"})
    r = verify(m, dps=20, engine="gbs")
    a = _assumption(r, "isolated minimum")
    assert not a.holds and r.verdict is Verdict.INCOMPLETE
    assert "at s0 (its smallest eigenvalue" in a.message and "b: 1.0" in a.message
    _no_false_minimum(r)


def test_a_nearly_singular_h_names_its_soft_direction():
    """Above rounding but beyond the integrators' reach (cond 1e8): 'well conditioned' fails
    and says where H is soft."""
    m = Model(state=["a", "b"], energy="a**2/2 + e*b**2/2 - w*a - e*b", cost="(a - y)**2/2",
              params={"w": "0.5", "e": "1e-8"}, data={"y": "0.3"})
    r = verify(m, dps=20, engine="gbs")
    a = _assumption(r, "well conditioned")
    assert not a.holds and r.verdict is Verdict.INCOMPLETE
    assert "nearly singular along (a: 0.0, b: 1.0)" in a.message
    assert "[ok  ] positive definite" in r.table()  # true here: 1e-8 > 0 is resolved


def test_a_vector_field_with_a_zero_mode():
    m = Model(state=["a", "b"], vector_field=["-a + b + w", "a - b"], cost="(a - y)**2/2",
              params={"w": "0"}, data={"y": "0.3"})
    r = verify(m, dps=20, engine="gbs")
    a = _assumption(r, "isolated minimum")
    assert not a.holds and "a: 0.707, b: 0.707" in a.message
    assert r.verdict is Verdict.INCOMPLETE


# -- eqprop scale: the same degenerate cases in float64, and runs that compare nothing ----------

from eqprop.proofs.scale import scale  # noqa: E402
from eqprop.symbolic.arrays import ArrayModel  # noqa: E402

RING = dict(state={"s": "4"}, params={"b": {"shape": "4", "init": "normal(0, 0.5)"}},
            data={"y": {"shape": "4", "init": "uniform(0, 1)"}})


def test_scale_calls_a_zero_mode_singular_not_a_strict_minimum():
    """Only differences of neighbours: shifting every state alike leaves E unchanged, so
    H(s0) has a zero eigenvalue. Its Lanczos estimate is rounding noise (+-1e-16), which used
    to pass as 'strict minimum' when its sign came out positive."""
    m = ArrayModel(energy="sum((s - roll(s, 1))**2)/2 + sum(b * (s - roll(s, 1)))",
                   cost="sum((s - roll(s, 1) - y)**2)/2", **RING)
    r = scale(m, batch=3, steps=20, eps=0.4, seed=0)
    check = next(c for c in r.hypotheses["checks"] if c["id"] == "strict minimum")
    assert not check["holds"] and not r.passed
    assert all("singular H" in d for d in check["detail"]), check["detail"]
    assert "NOT passed" in r.table() and "strict minimum" in r.table()


@pytest.mark.parametrize("cost", ["0", "sum(b**2)", "sum(s*0)"])
def test_scale_with_a_cost_that_never_sees_the_state_is_incomplete(cost):
    """Every row and dJ/dtheta compare zero with zero: not agreement (verify: incomplete)."""
    m = ArrayModel(energy="sum(s**2)/2 - tanh(s) @ W @ x - b @ s", cost=cost, state={"s": "3"},
                   params={"W": {"shape": "3, 2", "init": "normal(0, 0.5)"},
                           "b": {"shape": "3", "init": "normal(0, 1)"}},
                   data={"x": {"shape": "2", "init": "uniform(0, 1)"}})
    r = scale(m, batch=2, steps=10, seed=0)
    assert not r.passed and not r.failures, r.failures
    assert r.incomplete and "nothing to compare" in r.incomplete[0]
    assert r.table().splitlines()[-1].startswith("verdict: incomplete")
    assert r.to_dict()["incomplete"] == r.incomplete


def test_scale_with_a_gradient_that_is_exactly_zero_is_incomplete():
    """s0 = 0 for every b, and d2E/dtheta ds vanishes there: the gradient lines compared
    rounding noise with an exact zero (relative difference 1e+269, reported as a failure)."""
    m = ArrayModel(energy="sum(s**4)/4 + sum(b**2 * s**2)", cost="sum((s - y)**2)/2", **RING)
    r = scale(m, batch=2, steps=10, seed=0)
    assert not r.passed and not r.failures, r.failures
    assert r.gradient["ep_vs_implicit"] is None and "dJ/dtheta" in r.incomplete[0]
    assert "b" in r.incomplete[0]


def test_scale_with_fewer_steps_than_layers_says_raise_steps():
    """RBP's error moves one layer per Euler step: the far layers are zero on both sides for
    the first steps. Incomplete, and the advice is --steps (nothing about the model is wrong)."""
    r = scale([10, 20, 20, 20, 20, 30], batch=2, steps=3, seed=0)
    assert not r.failures and not r.passed, r.failures
    assert r.incomplete == [r.incomplete[0]] and "in 3 steps" in r.incomplete[0]
    assert "raise --steps" in r.incomplete[0] and "s3" in r.incomplete[0]
    assert scale([10, 20, 20, 20, 20, 30], batch=2, steps=10, seed=0).passed


def test_an_ill_conditioned_strict_minimum_is_still_a_strict_minimum():
    """lambda_min = 1e-11 lambda_max is resolved in float64 (Lanczos to ~1e-16 lambda_max): a
    strict minimum, not a singular H."""
    m = ArrayModel(energy="sum(c * s**2)/2 - sum(x * s)", cost="sum((s - y)**2)/2", state={"s": "3"},
                   constants={"c": [1, 1e-11, 0.5]},
                   data={"x": {"shape": "3", "init": "uniform(0, 1e-11)"},
                         "y": {"shape": "3", "init": "uniform(0, 1)"}})
    r = scale(m, batch=2, steps=10, seed=0)
    check = next(c for c in r.hypotheses["checks"] if c["id"] == "strict minimum")
    assert check["holds"], r.table()


def test_lanczos_that_has_not_converged_is_undecided_not_singular():
    """Lanczos' bound is larger than its estimate: nothing is known, so nothing is claimed."""
    import numpy as np

    from eqprop.proofs.scale_hypotheses import check_hypotheses
    from eqprop.proofs.scale_network import build
    m = ArrayModel(energy="sum(c * s**2)/2 + sum((s - roll(s, 1))**2)/2 - sum(x * s)",
                   cost="sum((s - y)**2)/2", state={"s": "3000"},
                   constants={"c": {"shape": "3000", "init": "uniform(0.001, 0.002)"}},
                   data={"x": {"shape": "3000", "init": "uniform(0, 1)"},
                         "y": {"shape": "3000", "init": "uniform(0, 1)"}})
    net = build(m, batch=1, seed=0).net

    class Free:
        residual, status, relax_steps, newton_steps = np.zeros(1), ["converged"], 0, 0
    s = np.zeros((1, 3000))
    hyp = check_hypotheses(net, s, Free(), eps=0.4)
    check = next(c for c in hyp["checks"] if c["id"] == "strict minimum")
    assert not check["holds"] and "undecided" in check["detail"][0], check


def test_a_kink_in_the_data_alone_is_not_a_kink_of_the_energy(tmp_path):
    """|x| of data is a number (verify substitutes it): scale must not refuse it."""
    m = ArrayModel(energy="sum(sqrt(x*x) * s) + sum(w * s**2)/2", cost="sum((s - y)**2)/2",
                   state={"s": "3"}, params={"w": {"shape": "3", "init": "uniform(1, 2)"}},
                   data={"x": {"shape": "3", "init": "normal(0, 1)"},
                         "y": {"shape": "3", "init": "uniform(0, 1)"}})
    assert scale(m, batch=2, steps=10, seed=0).passed


def test_a_negative_eigenvalue_below_a_dense_spectrum_is_found():
    """H = diag(-1e-4, then 2,000 values from 1e-2 to 2): after 20 products Lanczos' lowest Ritz
    value, 0.0145 +- 0.013, looked like a positive bottom measured on the spectrum's scale
    (size 2), and the saddle passed as a strict minimum. It must converge on its own scale."""
    import numpy as np
    seed = 3
    print(f"seed {seed}")
    rng = np.random.default_rng(seed)
    d = np.geomspace(1e-2, 2, 2000)
    d[0] = -1e-4
    x = rng.uniform(0, 1, 2000)
    x[0] = 0  # the free phase from s = 0 never moves along the negative direction: a saddle
    m = ArrayModel(energy="sum(d * s**2)/2 - w * sum(s * x)", cost="sum((s - y)**2)/2",
                   state={"s": "2000"}, params={"w": "0.5"},
                   constants={"d": d, "x": x},
                   data={"y": {"shape": "2000", "init": "uniform(0, 1)"}})
    r = scale(m, batch=1, steps=20, seed=0)
    check = next(c for c in r.hypotheses["checks"] if c["id"] == "strict minimum")
    assert not check["holds"] and "saddle" in check["detail"][0], r.table()


def test_a_model_without_parameters_says_so():
    m = ArrayModel(energy="sum(s**2)/2 - sum(c * s)", cost="sum((s - y)**2)/2", state={"s": "3"},
                   constants={"c": [0.1, 0.2, 0.3]}, data={"y": {"shape": "3", "init": "uniform(0, 1)"}})
    r = scale(m, batch=2, steps=10, seed=0)
    assert not r.passed and r.incomplete and "no parameters" in r.incomplete[0], r.incomplete
