"""The fast routes of the high-precision path give what the slow ones give, and only where they apply.

- complex-step flows from s0 solved by their propagator (numeric/propagator.py) against the
  same flows integrated (gbs, or heyoka where installed), for every side that uses them;
- the start not at rest (s0 moved, the force shifted), a non-holomorphic model: integrated;
- Newton's step from the kernels' gmpy2 values into Arb against the mpmath matrix route;
- KBE's two sides from one shared trajectory against the chain rule on its own real flow.

The seeds are the problems' own (printed).
"""

import dataclasses
import functools

import mpmath
import pytest

from eqprop import Model
from eqprop.numeric.differences import digits_of_agreement
from eqprop.numeric.highprec import newton
from eqprop.proofs import quantities as q
from eqprop.proofs.mutations import mutate
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare
from eqprop.proofs.verify import _model

TWO = dict(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b) + u*a*b/4",
           cost="(a - y)**2/2 + u*b**2/8", state=["a", "b"], params={"w": "0.3", "u": "-0.2"},
           data={"x": "0.5", "y": "0.2"})
#: a vector-field model (a gradient field written out, no energy): the flows' force is the field
FIELD = dict(vector_field=["-a + w*(1 - tanh(a)**2)*tanh(b)",
                           "-b + w*tanh(a)*(1 - tanh(b)**2) + x*(1 - tanh(b)**2)"],
             cost="(a - y)**2/2", state=["a", "b"], params={"w": "0.3"}, data={"x": "0.5", "y": "0.2"})


@functools.lru_cache(maxsize=None)
def _problem(name, engine, dps=30):
    if engine == "heyoka":
        pytest.importorskip("heyoka")
    model = {"two": lambda: Model(**TWO), "field": lambda: Model(**FIELD),
             "paper": lambda: _model("paper")}[name]()
    P, assumptions, _ = prepare(model, resolve(model, dps=dps, engine=engine))
    assert P is not None and all(a.holds for a in assumptions), assumptions
    print("seed", P.seed)
    return P


def _sides(P):
    """Every side that runs a complex-step flow from s0, flattened."""
    v, u = P.random_direction(P.n, "fast:v"), P.random_direction(P.p, "fast:u")
    ep = q.ep_temporal_derivatives(P)
    return (q.projected_cost_ds(P, v) + q.projected_cost_dtheta(P, u)
            + [x for row in ep.s_tilde + ep.theta_tilde + ep.u for x in row])


@pytest.mark.parametrize("engine", ["gbs", "heyoka"])
@pytest.mark.parametrize("name", ["two", "field", "paper"])
def test_the_propagator_gives_what_integration_gives(name, engine):
    P = _problem(name, engine)
    with mpmath.workdps(P.working_dps):
        beta = mpmath.mpc(0, P.h)
        fast = P.system.flow(P.s0, P.times, tol=P.tol, beta=beta, rest=P.rest)
        assert fast.stats.get("propagator"), fast.stats
        got = _sides(P)
        # the reference integrated with 10 more digits and a tolerance 10^10 tighter than the
        # checks' (10^-(dps + 5) per step): what limits the agreement is the fast route's own
        # working precision, dps + 10 digits, less what entries small against their terms lose
        # (measured 33.7-35.7 digits, each entry against itself; the flows integrated at the
        # checks' own tolerance agree with the reference to 29-31)
        with mpmath.workdps(P.working_dps + 10):
            want = _sides(dataclasses.replace(P, rest=None, tol=P.tol * mpmath.mpf(10) ** -10))
        digits, err, top = digits_of_agreement(got, want, cap=P.working_dps)
        print(name, engine, "digits", digits, "largest difference", mpmath.nstr(err, 3))
        assert digits >= P.dps + 3, (digits, err, top)


@pytest.mark.parametrize("ingredient", ["s0", "rhs"])
def test_a_start_not_at_rest_is_integrated(ingredient):
    P = mutate(_problem("two", "gbs"), ingredient, "1e-10")
    with mpmath.workdps(P.working_dps):
        flow = P.system.flow(P.s0, P.times, tol=P.tol, beta=mpmath.mpc(0, P.h), rest=P.rest)
    assert not flow.stats.get("propagator") and flow.stats["steps"] > len(P.times), flow.stats


