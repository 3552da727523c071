"""The verdict is never wrong, in either direction: each case here was a false verdict once.

Every case runs on both integrators: a plain ``pip install .`` has no heyoka,
so the built-in gbs is what most users get.
"""

import json
import random

import mpmath
import pytest

from eqprop import EqpropError, Model, Verdict, verify
from eqprop.proofs import REQUIRED_ROWS, quantities
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare

ENGINES = ["gbs", "heyoka"]
TWO = dict(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b)", cost="(a - y)**2/2",
           state=["a", "b"], params={"w": "0.3"}, data={"x": "0.5", "y": "0.2"})


def _failures(r):
    return [(c.id, c.t, round(c.digits, 1)) for c in r.checks if not c.passed]


def test_linear_model_with_cost_along_the_fast_direction(engine):
    """C_s lies along the fast eigenvector: Sbar_t decays like exp(-3 t), not exp(-t).

    The grid used to end where exp(-lambda_min t) = 1e-6, where Sbar was 1e-18 of
    its start, and rows compared noise against the vanished quantity."""
    m = Model(energy="3*a**2/2 - w*a + b**2/2 - x*b", cost="(a - y)**2/2", state=["a", "b"],
              params={"w": "0.5"}, data={"x": "0.2", "y": "0.1"})
    r = verify(m, dps=30, engine=engine)
    assert r.verdict is Verdict.VERIFIED, r.table()
    # the grid follows Sbar: exp(-3 t_max) = 1e-6
    assert abs(r.times[-1] - float(mpmath.log(10**6) / 3)) < 0.01


def test_any_valid_grid_gives_the_same_verdict(engine):
    """The grid is absolute: times that do not start at 0 mean the same instants."""
    seed = 20261127
    rng = random.Random(seed)
    for _ in range(3):
        k = rng.randint(1, 4)
        times = sorted({round(rng.uniform(0.05, 6), 3) for _ in range(k)})
        if rng.random() < 0.5:
            times = [0.0] + times
        r = verify(Model(**TWO), dps=20, times=times, engine=engine)
        assert r.verdict is Verdict.VERIFIED, (f"seed {seed}, times {times}", _failures(r))
    r = verify(Model(**TWO), dps=20, times=[1, 5], engine=engine)
    assert r.verdict is Verdict.VERIFIED, _failures(r)


