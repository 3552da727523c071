"""The optional heyoka engine, cross-checked against the built-in GBS integrator."""

import mpmath
import pytest

from eqprop import Model, Verdict, compile_model, derive, load_model, verify
from eqprop.numeric.highprec import System, newton

pytest.importorskip("heyoka")


@pytest.fixture(scope="module")
def systems():
    m = load_model("two-neurons")
    c = compile_model(derive(m))
    theta, data = m.values()
    return System(c, theta, data), System(c, theta, data, engine="heyoka")


@pytest.mark.parametrize("what", ["nudged complex beta", "complex start", "complex theta"])
def test_flows_agree(systems, what):
    gbs, hey = systems
    with mpmath.workdps(50):
        s0, _, _ = newton(gbs, [mpmath.mpf(0)] * 2)
        h = mpmath.mpf(10) ** -50
        kw, start = {}, s0
        if what == "nudged complex beta":
            kw["beta"] = mpmath.mpc(0, h)
        elif what == "complex start":
            start = [s0[0] + mpmath.mpc(0, h), s0[1] - mpmath.mpc(0, h) / 3]
        else:
            kw["theta"] = [gbs.theta()[0] + mpmath.mpc(0, h)]
        tol = mpmath.mpf(10) ** -45
        a = gbs.flow(start, [0, 1, 4], tol=tol, **kw).states
        b = hey.flow(start, [0, 1, 4], tol=tol, **kw).states
        for x, y in zip(a[-1], b[-1]):
            assert abs(mpmath.re(x - y)) < mpmath.mpf(10) ** -42
            assert abs(mpmath.im(x - y)) < mpmath.mpf(10) ** -42 * abs(mpmath.im(x))


def test_verify_with_heyoka_engine():
    r = verify("two-neurons", dps=30, engine="heyoka")
    assert r.engine == "heyoka" and r.verdict is Verdict.VERIFIED, r.table()
    assert r.min_digits >= 25


def test_non_smooth_model_falls_back_to_gbs_under_auto():
    m = Model(energy="(a**2 + b**2)/2 - w*Abs(a)*b - x*b", cost="(b - y)**2/2",
              state=["a", "b"], params={"w": "0.3"}, data={"x": "0", "y": "0.2"})
    assert verify(m, dps=15).engine == "gbs"