def test_a_non_holomorphic_model_has_no_propagator():
    m = Model(energy="(a**2 + b**2)/2 - w*Abs(a - 1)*b - x*b", cost="(b - y)**2/2",
              state=["a", "b"], params={"w": "0.3"}, data={"x": "0.5", "y": "0.2"})
    P, _, _ = prepare(m, resolve(m, dps=20))
    assert P is not None and P.rest is None and not P.holomorphic


@pytest.mark.parametrize("beta", ["0", "1e-3", "complex"])
def test_newton_from_gmpy_values_agrees_with_the_mpmath_route(beta):
    P = _problem("paper", "gbs")
    with mpmath.workdps(P.working_dps):
        b = mpmath.mpc(0, P.h) if beta == "complex" else mpmath.mpf(beta)
        start = [x + mpmath.mpf("0.01") for x in P.s0]
        fast = P.system.newton_step(start, None, b)
        assert fast is not None
        g = P.system.dEbeta_ds(start, None, b)
        step = mpmath.lu_solve(P.system.d2Ebeta_ds2(start, None, b), g)
        # dE^beta/ds from its own kernel, against dE/ds + beta dC/ds: equal to rounding
        assert max(abs(x - y) for x, y in zip(fast[0], g)) <= \
            mpmath.mpf(10) ** -(P.working_dps - 3) * mpmath.norm(g)
        assert max(abs(x - y) for x, y in zip(fast[1], step)) <= \
            mpmath.mpf(10) ** -(P.working_dps - 3) * mpmath.norm(step)
        if beta == "complex":
            assert max(abs(mpmath.im(x - y)) for x, y in zip(fast[1], step)) <= \
                mpmath.mpf(10) ** -(P.working_dps - 3) * max(abs(mpmath.im(y)) for y in step)
        # a perturbed system takes the mpmath route, and Newton still converges
        Q = mutate(P, "H", "1e-10")
        assert Q.system.newton_step(start, None, b) is None
        s, res, _ = newton(Q.system, P.s0, beta=b)
        assert res <= mpmath.mpf(10) ** -(P.working_dps - 5)


@pytest.mark.parametrize("engine", ["gbs", "heyoka"])
def test_kbe_chain_rule_from_the_shared_trajectory_matches_its_own_real_flow(engine):
    P = _problem("two", engine)
    with mpmath.workdps(P.working_dps):
        s = q.kbe_points(P)[0]
        shared, sizes = q.kbe_chain_rule(P, s)
        own, _ = q.kbe_chain_rule(dataclasses.replace(P, holomorphic=False), s)
        digits, err, _ = digits_of_agreement(shared, own, cap=P.working_dps, scale=sizes)
        print(engine, "digits", digits)
        assert digits >= P.dps


def test_a_perturbation_that_is_not_infinitesimal_is_integrated():
    """Found by review: a start s0 + i y with y = O(1) passed every premise but the real part's
    (F''[y, y] / 2 moves it): the propagator returned a linear answer to a nonlinear flow."""
    m = Model(energy="(a**2 + b**2)/2 - c*a**2*b - x*a", cost="(a - y)**2/2", state=["a", "b"],
              params={"c": "0.3"}, data={"x": "0", "y": "0.2"})
    P, _, _ = prepare(m, resolve(m, dps=20, times=[0, 0.5, 1, 2]))
    with mpmath.workdps(P.working_dps):
        start = [mpmath.mpc(0, "0.5"), mpmath.mpc(0, "0.25")]
        flow = P.system.flow(start, P.times, tol=P.tol, rest=P.rest)
        assert not flow.stats.get("propagator"), flow.stats
        # the same direction at the complex step's size: linear, solved by the propagator
        tiny = [x * P.h for x in start]
        assert P.system.flow(tiny, P.times, tol=P.tol, rest=P.rest).stats.get("propagator")