def test_a_grid_without_positive_times_is_incomplete():
    r = verify(Model(**TWO), dps=20, times=[0], engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE and r.exit_code == 1
    assert any("T3.S" in n and "t > 0" in n for n in r.notes), r.notes
    present = {c.id for c in r.checks}
    assert {"T3.S", "T3.Theta", "T1.S"}.isdisjoint(present) and present < set(REQUIRED_ROWS)


@pytest.mark.parametrize("kw,match", [
    ({"required_digits": 0}, "required_digits"), ({"required_digits": -3}, "required_digits"),
    ({"required_digits": float("nan")}, "finite"), ({"required_digits": 21}, "between 1 and dps"),
    ({"dps": 7}, "dps"), ({"dps": 10**6}, "dps"), ({"dps": 20.5}, "integer"),
    ({"times": [1, 1]}, "strictly increasing"), ({"times": [2, 1]}, "strictly increasing"),
    ({"times": [-1, 1]}, ">= 0"), ({"times": [0, float("inf")]}, "finite"),
    ({"times": []}, "empty"), ({"times": list(range(500))}, "at most"),
    ({"times": [0, 1e300]}, "largest time"), ({"times": "0,1"}, "list"),
    ({"initial_state": [0]}, "2 variables"), ({"initial_state": [0, float("nan")]}, "finite"),
    ({"initial_state": [0, 1j]}, "real"), ({"engine": "rk4"}, "engine"),
])
def test_options_are_validated_once_for_every_entry_point(kw, match):
    with pytest.raises(EqpropError, match=match):
        verify(Model(**TWO), **{"dps": 20, **kw})
    # the same value in a model file's [verify] table gets the same refusal
    table = {("dps" if k == "dps" else k): v for k, v in kw.items()}
    model = Model(**TWO, verify=table)
    with pytest.raises(EqpropError, match=match):
        resolve(model, dps=None if "dps" in kw else 20)


def test_unknown_verify_key_is_refused():
    with pytest.raises(EqpropError, match="unknown key 'time'"):
        verify(Model(**TWO, verify={"time": [0, 1]}))


def test_a_parameter_named_beta_is_not_the_nudging_strength(engine):
    m = Model(**{**TWO, "energy": TWO["energy"].replace("w*", "beta*"), "params": {"beta": "0.3"}})
    r = verify(m, dps=15, engine=engine)
    assert r.verdict is Verdict.VERIFIED, r.table()


@pytest.mark.parametrize("name", ["_beta", "_v0", "_x"])
def test_names_with_a_leading_underscore_are_reserved(name):
    with pytest.raises(EqpropError, match="underscore"):
        Model(**{**TWO, "params": {name: "0.3"}, "energy": TWO["energy"].replace("w*", f"{name}*")})


def test_a_complex_energy_is_an_assumption_violation():
    m = Model(energy="a**2/2 + b**2/2 + sqrt(x)*b - w*a*b", cost="(a - y)**2/2", state=["a", "b"],
              params={"w": "0.3"}, data={"x": "-1", "y": "0.1"})
    for required in (None, 1):
        r = verify(m, dps=20, required_digits=required)
        assert r.verdict is Verdict.ASSUMPTION_VIOLATED, r.table()
        bad = [a for a in r.assumptions if not a.holds]
        assert bad and "sqrt(x)" in bad[0].message and "-1" in bad[0].message


def test_a_function_outside_its_domain_is_named():
    """log(b - x) with x = 1 is not real where the flow starts: say which function and value.
    The start is the tool's, not a hypothesis: 'incomplete', with another start to give."""
    m = Model(energy="a**2/2 + b**2/2 - w*a*b + log(b - x)", cost="(a - y)**2/2",
              state=["a", "b"], params={"w": "0.3"}, data={"x": "1", "y": "0.1"})
    r = verify(m, dps=20)
    assert r.verdict is Verdict.INCOMPLETE
    assert "log(b - x)" in " ".join(a.message for a in r.assumptions if not a.holds)


def test_a_gradient_that_vanishes_by_symmetry_is_not_a_failure(engine):
    """dJ/dw0 = 0 by symmetry: EP gives 0, the implicit route -1.5e-54, and T2 used to FAIL
    at 23.8 digits. Every term of dJ/dw0 is zero in exact arithmetic too (M_00 = 0, and
    (H^-1 C_s)_1 = 0 since H_01 = tanh'' tanh - tanh tanh'' = 0): the rows are measured
    against the rounding those terms carry, agree, and are no evidence: incomplete."""
    m = Model(energy="3*s0**2/2 + 3*s1**2/2 - s1*x + w0*tanh(s0 - s1)*tanh(s0 + s1)",
              cost="(s0 - y)**2/2", state=["s0", "s1"], params={"w0": "-139/1000"},
              data={"x": "-1/250", "y": "1/1000"})
    r = verify(m, dps=30, engine=engine)
    assert r.verdict is Verdict.INCOMPLETE, r.table()
    assert all(c.passed for c in r.checks), r.table()
    assert any("nothing to compare" in n for n in r.notes), r.notes
    assert {c.id for c in r.checks if not c.testable} >= {"T2", "IFT.cs", "T1.limit"}


def test_the_ep_side_of_theorem_2_never_solves_with_H():
    """Replace H(s0) by garbage: the implicit gradient changes, EP's side does not."""
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


def test_params_keep_their_declared_order_everywhere():
    m = Model(energy="(a**2 + b**2)/2 - w1*tanh(a)*tanh(b) - w2*x*tanh(b) - v1*a - v2*b",
              cost="(a - y)**2/2", state=["a", "b"],
              params={"w1": "0.3", "w2": "0.5", "v1": "0.1", "v2": "-0.2"}, data={"x": "0.5", "y": "0.2"})
    r = verify(m, dps=15, times=[0, 1], engine="gbs")
    d = json.loads(r.to_json())
    assert [p["name"] for p in d["params"]] == ["w1", "w2", "v1", "v2"]
    assert [p["value"] for p in d["params"]] == ["3/10", "1/2", "1/10", "-1/5"]
    implicit = [mpmath.mpf(v) for v in d["dJ_dtheta"]["implicit"]]
    assert len(implicit) == 4 and len(d["series"]["theta_bar"][0]) == 4
    # v1, v2 push the state linearly (dE/ds gains -v): dJ/dv = H^-1 C_s, paired by position
    with mpmath.workdps(30):
        P, _, _ = prepare(m, resolve(m, dps=15, times=[0, 1], engine="gbs"))
        z = mpmath.lu_solve(P.H, mpmath.matrix(P.C_s))
        assert abs(implicit[2] - z[0]) < 1e-12 and abs(implicit[3] - z[1]) < 1e-12


@pytest.mark.parametrize("energy,function", [
    ("(a**2 + b**2)/2 - w*atanh(a)*atanh(b) - x*atanh(b)", "atanh(b)"),   # no real fixed point
    ("a**2/2 + b**2/2 + log(b - x) - w*a*b", "log(b - x)"),                  # not real at the start
])
def test_leaving_the_real_domain_is_an_assumption_naming_the_function(energy, function, engine):
    m = Model(energy=energy, cost="(a - y)**2/2", state=["a", "b"], params={"w": "0.3"},
              data={"x": "0.5" if "atanh" in energy else "1", "y": "0.2"})
    r = verify(m, dps=20, engine=engine)
    # outside the domain at the tool's start: 'incomplete'; at the fixed point: a violation
    assert r.verdict is (Verdict.INCOMPLETE if "log" in energy else Verdict.ASSUMPTION_VIOLATED)
    message = " ".join(a.message for a in r.assumptions if not a.holds)
    assert function in message and "needs" in message, message


def test_a_tiny_cost_does_not_make_a_broken_model_pass():
    """Agreement is relative: an asymmetric (non-gradient) field with its cost scaled by 1e-30
    still fails Theorem 3, and a cost stationary at s0 is 'incomplete', never 'verified'."""
    kw = dict(vector_field=["-a + w*tanh(b)", "-b + u*tanh(a) + x"], state=["a", "b"],
              params={"w": "0.5", "u": "-0.3"}, data={"x": "0.2", "y": "0.1"})
    r = verify(Model(cost="1e-30*(a - y)**2/2", **kw), dps=12, engine="gbs")
    assert r.verdict is Verdict.NOT_VERIFIED
    assert any(c.id == "T3.S" and not c.passed for c in r.checks)
    flat = verify(Model(energy="(a**2 + b**2)/2 - w*a*b", cost="a**2/2 + w*b**2/2",
                        state=["a", "b"], params={"w": "0.3"}), dps=15, engine="gbs")
    assert flat.verdict is Verdict.INCOMPLETE, flat.table()
    assert any("nothing to compare" in n for n in flat.notes)


def test_a_decoupled_stiff_unit_does_not_widen_the_tolerance():
    """A parameter coupled with strength 1e12 to a unit the cost never sees: a 1e-6 error in
    EP's gradient must still fail (the terms are summed per entry, not bounded by the largest)."""
    import dataclasses
    m = Model(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b) + (d - K*(w + u))**2/2 + u*a",
              cost="(a - y)**2/2", state=["a", "b", "d"], params={"w": "0.3", "u": "-0.2"},
              data={"x": "0.5", "y": "0.2", "K": "1e12"})
    P, _, _ = prepare(m, resolve(m, dps=20, times=[0, 1], engine="gbs"))
    with mpmath.workdps(P.working_dps):
        good = theorem2_rows(P)
        assert all(c.passed for c in good if c.id == "T2"), good
        bad = theorem2_rows(P, ep=lambda Q: _scaled(quantities.ep_gradient(Q), 1 + mpmath.mpf("1e-6")))
        assert not [c for c in bad if c.id == "T2"][0].passed


