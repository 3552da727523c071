"""KBE's two sides (proofs/kbe_sides.py): where they are taken, and their forked prefetch.

The chain rule from one shared trajectory against its own real flow; the prefetch of that
trajectory in a second process (gbs only: the fork is the subject) against the same
verification in turn, and the child's life: failure, time limit, heartbeat, pool workers,
a killed parent.
"""

import dataclasses

import mpmath
import pytest
from problems import TWO_U as TWO
from problems import prepared as _problem

from eqprop import Model, Verdict, verify
from eqprop.numeric.differences import digits_of_agreement
from eqprop.proofs import quantities as q
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare
from eqprop.proofs.verify import as_model


def test_kbe_chain_rule_from_the_shared_trajectory_matches_its_own_real_flow(engine):
    P = _problem("two", engine)
    with mpmath.workdps(P.working_dps):
        s = q.kbe_points(P)[0]
        shared, sizes = q.kbe_chain_rule(P, s)
        own, _ = q.kbe_chain_rule(dataclasses.replace(P, holomorphic=False), s)
        digits, err, _ = digits_of_agreement(shared, own, cap=P.working_dps, scale=sizes)
        print(engine, "digits", digits)
        assert digits >= P.dps


def test_kbe_points_far_from_the_origin_carry_extra_digits(engine):
    """s0 ~ 1e15 and the KBE offset ~ 0.5: the flow's relative tolerance would leave only
    dps - 5 digits of dE/ds(S_t) ~ S_t - s0; the KBE flows carry the digits back.

    A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    m = Model(state=["a", "b"], energy="(a - 10**15)**2/2 + (b - a/10**15)**2 - w*tanh(b)",
              cost="(b - y)**2/2", params={"w": "0.5"}, data={"y": "0.3"})
    r = verify(m, dps=30, engine=engine, initial_state=[1e15, 1])
    assert r.verdict is Verdict.VERIFIED, r.table()


@pytest.mark.parametrize("energy", [
    "6e68*(a**2/2 + b**2/2 + a**4/4 + b**4/4 - x*a - w*a*b)",
    "1e70*((a**2 + b**2)/2 - w*tanh(a)*tanh(b) - x*tanh(b))"])
def test_kbe_at_an_energy_in_large_units(energy, engine):
    """Found by the fifth review (issue 12): KBE's complex step along dE/ds(s) was not scaled,
    so with E x 6e68 the step moved the state by 1e-12 and its square (1e-24) entered the
    real part both KBE sides read: 'not verified' at dps 30 (24.7 digits). The step is now
    scaled to the state's size."""
    m = Model(energy=energy, cost="y*a + b", state=["a", "b"], params={"w": "0.3"},
              data={"x": "0.5", "y": "0.2"})
    r = verify(m, dps=30, engine=engine)
    rows = [c for c in r.checks if c.id == "KBE"]
    assert rows and min(c.digits for c in rows) >= 29, [(c.t, c.digits) for c in rows]
    assert r.verdict is Verdict.VERIFIED, r.verdict


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
    model = as_model("hopfield:4,6,6,4")
    P, _, _ = prepare(model, resolve(model, dps=40, engine="gbs"))
    with time_budget(0.3):
        prefetch = kbe_sides.Prefetch.start(P)
        prefetch.collect()
    assert prefetch.outcome is not None and "time limit" in prefetch.outcome, prefetch.outcome
    assert not P.system.__dict__.get("_kbe_flows")
    prefetch = kbe_sides.Prefetch.start(P)
    prefetch.close()  # a stopped verification: the child goes at once
    assert not prefetch.process.is_alive()


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
from eqprop.proofs.verify import as_model
from eqprop.proofs.options import resolve
from eqprop.proofs.problem import prepare
from eqprop.proofs import kbe_sides
m = as_model("hopfield:6,10,10,6")
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
