"""The numpy evaluation plan of symbolic/codegen/ against plain SymPy.

The plan factors each template into a body summed over the terms of an
output and a post factor fixed by the output, merges and concatenates
templates, shares functions of one input between steps, and copies
repeated entries (H_ji = H_ij). The reference here does none of that: it is
``sympy.lambdify`` of each whole output expression, evaluated entry by
entry.
"""

import numpy as np
import pytest
import sympy as sp

from eqprop import Model, derive, hopfield
from eqprop.symbolic.codegen import Kernel, compile_model

a, b, c, d = sp.symbols("a b c d")
w, u, x = sp.symbols("w u x")

ENERGIES = {
    # repeated unary factors with different coefficients per term
    "mixed": (a**2 + b**2 + c**2) / 2 + sp.Rational(3, 7) * w * sp.tanh(a) * sp.tanh(b)
    - 2 * u * sp.tanh(b) * sp.tanh(c) * x + sp.exp(-a - c) / 5 + sp.cosh(b) * w**2,
    # logs: only defined where the states are positive (the tables must not
    # evaluate them on the parameters, which are negative)
    "logs": a * sp.log(a) + b * sp.log(b) + c * sp.log(c) - w * a * b - u * b * c + x * sp.log(a * c),
    # a sum over many terms per output, with output-fixed and free factors
    "chain": sum(sp.sin(s1) * sp.cos(s2) * p for s1, s2, p in
                 [(a, b, w), (b, c, u), (c, d, w), (d, a, u), (a, c, x)]) + (a**4 + b**4 + c**4 + d**4) / 4,
}
POINTS = {"mixed": [0.3, -0.7, 1.1], "logs": [0.4, 1.3, 0.8], "chain": [0.3, -0.7, 1.1, 0.2]}
VALUES = {w: "-0.6", u: "-1.3", x: "0.45"}


def model(name):
    E = ENERGIES[name]
    state = [s for s in (a, b, c, d) if s in E.free_symbols]
    params = {p: VALUES[p] for p in (w, u) if p in E.free_symbols}
    data = {x: VALUES[x]} if x in E.free_symbols else {}
    return Model(energy=E, cost=(state[0] - sp.Rational(1, 5)) ** 2 / 2, state=state,
                 params=params, data=data)


def reference(m, expr_of, s):
    """Each entry by sympy.lambdify of its whole expression."""
    subs = dict(zip(m.state, s))
    subs.update({k: float(v) for k, v in m.params.items()})
    subs.update({k: float(v) for k, v in m.data.items()})
    return np.array([complex(sp.N(e.subs(subs), 20)) for e in expr_of(m)])