def test_a_residual_above_the_working_precision_is_integrated():
    """Found by review: a start at rest only to the fixed-point test (10^-(dps+2)) lost 8
    digits to the cross term F''[d, y]; the propagator needs rest to 10^-(w-5)."""
    P = _problem("two", "gbs")
    with mpmath.workdps(P.working_dps):
        g = P.system.dEbeta_ds(P.s0)
        H = P.system.d2Ebeta_ds2(P.s0)
        # s0 moved along H^-1 so that the force is 10^-(dps+4) of its terms: accepted by the
        # fixed-point test, far from rest at the working precision
        shift = mpmath.lu_solve(H, mpmath.matrix([mpmath.mpf(10) ** -(P.dps + 4)] * P.n))
        start = [a + b for a, b in zip(P.s0, shift)]
        flow = P.system.flow(start, P.times, tol=P.tol, beta=mpmath.mpc(0, P.h), rest=P.rest)
        assert not flow.stats.get("propagator"), flow.stats
        assert max(abs(x) for x in g) <= P.rest


def test_solve_flat_refuses_what_it_cannot_convert_exactly():
    """Found by review: an mpmath number (or a float) was truncated to an integer."""
    import gmpy2

    from eqprop.numeric import linalg
    with mpmath.workdps(30):
        for bad in (mpmath.mpf("2.5"), 0.75, True):
            with pytest.raises(TypeError, match="gmpy2"):
                linalg.solve_flat([bad, gmpy2.mpfr(0), gmpy2.mpfr(0), gmpy2.mpfr(1)], [1, 1])


def _kbe_rows(report):
    return [(c.t, c.lhs, c.rhs, c.max_abs_error, c.digits) for c in report.checks if c.id == "KBE"]


def test_kbe_beside_the_other_checks_gives_the_same_rows(monkeypatch):
    """The forked prefetch of KBE's trajectory against the same verification in turn."""
    from eqprop.proofs import kbe_sides
    from eqprop.proofs.verify import verify
    model = Model(**TWO)
    outcomes = []
    collect = kbe_sides.Prefetch.collect

    def spy(self):
        collect(self)
        outcomes.append(self.outcome)
    monkeypatch.setattr(kbe_sides.Prefetch, "collect", spy)
    parallel = verify(model, dps=20, engine="gbs")
    assert outcomes == ["ok"]  # the child integrated, and this process took its states
    serial = verify(model, dps=20, engine="gbs", parallel=False)
    assert parallel.verdict == serial.verdict and parallel.verdict.short == "verified"
    assert _kbe_rows(parallel) == _kbe_rows(serial) and len(_kbe_rows(serial)) >= 3
    assert [c.id for c in parallel.checks] == [c.id for c in serial.checks]


def test_a_prefetch_that_fails_leaves_the_check_to_this_process(monkeypatch):
    """A child that dies (here: its integration raises) keeps nothing; KBE integrates here."""
    from eqprop.proofs import kbe_sides
    P = _problem("two", "gbs")
    calls = []
    real = kbe_sides._shared_flow

    def broken(P, s, tol):
        if not calls:  # the first call is the child's (its memory is a copy of this one)
            calls.append(1)
            raise RuntimeError("child broken on purpose")
        return real(P, s, tol)
    monkeypatch.setattr(kbe_sides, "_shared_flow", broken)
    Q = dataclasses.replace(P, system=P.system.perturbed(None))
    prefetch = kbe_sides.Prefetch.start(Q)
    assert prefetch is not None
    prefetch.collect()
    assert "child broken on purpose" in prefetch.outcome
    assert not Q.system.__dict__.get("_kbe_flows")
    calls.append(1)  # this process: integrates
    with mpmath.workdps(Q.working_dps):
        rows = q.kbe_chain_rule(Q, q.kbe_points(Q)[0])[0]
    assert len(rows) == len(Q.times)


def test_a_stopped_run_stops_the_child():
    """The time limit runs out in the child and in this process alike: incomplete (a hang
    would be this test never returning; no wall-clock assertion, the machine may be loaded)."""
    from eqprop.proofs.verify import verify
    r = verify("hopfield:6,10,10,6", dps=40, engine="gbs", time_limit=1)
    assert r.verdict.short == "incomplete", r.verdict