def theorem2_rows(P, **sides):
    from eqprop.proofs import theorem2
    return theorem2.check(P, **sides).checks


def _scaled(ep, factor):
    value, err, sizes = ep
    return [v * factor for v in value], err, sizes


def test_the_richardson_step_follows_the_radius_of_beta_to_s_beta():
    """lambda_min = 0.01: beta -> s^beta is analytic only out to about 0.02; a fixed 1e-3 step
    left T2 short of the required digits at dps 50."""
    m = Model(energy="l*(a + b)**2/4 + (a - b)**2/4 - v*a", cost="(a - 1)**2/2", state=["a", "b"],
              params={"v": "0.5"}, data={"l": "0.01"})
    r = verify(m, dps=50, engine="gbs", times=[0, 1])
    rows = [c for c in r.checks if c.id in ("T2", "T2.bias1", "T2.bias2")]
    assert len(rows) == 3 and all(c.passed for c in rows), r.table()
    assert all(c.passed for c in r.checks), r.table()


def test_a_small_cost_verifies_on_heyoka_too(engine):
    """heyoka's error control is absolute below 1: its dual state is rescaled to size 1."""
    m = Model(**{**TWO, "cost": "c*(a - y)**2/2", "data": {**TWO["data"], "c": "1e-12"}})
    assert verify(m, dps=20, engine=engine).verdict is Verdict.VERIFIED