@pytest.mark.parametrize("name", sorted(ENERGIES))
def test_hessian_and_gradient_match_whole_expressions(name):
    m = model(name)
    cm = compile_model(derive(m))
    s = np.array(POINTS[name])
    theta = np.array([float(v) for v in m.params.values()])
    data = np.array([float(v) for v in m.data.values()])
    H_ref = reference(m, lambda m: list(sp.hessian(m.energy, m.state)), s).real
    g_ref = reference(m, lambda m: [sp.diff(m.energy, v) for v in m.state], s).real
    with np.errstate(all="raise"):  # no function is evaluated outside its inputs
        H = cm.d2E_ds2(s, theta, data)
        g = cm.dE_ds(s, theta, data)
    np.testing.assert_allclose(H.ravel(), H_ref, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(g, g_ref, rtol=1e-13, atol=1e-13)
    # with batch axes, and complex input (complex-step nudging)
    rng = np.random.default_rng(0)
    S = s + 0.05 * rng.random((2, 3, len(s)))
    HB = cm.d2E_ds2(S, theta, data)
    assert HB.shape == (2, 3, len(s), len(s))
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(HB[i, j], cm.d2E_ds2(S[i, j], theta, data), rtol=1e-14,
                                       atol=1e-14)
    h = 1e-30
    v = rng.normal(size=len(s))
    gc = cm.dE_ds(s + 1j * h * v, theta, data)
    np.testing.assert_allclose(gc.imag / h, H @ v, rtol=1e-12, atol=1e-12)


def test_symmetric_entries_evaluated_once_and_copied():
    m = hopfield([2, 3, 2])
    cm = compile_model(derive(m))
    kernel = cm.d2E_ds2.kernel
    n = len(m.state)
    # every off-diagonal non-zero is the copy of its mirror image
    copies = {p for ps in kernel.aliases.values() for p in ps}
    off = {i * n + j for (i, j) in derive(m).d2E_ds2 if i != j}
    assert len(copies) == len(off) // 2 and copies <= off
    s = np.linspace(-1, 1, n)
    theta = np.array([float(v) for v in m.params.values()])
    data = np.array([float(v) for v in m.data.values()])
    H = cm.d2E_ds2(s, theta, data)
    np.testing.assert_array_equal(H, H.T)
    H_ref = reference(m, lambda m: list(sp.hessian(m.energy, m.state)), s).real.reshape(n, n)
    np.testing.assert_allclose(H, H_ref, rtol=1e-13, atol=1e-14)


def test_kernel_with_constant_and_repeated_entries():
    # outputs: a constant, a sum with varying coefficients, a copy of another entry
    p, q = sp.symbols("p q")
    entries = [(0, sp.Integer(3)), (1, p * sp.exp(q) + 2 * q * sp.exp(q) - sp.exp(q) / 3),
               (2, sp.exp(q) * p), (4, sp.exp(q) * p)]
    k = Kernel(entries, [p, q], 5, name="test")
    z = np.array([0.7, -0.4])
    out = k.numpy(z)
    e = np.exp(-0.4)
    np.testing.assert_allclose(out, [3, 0.7 * e + 2 * -0.4 * e - e / 3, 0.7 * e, 0, 0.7 * e],
                               rtol=1e-15)
    assert k.aliases == {2: [4]}


def test_kernel_keeps_apart_templates_that_only_look_alike():
    # exp(p) q and r exp(s) are one template up to the order of the arguments;
    # in the same output they must not share one post factor
    p, q, r, s = sp.symbols("p q r s")
    k = Kernel([(0, sp.exp(p) * q + r * sp.exp(s)), (1, sp.exp(q) * p)], [p, q, r, s], 2, name="t")
    z = np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(k.numpy(z), [np.exp(0.1) * 0.2 + 0.3 * np.exp(0.4), np.exp(0.2) * 0.1],
                               rtol=1e-15)


def test_wrong_argument_length_is_a_clear_error():
    m = hopfield([2, 3, 2])
    cm = compile_model(derive(m))
    theta = np.array([float(v) for v in m.params.values()])
    data = np.array([float(v) for v in m.data.values()])
    with pytest.raises(ValueError, match=r"d2E_ds2\(\): s has shape \(4,\); expected 5"):
        cm.d2E_ds2(np.zeros(4), theta, data)
    with pytest.raises(ValueError, match="theta has shape"):
        cm.dE_ds(np.zeros(5), theta[:-1], data)


def test_functions_are_not_evaluated_outside_their_inputs():
    # log(a) is needed at a only; cosh is total and may share a table with others
    E = a * sp.log(a) + sp.cosh(b) - w * a * b
    m = Model(energy=E, cost=(a - 1) ** 2 / 2, state=[a, b], params={w: "0.5"})
    cm = compile_model(derive(m))
    s = np.array([0.4, -0.3])
    with np.errstate(all="raise"):
        g = cm.dE_ds(s, np.array([0.5]), np.array([]))
        H = cm.d2E_ds2(s, np.array([0.5]), np.array([]))
    np.testing.assert_allclose(g, [np.log(0.4) + 1 - 0.5 * -0.3, np.sinh(-0.3) - 0.5 * 0.4], rtol=1e-14)
    np.testing.assert_allclose(H, [[1 / 0.4, -0.5], [-0.5, np.cosh(-0.3)]], rtol=1e-14)


def test_total_functions():
    from eqprop.symbolic.codegen.numpy_tables import _total
    z = sp.Symbol("z")
    assert _total(1 / (1 + sp.exp(-z)), z)
    assert _total(sp.exp(-z) / (1 + sp.exp(-z)) ** 3, z)
    assert _total(sp.tanh(z) ** 2 + z**3, z)
    for partial in (sp.log(z), sp.sqrt(z), 1 / z, sp.asin(z), sp.tan(z), z ** sp.Rational(1, 3)):
        assert not _total(partial, z), partial


def test_zero_entries_and_a_zero_cost():
    p, q = sp.symbols("p q")
    k = Kernel([(0, sp.Integer(0)), (1, 0 * p + q)], [p, q], 2, name="zeros")
    np.testing.assert_array_equal(k.numpy(np.array([1.0, 2.0])), [0.0, 2.0])
    m = Model(energy=(a**2 + b**2) / 2 - w * a * b, cost=0, state=[a, b], params={w: "0.1"})
    cm = compile_model(derive(m))
    assert float(cm.C(np.array([0.3, 0.2]), np.array([0.1]), np.array([]))) == 0.0


def test_quantities_come_from_one_table_and_are_listed():
    from eqprop.symbolic.codegen import QUANTITIES
    m = Model(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b)", cost="(a - y)**2/2", state=["a", "b"],
              params={"w": "0.3"}, data={"y": "0.2"})
    c = compile_model(derive(m))
    assert set(QUANTITIES) <= set(dir(c))
    assert c.Hv.names[-1] == "v" and c.dEbeta_ds.names[-1] == "beta"


def test_a_vector_field_has_no_energy_and_says_so():
    from eqprop import EqpropError
    m = Model(vector_field=["-a + w*b", "-b"], cost="a**2/2", state=["a", "b"], params={"w": "0.3"})
    c = compile_model(derive(m))
    with pytest.raises(EqpropError, match="vector field"):
        c.E
    assert c.dE_ds(np.zeros(2), np.array([0.3]), np.zeros(0)).shape == (2,)


def test_a_plan_traceback_shows_its_source():
    import linecache
    m = Model(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b)", cost="(a - y)**2/2", state=["a", "b"],
              params={"w": "0.3"}, data={"y": "0.2"})
    kernel = compile_model(derive(m)).d2E_ds2.kernel
    source = kernel.source(batched=False)
    assert source.startswith("def _plan")
    fn = kernel.plan.function(False)
    assert linecache.getline(fn.__code__.co_filename, 1).startswith("def _plan")


def test_without_the_gmpy_plan_high_precision_keeps_to_the_mpmath_templates():
    import mpmath
    m = hopfield([2, 3, 2])
    d = derive(m)
    plan, templates = compile_model(d), compile_model(d, use_gmpy_plan=False)
    s = [0.1, -0.2, 0.3, 0.05, 0.4]
    theta = [float(v) for v in m.params.values()]
    data = [float(v) for v in m.data.values()]
    with mpmath.workdps(40):
        assert plan.dE_ds.gmpy(s, theta, data) is not None
        assert templates.dE_ds.gmpy(s, theta, data) is None
        a, b = plan.dE_ds.mp(s, theta, data), templates.dE_ds.mp(s, theta, data)
        assert all(abs(u - v) < mpmath.mpf(10) ** -35 for u, v in zip(a, b))
