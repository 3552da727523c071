"""Each array derivative rule against SymPy on the scalar expansion (issue 22, item 2).

For every operation of :mod:`eqprop.symbolic.arrays.ir` an energy uses it;
the array path's derivatives (reverse mode: dE/ds, dE/dtheta, H^T v, M v;
forward mode: H v), written out entry by entry, must equal SymPy's
derivatives of the written-out energy, at random exact points, to 40
digits. Nothing numeric of the array path is involved: this checks the
rules (:mod:`eqprop.symbolic.arrays.rules`), not the generated code (the
agreement tests do that).
"""

import numpy as np
import pytest
import sympy as sp

from eqprop.symbolic.arrays import ir
from eqprop.symbolic.arrays.diff import grad, jvp, vjp
from eqprop.symbolic.arrays.expand import expand, scalar_names
from eqprop.symbolic.arrays.parse import parse_array

SEED = 7
z = sp.Symbol("z", real=True)
FUNCTIONS = {"rho": 1 / (1 + sp.exp(-z))}

#: (energy, state shapes, parameter shapes): every operation at least once
CASES = {
    "add broadcast": ("sum((S + b)**2) + sum(s**2)", {"S": (2, 3), "s": (3,)}, {"b": (3,)}),
    "mul and numbers": ("sum(S * W * S) / 3 + 2 * sum(s * s)", {"S": (2, 3), "s": (2,)}, {"W": (2, 3)}),
    "integer power": ("sum(s**3) + sum(s**4) / 4", {"s": (3,)}, {}),
    "array exponent": ("sum(p ** s)", {"s": (3,)}, {"p": (3,)}),
    "division": ("sum(s / (2 + s**2)) + sum(1 / (1 + W**2 * s**2))", {"s": (3,)}, {"W": (3,)}),
    "functions": ("sum(tanh(s)) + sum(rho(s) * exp(-s**2)) + sum(log(1 + s**2))", {"s": (3,)}, {}),
    "matrix times vector": ("sum(tanh(W @ s)) + sum(s**2)/2", {"s": (3,)}, {"W": (2, 3)}),
    "vector times vector": ("(s @ s) * (a @ s)", {"s": (3,)}, {"a": (3,)}),
    "vector times matrix": ("rho(s) @ W @ rho(t) + sum(t**2)", {"s": (2,), "t": (3,)}, {"W": (2, 3)}),
    "matrix times matrix": ("sum((A @ S)**2) + sum(S.T @ B)", {"S": (3, 2)}, {"A": (2, 3), "B": (3, 3)}),
    "transpose": ("sum(tanh(S.T @ a)) + sum(transpose(S) * C)", {"S": (3, 2)}, {"a": (3,), "C": (2, 3)}),
    "sum over an axis": ("sum(sum(S, axis=0)**2) + sum(sum(S, axis=-1)**3)", {"S": (2, 3)}, {}),
    "mean": ("mean(S**2) + sum(mean(S, axis=1)**2)", {"S": (2, 3)}, {}),
    "logsumexp": ("logsumexp(W @ s) + sum(logsumexp(S, axis=1))", {"s": (3,), "S": (2, 3)},
                  {"W": (2, 3)}),
    "softmax": ("sum(softmax(S, axis=1) * C) + sum(softmax(s) * c)", {"S": (2, 3), "s": (3,)},
                {"C": (2, 3), "c": (3,)}),
    "roll": ("sum(W * cos(S - roll(S, 1, axis=0))) + sum(sin(S - roll(S, -1, axis=1)))",
             {"S": (3, 3)}, {"W": (3, 3)}),
    "reshape": ("sum(tanh(reshape(s, (2, 3)) @ w)) + sum(reshape(s, (3, -1))**2)", {"s": (6,)},
                {"w": (3,)}),
    "outer": ("sum(outer(s, t) * K) + sum(outer(s, s)**2)", {"s": (2,), "t": (3,)}, {"K": (2, 3)}),
}


def _setup(energy, states, params):
    variables = {n: ir.var(n, "state", sh) for n, sh in states.items()}
    variables.update({n: ir.var(n, "param", sh) for n, sh in params.items()})
    E = parse_array(energy, variables, FUNCTIONS, what="energy")
    symbols = {}
    for n, v in variables.items():
        syms = [sp.Symbol(x, real=True) for x in scalar_names(n, v.shape)]
        arr = np.empty(len(syms), dtype=object)
        arr[:] = syms
        symbols[n] = arr.reshape(v.shape)
    return variables, E, symbols


def _point(symbols, rng):
    """Random exact values in [0.2, 0.9] (inside every domain used above)."""
    return {x: sp.Rational(int(rng.integers(200, 900)), 1000)
            for arr in symbols.values() for x in np.ravel(arr)}