def test_a_parameter_only_in_the_cost_declared_last(engine):
    m = Model(**{**TWO, "cost": "(a - y)**2/2 + z*b**2/2", "params": {"w": "0.3", "z": "0.1"}})
    assert verify(m, dps=20, engine=engine).verdict is Verdict.VERIFIED


def test_a_large_scale_energy_passes_the_fixed_point_test():
    m = Model(energy="k*(a**2/2 - w*tanh(a))", cost="(a - y)**2/2", state=["a"],
              params={"w": "2"}, data={"k": "1e9", "y": "0.2"})
    assert verify(m, dps=50, engine="gbs", times=[0, 1e-9]).verdict is Verdict.VERIFIED


def test_a_state_starting_at_zero_with_a_quartic_does_not_crash(engine):
    m = Model(energy="a**2/2 + w*a**4 + b**2/2 - x*b", cost="(b - y)**2/2", state=["a", "b"],
              params={"w": "0.3"}, data={"x": "0.5", "y": "0.2"})
    assert verify(m, dps=20, engine=engine).verdict in (Verdict.VERIFIED, Verdict.INCOMPLETE)


def test_an_asymmetric_block_the_cost_never_sees_is_not_verified():
    m = Model(vector_field=["-a + 2*b", "-b", "-c + u*tanh(x) - c**3"], cost="(c - y)**2/2",
              state=["a", "b", "c"], params={"u": "0.5"}, data={"x": "0.3", "y": "0.1"})
    r = verify(m, dps=20, engine="gbs")
    assert r.verdict is Verdict.ASSUMPTION_VIOLATED, r.table()


# -- a minimum next to a domain edge, a barrier next to the minimum -------------------
NEAR_EDGE = {
    # s0 = (w/2)^(2/3) ~ 6e-9 from sqrt's edge at 0
    "sqrt": dict(energy="a**2/2 - w*sqrt(a)", params={"w": "1e-12"}),
    # s0 ~ 1 - 5e-9, next to acos's edge at 1, with H ~ 1e8
    "acos": dict(energy="(a - 2)**2/2 - w*acos(a)", params={"w": "1e-4"}),
}


