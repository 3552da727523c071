"""The generated batched network against SymPy, example by example, on a batch of three.

Every quantity the scale check reads -- E, dE/ds, H v, H^T v, M v, dE/dtheta,
C_s, C_theta, C_ss v, the dual step and the real-beta step -- is computed for
a batch of three examples by the generated code, and independently for each
example by SymPy's derivatives of the energy written out entry by entry; a
parameter's derivative must be the sum of the three examples' (a part of the
energy that holds only parameters counts once per example). The models are
those a review found to break the generated code or its batch sums (or to
shadow the generated code's own names: a data array called t2 once became a
temporary), beside ordinary ones.
"""

import numpy as np
import pytest
import sympy as sp

from eqprop.numeric.namespaces import Factored
from eqprop.proofs.scale_network import build
from eqprop.symbolic.arrays import ArrayModel
from eqprop.symbolic.arrays.expand import expand, scalar_names

SEED = 11
B = 3


def _symbols(name, shape):
    syms = [sp.Symbol(x, real=True) for x in scalar_names(name, shape)]
    out = np.empty(len(syms), dtype=object)
    out[:] = syms
    return out.reshape(shape)


def _numbers(values):
    values = np.asarray(values, dtype=float)
    out = np.empty(values.size, dtype=object)
    out[:] = [sp.Float(v, 30) for v in values.ravel()]
    return out.reshape(values.shape)


def _dense(x):
    return x.dense() if isinstance(x, Factored) else np.asarray(x)


def _reference(model, numbers, s, v):
    """Per example b, by SymPy: the quantities the network computes (parameters summed)."""
    names = [n for n, sp_ in model.specs.items() if sp_.role == "param"]
    theta = {p: _symbols(p, model.specs[p].shape) for p in names}
    ref = {k: [] for k in ("E", "g", "hv", "hvT", "cs", "cssv")}
    sums = {k: {p: 0 for p in names} for k in ("Et", "dEt", "Ct", "mv")}
    for b in range(s.shape[0]):
        syms = dict(theta)
        for n, spec in model.specs.items():
            if spec.role == "constant":
                syms[n] = _numbers(numbers[n])
            elif spec.role == "data":
                syms[n] = _numbers(numbers[n][b])
        states = []
        for block, shape in model.state.items():
            syms[block] = _symbols(block, shape)
            states += list(np.ravel(syms[block]))
        point = dict(zip(states, (sp.Float(x, 30) for x in s[b])))
        for p in names:
            point.update(zip(np.ravel(theta[p]), (sp.Float(x, 30) for x in np.ravel(numbers[p]))))

        def value(e):
            return float(sp.N(sp.sympify(e).xreplace(point), 25))
        if model.has_energy:
            E = expand(model.energy, syms)[()]
            g = [sp.diff(E, x) for x in states]
            ref["E"].append(value(E))
        else:
            g = [-f for block in model.state for f in np.ravel(expand(model.vector_field[block], syms))]
        C = expand(model.cost, syms)[()]
        vb = v[b]
        phi = sum(gi * vi for gi, vi in zip(g, vb))
        ref["g"].append([value(e) for e in g])
        ref["hv"].append([value(sum(sp.diff(gi, x) * vj for x, vj in zip(states, vb))) for gi in g])
        ref["hvT"].append([value(sp.diff(phi, x)) for x in states])
        cs = [sp.diff(C, x) for x in states]
        ref["cs"].append([value(e) for e in cs])
        ref["cssv"].append([value(sum(sp.diff(c, x) * vj for x, vj in zip(states, vb))) for c in cs])
        for p in names:
            shape = model.specs[p].shape
            entries = np.ravel(theta[p])
            sums["mv"][p] = sums["mv"][p] + np.reshape([value(sp.diff(phi, x)) for x in entries], shape)
            sums["Ct"][p] = sums["Ct"][p] + np.reshape([value(sp.diff(C, x)) for x in entries], shape)
            if model.has_energy:
                Et = [sp.diff(E, x) for x in entries]
                sums["Et"][p] = sums["Et"][p] + np.reshape([value(e) for e in Et], shape)
                tangent = [sum(sp.diff(e, x) * vj for x, vj in zip(states, vb)) for e in Et]
                sums["dEt"][p] = sums["dEt"][p] + np.reshape([value(e) for e in tangent], shape)
    return ref, sums, names