def _value(e, point):
    return sp.N(sp.sympify(e).xreplace(point), 45)


def _assert_equal(got, want, point, what):
    got, want = np.ravel(got), np.ravel(want)
    assert got.shape == want.shape, what
    for a, b in zip(got, want):
        va, vb = _value(a, point), _value(b, point)
        assert abs(va - vb) <= sp.Float("1e-38") * (1 + abs(vb)), f"{what}: {va} != {vb}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_reverse_and_forward_rules_equal_sympy(case):
    print(f"seed {SEED}")
    energy, states, params = CASES[case]
    variables, E, symbols = _setup(energy, states, params)
    rng = np.random.default_rng(SEED)
    point = _point(symbols, rng)
    E_scalar = expand(E, symbols)[()]
    state_vars = [variables[n] for n in states]
    param_vars = [variables[n] for n in params]
    grads = grad(E, state_vars + param_vars)
    flat_states = [x for n in states for x in np.ravel(symbols[n])]
    # dE/ds and dE/dtheta
    for var, g in zip(state_vars + param_vars, grads):
        want = np.array([sp.diff(E_scalar, x) for x in np.ravel(symbols[var.attrs[0]])], dtype=object)
        _assert_equal(expand(g, symbols), want, point, f"{case}: dE/d{var.attrs[0]}")
    # H v (forward mode) and H^T v, M v (reverse mode on v . g), with exact random v
    tangents = {v: ir.var(f"v_{v.attrs[0]}", "tangent", v.shape) for v in state_vars}
    for v, t in tangents.items():
        syms = [sp.Rational(int(k), 7) for k in rng.integers(-7, 8, v.size)]
        arr = np.empty(len(syms), dtype=object)
        arr[:] = syms
        symbols[t.attrs[0]] = arr.reshape(v.shape)
    vflat = [x for v in state_vars for x in np.ravel(symbols[tangents[v].attrs[0]])]
    g_states = grads[:len(state_vars)]
    hv = jvp(g_states, tangents)
    g_flat = [sp.diff(E_scalar, x) for x in flat_states]
    H_v = [sum(sp.diff(gi, xj) * vj for xj, vj in zip(flat_states, vflat)) for gi in g_flat]
    got = np.concatenate([np.ravel(expand(h, symbols)) for h in hv])
    _assert_equal(got, np.array(H_v, dtype=object), point, f"{case}: H v")
    phi = None
    for v, g in zip(state_vars, g_states):
        term = ir.total(ir.mul(tangents[v], g))
        phi = term if phi is None else ir.add(phi, term)
    back = vjp(phi, ir.num(1), state_vars + param_vars)
    got = np.concatenate([np.ravel(expand(h, symbols)) for h in back[:len(state_vars)]])
    _assert_equal(got, np.array(H_v, dtype=object), point, f"{case}: H^T v")  # H symmetric
    for var, m in zip(param_vars, back[len(state_vars):]):
        want = [sum(sp.diff(gi, x) * vi for gi, vi in zip(g_flat, vflat))
                for x in np.ravel(symbols[var.attrs[0]])]
        _assert_equal(expand(m, symbols), np.array(want, dtype=object), point,
                      f"{case}: M v for {var.attrs[0]}")


def test_a_vector_field_rule_has_no_symmetry_to_lean_on():
    """H^T v of a non-gradient field (reverse mode) is the transpose of H v (forward mode)."""
    variables = {"s": ir.var("s", "state", (3,)), "W": ir.var("W", "param", (3, 3))}
    F = parse_array("W @ tanh(s) - s", variables, what="F")
    g = ir.neg(F)
    s, W = variables["s"], variables["W"]
    v = ir.var("v", "tangent", (3,))
    syms = {"s": np.array(sp.symbols("s_0:3", real=True), dtype=object),
            "W": np.array(sp.symbols("W_0:9", real=True), dtype=object).reshape(3, 3),
            "v": np.array(sp.symbols("v_0:3", real=True), dtype=object)}
    J = sp.Matrix(3, 3, lambda i, j: sp.diff(expand(g, syms)[i], syms["s"][j]))
    hv = expand(jvp([g], {s: v})[0], syms)
    htv = expand(vjp(ir.total(ir.mul(v, g)), ir.num(1), [s])[0], syms)
    vv = sp.Matrix(syms["v"])
    assert all(sp.simplify(a - b) == 0 for a, b in zip(hv, J * vv))
    assert all(sp.simplify(a - b) == 0 for a, b in zip(htv, J.T * vv))
    assert any(sp.simplify(a - b) != 0 for a, b in zip(hv, htv))