@pytest.mark.parametrize("case", sorted(NEAR_EDGE))
def test_a_minimum_next_to_a_domain_edge_verifies(case, engine):
    """The real betas of T2 and the KBE points used to step over the edge (or next to it,
    where E's derivatives blow up): both now stay within the distance to the edge."""
    m = Model(state=["a"], cost="(a - y)**2/2", data={"y": "0.3"}, **NEAR_EDGE[case])
    P, assumptions, _ = prepare(m, resolve(m, dps=20, engine=engine, initial_state=[0.5]))
    assert P.edge_distance is not None and P.edge_distance < 1e-8
    assert all(abs(x - s) <= P.edge_distance / 4 * 1.0001
               for point in quantities.kbe_points(P) for x, s in zip(point, P.s0))
    r = verify(m, dps=20, engine=engine, initial_state=[0.5])
    assert r.verdict is Verdict.VERIFIED, r.table()


def test_next_to_a_domain_edge_a_wrong_ep_side_still_fails():
    """Staying inside the edge must not make T2 blind: an EP side off by 1e-12 fails."""
    from eqprop.proofs import theorem2
    m = Model(state=["a"], cost="(a - y)**2/2", data={"y": "0.3"}, **NEAR_EDGE["sqrt"])
    P, _, _ = prepare(m, resolve(m, dps=20, engine="gbs", initial_state=[0.5]))
    with mpmath.workdps(P.working_dps):
        ep = quantities.ep_gradient(P)
        wrong = ([x * (1 + mpmath.mpf("1e-12")) for x in ep[0]],) + tuple(ep[1:])
        rows = theorem2.check(P, ep=lambda _P: wrong).checks
    assert [c.passed for c in rows if c.id == "T2"] == [False]


def test_a_shallow_minimum_next_to_a_barrier(engine):
    """w just below the fold of the double well: lambda_min ~ 1e-3 and the barrier 3e-4 away.
    The KBE point used to lie beyond the barrier: its flow went to the other minimum, at
    rates 3000 times faster than the grid was made for, and ran for minutes on gbs."""
    from deadline import deadline
    m = Model(state=["a"], energy="a**4/4 - a**2/2 - w*a", cost="(a - y)**2/2",
              params={"w": "0.3849"}, data={"y": "0.3"})
    with deadline(120):
        r = verify(m, dps=20, engine=engine, initial_state=[-0.6])
    assert r.verdict is Verdict.VERIFIED, r.table()
    assert float(r.s_free[0]) < 0  # the shallow minimum, not the deep one


def test_kbe_points_far_from_the_origin_carry_extra_digits(engine):
    """s0 ~ 1e15 and the KBE offset ~ 0.5: the flow's relative tolerance would leave only
    dps - 5 digits of dE/ds(S_t) ~ S_t - s0; the KBE flows carry the digits back."""
    m = Model(state=["a", "b"], energy="(a - 10**15)**2/2 + (b - a/10**15)**2 - w*tanh(b)",
              cost="(b - y)**2/2", params={"w": "0.5"}, data={"y": "0.3"})
    r = verify(m, dps=30, engine=engine, initial_state=[1e15, 1])
    assert r.verdict is Verdict.VERIFIED, r.table()


def test_a_parameter_the_fixed_point_does_not_depend_on(engine):
    """A spring's stiffness k: the minimum sits at a = x whatever k is, so C_k and M's row k
    vanish at s0 and dJ/dk = 0 exactly. EP computed it as 3e-33 and the row was failed
    against a floor of 10^-dps of the largest entry, as if that were k's own size."""
    m = Model(state=["a", "b"], energy="k*(a - x)**2/2 + b**2/2 - v*b + b**4/4",
              cost="(a - y)**2/2 + (b - y)**2/2", params={"k": "2", "v": "0.3"},
              data={"x": "0.5", "y": "0.1"})
    r = verify(m, dps=20, engine=engine)
    assert r.verdict is Verdict.VERIFIED, r.table()
    assert r.dJ_dtheta["implicit"][0] == 0