def _close(got, want, what):
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    err = float(np.max(np.abs(got - want), initial=0.0))
    assert err <= 1e-10 * (1 + float(np.max(np.abs(want), initial=0.0))), f"{what}: {err:.2e}"


MODELS = {
    "weight decay in energy and cost (counted once per example)": dict(
        energy="sum(s**2)/2 - b @ s + sum(W**2)/2 + sum(b**2) - tanh(s) @ W @ x",
        cost="sum((s - y)**2)/2 + sum(b**2) + sum(W**2)/10", state={"s": "3"},
        params={"W": {"shape": "3, 2", "init": "normal(0, 0.5)"}, "b": {"shape": "3", "init": "normal(0, 1)"}},
        data={"x": {"shape": "2", "init": "normal(0, 1)"}, "y": {"shape": "3", "init": "normal(0, 1)"}}),
    "a scalar parameter times an array": dict(
        energy="sum(s**2)/2 - w*sum(s*x) + logsumexp(s)*sum(c*c)", cost="sum((s - y)**2)/2",
        state={"s": "3"}, params={"w": "0.7", "c": {"shape": "2", "init": "normal(0, 0.3)"}},
        data={"x": {"shape": "3", "init": "normal(0, 1)"}, "y": {"shape": "3", "init": "normal(0, 1)"}}),
    "a temperature to learn": dict(
        energy="sum(s**2)/2 - x @ s - logsumexp(b * (X @ s)) / b", cost="sum((s - y)**2)/2",
        state={"s": "3"}, params={"X": {"shape": "4, 3", "init": "lecun"}, "b": "1.5"},
        data={"x": {"shape": "3", "init": "uniform(0, 1)"}, "y": {"shape": "3", "init": "uniform(0, 1)"}}),
    "an outer product read twice (fused and not)": dict(
        energy="sum(S**2)/2 + sum(t**2)/2 + tanh(t @ (S + b) @ (A @ x))", cost="sum(t**2)",
        state={"t": "2", "S": "2, 3"},
        params={"A": {"shape": "3, 3", "init": "normal(0, 1)"}, "b": {"shape": "3", "init": "normal(0, 1)"}},
        data={"x": {"shape": "3", "init": "normal(0, 1)"}}),
    "softmax of a scalar": dict(
        energy="sum(s**2)/2 + softmax(sum(s)) * sum(b*s)", cost="sum(s)**2/2", state={"s": "2"},
        params={"b": {"shape": "2", "init": "normal(0, 1)"}}),
    "matrix state, reductions and rolls": dict(
        energy="sum(S**2)/2 - sum(J * cos(S - roll(S, 1, axis=1))) - sum(softmax(S, axis=0) * P)",
        cost="sum(logsumexp(S, axis=1))", state={"S": "2, 3"},
        params={"J": {"shape": "2, 3", "init": "uniform(0.5, 1)"}, "P": {"shape": "2, 3", "init": "normal(0, 1)"}}),
    "names the generated code uses for its own (t1, t2, xp, D, P)": dict(
        energy="sum(s**2)/2 - tanh(s) @ t1 @ tanh(xp) - sum(s * t2) + sum(D**2)/2 + sum(D) * sum(s)",
        cost="sum((s - P)**2)/2", state={"s": "3"},
        params={"t1": {"shape": "3, 2", "init": "normal(0, 0.5)"}, "D": {"shape": "2", "init": "normal(0, 1)"}},
        data={"xp": {"shape": "2", "init": "normal(0, 1)"}, "t2": {"shape": "3", "init": "uniform(0, 1)"},
              "P": {"shape": "3", "init": "uniform(0, 1)"}}),
    "more of them (B, K, L, k0)": dict(
        energy="sum(s**2)/2 - s @ k0 @ tanh(B) - sum(L * s)", cost="sum((s - K)**2)/2",
        state={"s": "3"},
        params={"k0": {"shape": "3, 2", "init": "normal(0, 0.5)"}, "L": {"shape": "3", "init": "normal(0, 1)"}},
        data={"B": {"shape": "2", "init": "normal(0, 1)"}, "K": {"shape": "3", "init": "uniform(0, 1)"}}),
    "a vector field": dict(
        vector_field={"s": "-s + W @ tanh(s) + x"}, cost="sum((s - y)**2)/2", state={"s": "3"},
        params={"W": {"shape": "3, 3", "init": "normal(0, 0.4)"}},
        data={"x": {"shape": "3", "init": "normal(0, 1)"}, "y": {"shape": "3", "init": "normal(0, 1)"}}),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_generated_network_equals_sympy_example_by_example(name):
    print(f"seed {SEED}")
    model = ArrayModel(**MODELS[name])
    built = build(model, batch=B, seed=SEED)
    net, numbers = built.net, built.numbers
    rng = np.random.default_rng(SEED)
    s = rng.uniform(0.2, 0.8, (B, net.n_free))
    v = rng.uniform(-1, 1, (B, net.n_free))
    ref, sums, names = _reference(model, numbers, s, v)
    lin = net.linearize(s)
    _close(net.dE_ds(s), ref["g"], "dE/ds")
    _close(lin.hv(v), ref["hv"], "H v")
    _close(lin.hv(v, transpose=True), ref["hvT"], "H^T v")
    _close(net.dC_ds(s), ref["cs"], "C_s")
    _close(lin.cssv(v), ref["cssv"], "C_ss v")
    for p, m, c in zip(names, lin.mv(v, factored=True), net.dC_dtheta(s)):
        _close(_dense(m), sums["mv"][p], f"M v for {p}")
        _close(_dense(c), sums["Ct"][p], f"C_theta for {p}")
    if model.has_energy:
        E, g = net.energy_and_grad(s)
        _close(E, ref["E"], "E")
        _close(g, ref["g"], "energy_and_grad's gradient")
        for p, e in zip(names, net.dE_dtheta(s)):
            _close(_dense(e), sums["Et"][p], f"dE/dtheta for {p}")
        g, t, cs, readout = net.dual(s, v, factored=True)
        _close(g, ref["g"], "dual: dE/ds")
        _close(t, ref["hv"], "dual: H u")
        _close(cs, ref["cs"], "dual: C_s")
        for p, e in zip(names, readout):
            _close(_dense(e), sums["dEt"][p], f"dual: the readout's tangent for {p}")
        g, cs, readout = net.step(s)
        _close(g, ref["g"], "step: dE/ds")
        for p, e in zip(names, readout):
            _close(_dense(e), sums["Et"][p], f"step: dE/dtheta for {p}")


def test_a_vector_field_s_nudged_newton_uses_the_whole_jacobian():
    """Real beta on an asymmetric field with a curved cost: Newton's Jacobian is H + beta C_ss,
    not H (then it converged slowly, or not within its iterations)."""
    model = ArrayModel(vector_field={"s": "-s + W @ tanh(s) + x"}, cost="sum(y) * logsumexp(s) - y @ s",
                       state={"s": "4"}, params={"W": {"shape": "4, 4", "init": "normal(0, 0.4)"}},
                       data={"x": {"shape": "4", "init": "normal(0, 1)"},
                             "y": {"shape": "4", "init": "uniform(0, 1)"}})
    net = build(model, batch=2, seed=SEED).net
    s0, res0, _ = net.newton(np.zeros((2, 4)))
    assert res0 <= 1e-12
    s1, res1, iterations = net.newton(s0.copy(), beta=0.5, tol=1e-13)
    assert res1 <= 1e-13 and iterations <= 8, (res1, iterations)