def test_the_child_keeps_the_time_budget_and_is_stopped_on_close():
    from eqprop.numeric.integrate import time_budget
    from eqprop.proofs import kbe_sides
    model = _model("hopfield:4,6,6,4")
    P, _, _ = prepare(model, resolve(model, dps=40, engine="gbs"))
    with time_budget(0.3):
        prefetch = kbe_sides.Prefetch.start(P)
        prefetch.collect()
    assert prefetch.outcome is not None and "time limit" in prefetch.outcome, prefetch.outcome
    assert not P.system.__dict__.get("_kbe_flows")
    prefetch = kbe_sides.Prefetch.start(P)
    prefetch.close()  # a stopped verification: the child goes at once
    assert not prefetch.process.is_alive()


def test_auto_takes_gbs_for_a_large_force_even_with_heyoka():
    """heyoka's compilation grows with the force (20 s at 5,320 terms): auto goes to gbs
    above HEYOKA_AUTO_TERMS; an explicit engine='heyoka' is still honoured (not run here)."""
    pytest.importorskip("heyoka")
    from eqprop.proofs import engine as problem
    from eqprop.symbolic.codegen import compile_model
    from eqprop.symbolic.derive import derive
    model = _model("hopfield:20,40,40,10")
    compiled = compile_model(derive(model))
    assert compiled.dEbeta_ds.kernel.templates.n_terms > problem.HEYOKA_AUTO_TERMS
    assert problem.pick_engine("auto", compiled, 40, model) == "gbs"
    small = _model("paper")
    assert problem.pick_engine("auto", compile_model(derive(small)), 40, small) == "heyoka"


def test_the_wait_for_kbe_reports_where_the_trajectory_stands(monkeypatch):
    """The child's position reaches the parent's heartbeat: 't = .. of .., about .. s left'.
    GBS steps slowed (only KBE's trajectory, in the child, integrates by GBS here), so that
    the parent waits."""
    import importlib
    import time
    integ = importlib.import_module("eqprop.numeric.integrate")
    from eqprop.proofs.verify import verify
    monkeypatch.setattr(integ, "HEARTBEAT_SECONDS", 0.2)
    step = integ.GBSIntegrator.step

    def slow(self, y, H):
        time.sleep(0.1)
        return step(self, y, H)
    monkeypatch.setattr(integ.GBSIntegrator, "step", slow)
    lines = []
    r = verify("hopfield:4,6,6,4", dps=40, engine="gbs", progress=lines.append)
    assert r.verdict.short == "verified"
    waits = [x for x in lines if "KBE's trajectory (second process) at t =" in x]
    assert waits and "s left" in waits[-1], lines[-5:]


def _pool_run(_):
    from eqprop.proofs.verify import verify
    return verify("hopfield:3,4,3", dps=30, engine="gbs").verdict.short


def test_verify_in_a_pool_worker_runs_kbe_in_turn():
    """Found by review: a multiprocessing.Pool worker is daemonic and may have no children;
    the prefetch raised there. It now steps aside and KBE integrates in the worker."""
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.map(_pool_run, [0]) == ["verified"]


CHILD_SCRIPT = """
import sys, time, mpmath
from eqprop.proofs.verify import _model
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare
from eqprop.proofs import kbe_sides
m = _model("hopfield:6,10,10,6")
P, _, _ = prepare(m, resolve(m, dps=80, engine="gbs", times=[0] + [k / 4 for k in range(1, 41)]))
prefetch = kbe_sides.Prefetch.start(P)
print(prefetch.process.pid, flush=True)
time.sleep(600)
"""


def test_the_child_dies_with_a_killed_parent(tmp_path):
    """Found by review: SIGTERM or SIGKILL to the CLI left KBE's child running (blocked on a full
    pipe, forever). The kernel now kills it with its parent (Linux)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    parent = subprocess.Popen([sys.executable, "-c", CHILD_SCRIPT], cwd=tmp_path,
                              stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        for _ in range(100):
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(child, signal.SIGKILL)
            pytest.fail("KBE's child outlived its killed parent")
    finally:
        if parent.poll() is None:
            parent.kill()
