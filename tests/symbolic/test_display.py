"""``describe``: the derived equations, as text and LaTeX (the summary: test_derive_summary.py)."""

import pytest
import sympy as sp

from eqprop import Model, derive, load_model, quadratic
from eqprop.symbolic.display import describe

a, b, w, x, y, beta = sp.symbols("a b w x y beta", real=True)

# the two-neurons free dynamics, differentiated by hand from
# E = (a^2 + b^2)/2 - w tanh(a) tanh(b) - x tanh(b)
DA = -a + w * (1 - sp.tanh(a) ** 2) * sp.tanh(b)
DB = -b + w * (1 - sp.tanh(b) ** 2) * sp.tanh(a) + x * (1 - sp.tanh(b) ** 2)


@pytest.fixture(scope="module")
def two():
    return load_model("two-neurons")


def rhs_of(lines, lhs):
    return [ln.split("&=", 1)[1].rstrip(" \\").strip() for ln in lines if ln.startswith(lhs + " &=")]


def test_latex_two_neurons(two):
    text = describe(two, latex=True, full=True)
    lines = text.splitlines()
    assert lines[0] == "% eqprop derive: two neurons"
    assert "\\begin{align*}" in lines and lines[-1] == "\\end{align*}"
    assert "\\frac{da}{dt}" in text and "\\frac{db}{dt}" in text
    # free phase first, then the nudged phase, where the cost pulls: only the output neuron a
    free_a, nudged_a = rhs_of(lines, "\\frac{da}{dt}")
    [free_b] = rhs_of(lines, "\\frac{db}{dt}")
    assert free_a == sp.latex(DA)
    assert free_b == sp.latex(DB)
    # nudging adds -beta dC/ds
    assert "\\beta" in nudged_a and "\\beta" not in free_a
    assert rhs_of(lines, "E") == [sp.latex(two.energy)]
    assert rhs_of(lines, "C") == [sp.latex((a - y) ** 2 / 2)]
    # H entry by entry, j >= i (symmetric); M likewise; RBP's initial value dC/ds
    assert [ln.split(" &=")[0] for ln in lines if ln.startswith("H_{")] == [
        "H_{a,\\,a}", "H_{a,\\,b}", "H_{b,\\,b}"]
    assert [ln.split(" &=")[0] for ln in lines if ln.startswith("M_{")] == ["M_{w,\\,a}", "M_{w,\\,b}"]
    assert rhs_of(lines, "\\frac{\\partial C}{\\partial a}") == [sp.latex(a - y)]
    assert "paper 2.1" in text and "paper 4.2" in text


def test_text_two_neurons(two):
    text = describe(two, full=True)
    assert text.startswith("eqprop derive: two neurons")
    for fragment in ("  E = ", "  C = ", "  da/dt = ", "  db/dt = ", "  H[a, a] = ", "  H[a, b] = ",
                     "  M[w, a] = ", "  dC/da = a - y", "beta*(a - y)", "tanh(b)"):
        assert fragment in text, fragment
    assert "  H[b, a] = " not in text  # symmetric: once
    assert text.count("da/dt = ") == 2 and text.count("db/dt = ") == 1
    assert "\\frac" not in text
    assert text.isascii()


def test_differs_between_models(two):
    other = Model(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b)", cost="(a - y)**2/2",
                  state=["a", "b"], params={"w": "0.3"}, data={"y": "0.2"}, name="no input")
    lines = describe(other, latex=True).splitlines()
    # without the input term, db/dt loses its x-dependent part
    assert rhs_of(lines, "\\frac{db}{dt}")[0] == sp.latex(DB.subs(x, 0))
    assert rhs_of(lines, "\\frac{db}{dt}")[0] != rhs_of(describe(two, latex=True).splitlines(),
                                                        "\\frac{db}{dt}")[0]


def test_large_model_summarizes_matrices():
    n = 41
    text = describe(quadratic(n))
    assert "  H = " not in text and "H[" not in text
    # H = I - W_sym is dense: n^2 structural non-zeros, drawn in blocks beyond 40 state variables
    assert f"{n} x {n} (symmetric), {n * n:,} structural non-zeros of {n * n:,}" in text
    assert "each character a block of 2 x 2 entries" in text


def test_vector_field_model():
    m = Model(vector_field=["-a + w*b", "-b"], cost="a**2/2", state=["a", "b"], params={"w": "1/4"})
    text = describe(m, latex=True)
    assert "(a vector field, no energy)" in text
    assert "E &=" not in text
    assert rhs_of(text.splitlines(), "\\frac{da}{dt}")[0] == sp.latex(-a + w * b)


# -- budgets: nothing derive does may hang --------------------------------------------------

def test_nested_tanh_30_deep_is_derived_in_linear_time(monkeypatch):
    """The derivatives came back to SymPy through sympify, over symbols without assumptions, and
    SymPy's question 'is tanh(tanh(...)) real?' doubled in cost with each level: 12 deep took
    minutes. Formulas stop at 8 nested calls (for codegen), so the limit is lifted here."""
    import eqprop.symbolic.walker as walker
    from deadline import deadline
    monkeypatch.setattr(walker, "MAX_CALL_DEPTH", 40)
    deep = "tanh(" * 30 + "a" + ")" * 30
    m = Model(energy=f"a**2/2 + w*{deep}", cost="(a - 1)**2/2", state=["a"], params={"w": "0.1"})
    with deadline(30):
        text = describe(m)
        h = derive(m).sympy("d2E_ds2")[0, 0]
    assert "da/dt = " in text and "tanh" in text
    assert h.free_symbols <= {a, w} and all(s.is_real for s in h.free_symbols)
    t = sp.tanh(a)
    for _ in range(4):  # the conversion is exact: checked against SymPy's own diff at depth 5
        t = sp.tanh(t)
    m5 = Model(energy=a**2 / 2 + w * t, cost=(a - 1) ** 2 / 2, state=[a], params={w: "0.1"})
    assert sp.simplify(derive(m5).sympy("d2E_ds2")[0, 0] - sp.diff(m5.energy, a, 2)) == 0


def test_derive_refuses_models_beyond_its_budget(monkeypatch):
    import eqprop.symbolic.display as display
    from eqprop import EqpropError
    from eqprop.symbolic.builtins import spec_terms
    for spec in ("quadratic:1", "quadratic:9", "hopfield:2,3,3,2", "hopfield:3,2:softplus",
                 "hopfield:1,4,2:hardsigmoid", "two-neurons"):
        expected = spec_terms(spec)
        assert expected is None or expected == display.model_terms(load_model(spec)), spec
    assert spec_terms("quadratic:631") == 631 * 634 // 2 + 1 and spec_terms("paper") is None
    monkeypatch.setattr(display, "MAX_TERMS", 50)
    with pytest.raises(EqpropError, match="55 terms .* at most 50 "):
        describe(quadratic(9))
    assert "ds_0/dt" in describe(quadratic(8))  # 45 terms


def test_print_budget_names_the_rest(monkeypatch):
    import eqprop.symbolic.display as display
    monkeypatch.setattr(display, "FULL_BUDGET", 3000)
    text = describe(quadratic(30), full=True)
    assert "  E = " in text and "ds_0/dt = " in text  # E: about 2,500 nodes
    skipped = [ln for ln in text.splitlines() if "not printed, 3,000 nodes printed already" in ln]
    assert skipped and ".. ds_29/dt): not printed" in skipped[0]  # one line per section
    assert len(text) < 40_000