@pytest.mark.parametrize("w", ["0.38490017", "0.3849001794"])
def test_a_minimum_next_to_a_fold(w, engine):
    """w within 1e-8 and 1e-10 of the fold of the double well, the shallow minimum
    (lambda_min 2.6e-4 and 2e-5, condition 1), a target across the barrier: the nudged
    minimum disappears at beta ~ 4e-9 (a fold in beta, which the cost's curvature did not
    predict), and Newton's steps stall at rounding times 1/lambda. Both gave false
    'not verified' (T2 at 13 digits; Newton 'did not converge' with a step of 1e-52)."""
    m = Model(state=["a"], energy="a**4/4 - a**2/2 - w*a", cost="(a - y)**2/2",
              params={"w": w}, data={"y": "2"})
    r = verify(m, dps=20, engine=engine, initial_state=[-0.7])
    assert r.verdict is Verdict.VERIFIED, r.table()


def test_a_stiff_flow_next_to_a_domain_edge_is_not_said_to_leave_it():
    """-log(log(a)) + c a from a = 1.5 flows down to a* = 1 + 1/c, never below 1, but LSODA's
    trial stages did; the free phase took that for the flow leaving the domain (a false
    'assumption violated'), and the default grid could not resolve a decay in 1e-15."""
    m = Model(state=["a"], energy="-log(log(a)) + c*a", cost="(a - y)**2/2",
              params={"c": "100000000"}, data={"y": "3"})
    r = verify(m, dps=20, engine="gbs", initial_state=[1.5])
    assert r.verdict is Verdict.VERIFIED, r.table()


@pytest.mark.parametrize("energy, params", [
    ("k*a**2/2 - w*a + a**4/4", {"k": "1e15", "w": "1"}),   # s0 = 1e-15: heyoka's absolute tol
    ("a**(5/2) + a**2/2 - w*a", {"w": "1e-32"}),            # s0 = 1e-32, closer to the edge
])                                                           # than the complex step once was
def test_a_tiny_fixed_point(energy, params, engine):
    m = Model(state=["a"], energy=energy, cost="(a - y)**2/2", params=params, data={"y": "0.2"})
    r = verify(m, dps=20, engine=engine, initial_state=[0.1])
    assert r.verdict is Verdict.VERIFIED, r.table()


VANISHING = dict(state=["a", "b"], vector_field=["-a + w*b + k*b**2 + x", "-b + w*(a - x)"],
                 cost="(a - y)**2/2", params={"w": "0.5", "k": "3"},
                 data={"x": "0.2", "y": "0.1"})


def test_a_vector_field_whose_parameter_derivatives_vanish_at_s0(engine):
    """s0 = (x, 0) for every theta: M = -(dF/dtheta)^T is exactly zero there, and the
    computed M is the rounding of s0 (b = 1e-63). Its rows are measured against that
    rounding, not against themselves: they used to fail at 0.2 digits (IFT.cs,
    T1.Theta.def) and Newton's complex step never converged. dJ/dtheta = 0 for every
    theta: like a parameter that never reaches the cost, nothing to compare. The field is
    no gradient field away from s0 (dF1/db - dF2/da = 2 k b): that hypothesis fails."""
    r = verify(Model(**VANISHING), dps=30, engine=engine)
    assert r.verdict is Verdict.ASSUMPTION_VIOLATED, r.table()
    assert [a.id for a in r.assumptions if not a.holds] == ["symmetric Jacobian"]
    assert all(c.passed for c in r.checks), r.table()
    assert any(not c.testable for c in r.checks), r.table()  # dJ/dtheta: nothing to compare


def test_when_m_vanishes_a_wrong_side_still_fails():
    """The sizes that rounding of s0 gives M do not hide an error above that rounding."""
    from eqprop.proofs import theorem1
    from eqprop.proofs.mutations import mutate
    P, _, _ = prepare(Model(**VANISHING), resolve(Model(**VANISHING), dps=20))
    wrong = q_implicit_of(mutate(P, "C_theta", mpmath.mpf("1e-12")))
    rows = theorem1.check(P, implicit=lambda _: wrong).checks
    limit = [c for c in rows if c.id == "T1.limit"]
    # dJ/dtheta is rounding here: the row is no evidence ('n/a', the run incomplete), and
    # never a pass that could count towards 'verified'
    assert limit and not (limit[0].passed and limit[0].testable), [(c.id, c.digits) for c in limit]


def q_implicit_of(P):
    with mpmath.workdps(P.working_dps):
        return quantities.implicit_gradient(P)


def test_the_spread_of_m_is_the_rounding_of_s0_carried_into_it():
    """Worked by hand at s0 = (0.2, 0), w = 1/2, k = 3, x = 0.2. The force g = -F has the
    first-order terms T = (|a| + |x|, |w a| + |w x|) = (0.4, 0.2) (the others vanish there);
    H = -dF/ds = [[1, -1/2], [-1/2, 1]], |H^-1| = [[4/3, 2/3], [2/3, 4/3]], so s0 carries
    |H^-1| T = (2/3, 8/15) eps. M = -(dF/dtheta)^T = -[[b, a - x], [b^2, 0]]: its spread is
    [[8/15, 2/3], [2 |b| 8/15, 0]], and its size is at least 10^(dps - w) times that."""
    P, _, _ = prepare(Model(**VANISHING), resolve(Model(**VANISHING), dps=20))
    spread = P.spreads["M"]
    assert spread.shape == (2, 2)
    # at least that first-order part (to the 1e-9 of its float64 central differences, which
    # came out 3e-12 low with another numpy build); the measured evaluation rounding and
    # Newton's own truncation add a few percent here
    lo = 1 - 1e-9
    assert lo * 8 / 15 <= spread[0, 0] < 1.05 * 8 / 15 and lo * 2 / 3 <= spread[0, 1] < 1.05 * 2 / 3, \
        spread
    assert spread[1, 0] < 1e-12 and spread[1, 1] == 0
    size = P.size("M")
    assert P.rounding == mpmath.mpf(10) ** -10
    assert abs(size[0, 0] / (P.rounding * spread[0, 0]) - 1) < 1e-6 and size[1, 1] == 0


def test_a_minimum_exactly_on_a_domain_edge_is_incomplete(engine):
    """E = a^(5/2) + a^2/2 has its minimum at a = 0, the edge of a^(5/2)'s domain; Newton
    stops 1e-107 inside, within the fixed point's own uncertainty (Newton-Kantorovich):
    whether E is C^2 around s0 cannot be decided, so no verdict. It used to be 'verified'."""
    m = Model(state=["a"], energy="a**(5/2) + a**2/2 + w*a", cost="(a - y)**2/2",
              params={"w": "0"}, data={"y": "0.1"})
    r = verify(m, dps=30, engine=engine, initial_state=[0.5])
    assert r.verdict is Verdict.INCOMPLETE, r.table()
    inside = [a for a in r.assumptions if a.id == "inside the domain"]
    assert inside and not inside[0].holds and "a**(5/2)" in inside[0].message


def test_a_computation_that_breaks_down_is_incomplete_not_a_failure(monkeypatch):
    """A number that could not be computed is no evidence that an identity fails."""
    from eqprop.numeric.highprec import ComputationBreakdown
    from eqprop.proofs import theorem2

    def broken(P, **_):
        raise ComputationBreakdown("Newton did not converge (a test)")
    monkeypatch.setattr(theorem2, "check", broken)
    r = verify(Model(**TWO), dps=15, engine="gbs")
    assert r.verdict is Verdict.INCOMPLETE, r.table()
    assert any("T2 could not be computed" in n for n in r.notes), r.notes
