"""Model validation, exact values, smoothness detection and TOML loading."""

import textwrap
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from problems import TWO

import eqprop
from eqprop import EqpropError, Model, hopfield, load_model, quadratic

a, b = sp.symbols("a b", real=True)

BASE = dict(energy="a**2/2 + b**2/2 - w*tanh(a)*tanh(b)", cost="(a - y)**2/2",
            state=["a", "b"], params={"w": "0.3"}, data={"y": "0.2"})


def make(**changes):
    kw = dict(BASE)
    kw.update(changes)
    return Model(**kw)


def test_valid_model_basics():
    m = make()
    assert [s.name for s in m.state] == ["a", "b"]
    assert [s.name for s in m.theta] == ["w"]
    assert m.params[m.theta[0]] == sp.Rational(3, 10)
    assert m.data[m.data_symbols[0]] == sp.Rational(1, 5)
    assert m.has_energy and m.holomorphic and m.non_smooth == ()
    assert sp.simplify(m.energy - (a**2 / 2 + b**2 / 2
                                   - sp.Symbol("w", real=True) * sp.tanh(a) * sp.tanh(b))) == 0


# -- validation errors ------------------------------------------------------

@pytest.mark.parametrize("changes, fragment", [
    (dict(params={"a": "0.3"}), "'a' is declared both in state and in params"),
    (dict(data={"w": "1"}, energy="a**2/2 + b**2/2", params={"w": "0.3"}),
     "'w' is declared both in params and in data"),
    (dict(state=["a", "a"]), "twice in state"),
    (dict(energy=sp.Matrix([a**2, b**2])), "scalar"),
    (dict(energy=["a**2", "b**2"]), "scalar"),
    (dict(energy=("a**2",)), "scalar"),
    (dict(energy=np.array([1.0, 2.0])), "scalar"),
    (dict(cost=sp.Matrix([a, b])), "cost: must be a scalar"),
    (dict(cost=["a", "b"]), "cost: must be a scalar"),
    (dict(energy="w*y"), "does not depend on any state variable"),
    (dict(energy=5), "does not depend on any state variable"),
    (dict(params={"w": "nan"}), "finite"),
    (dict(params={"w": "inf"}), "finite"),
    (dict(params={"w": "-Infinity"}), "finite"),
    (dict(params={"w": float("nan")}), "nan"),
    (dict(params={"w": float("inf")}), "inf"),
    (dict(params={"w": mpmath.mpf("inf")}), "finite"),
    (dict(params={"w": mpmath.mpf("nan")}), "finite"),
    (dict(params={"w": True}), "boolean"),
    (dict(params={"w": "zero point three"}), "cannot read"),
    (dict(params={"w": sp.sqrt(2)}), "exact decimal"),
    (dict(params={"w": sp.I}), "real"),
    (dict(params=["w"]), "mapping"),
    (dict(state=[]), "state: empty"),
    (dict(state=()), "state: empty"),
    (dict(state=["a b"]), "not a valid variable name"),
    (dict(state=["lambda"]), "not a valid variable name"),
    (dict(state=["tanh", "b"]), "reserved"),
    (dict(vector_field=["-a", "-b"]), "not both"),
    (dict(energy=None), "not neither"),
    (dict(energy=None, vector_field=["-a"]), "has 1 components but the state has 2"),
    (dict(energy=None, vector_field=["-a", "-b", "-a"]), "has 3 components"),
    (dict(energy=None, vector_field="-a"), "one expression per state variable"),
    (dict(energy="a**2 + q"), "undeclared symbol 'q'"),
    (dict(energy=a**2 + sp.Symbol("q")), "undeclared symbol 'q'"),
    (dict(cost=None), "cost: missing"),
    (dict(name=3), "name"),
])
def test_validation_errors(changes, fragment):
    with pytest.raises(EqpropError) as info:
        make(**changes)
    assert fragment in str(info.value), str(info.value)


def test_eqprop_error_is_value_error():
    # the CLI and callers catch one class; it stays a ValueError for library users
    assert issubclass(EqpropError, ValueError)


# -- exact values -----------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (Fraction(1, 3), Fraction(1, 3)),
    (0.1, Fraction(1, 10)),
    (-2.5, Fraction(-5, 2)),
    ("0.35", Fraction(7, 20)),
    ("7/20", Fraction(7, 20)),
    ("1e-3", Fraction(1, 1000)),
    (4, Fraction(4)),
    (sp.Rational(-3, 7), Fraction(-3, 7)),
    (sp.Float("0.1"), Fraction(1, 10)),
    (mpmath.mpf("0.375"), Fraction(3, 8)),
    (mpmath.mpf(2) ** -30, Fraction(1, 2**30)),
])
def test_values_kept_exact(value, expected):
    m = make(params={"w": value})
    theta, data = m.values()
    assert theta == (expected,)
    assert data == (Fraction(1, 5),)
    assert m.params[m.theta[0]] == sp.Rational(expected.numerator, expected.denominator)


def test_mpf_is_read_bit_exactly():
    with mpmath.workdps(30):
        x = mpmath.mpf(1) / 3  # not a decimal: its binary value must be kept exactly
        m = make(params={"w": x})
        (got,), _ = m.values()
        man, exp = x.man_exp
        assert got == Fraction(man) * Fraction(2) ** exp
        assert mpmath.mpf(got.numerator) / got.denominator == x


def test_numpy_float64_accepted():
    m = make(params={"w": np.float64(0.1)})
    assert m.values()[0] == (Fraction(1, 10),)


def test_with_params_replaces_exactly():
    m = make().with_params(w="0.25")
    assert m.values()[0] == (Fraction(1, 4),)
    with pytest.raises(EqpropError, match="unknown parameter 'v'"):
        make().with_params(v=1)


# -- smoothness -------------------------------------------------------------

@pytest.mark.parametrize("energy, kind", [
    ("a**2/2 + b**2/2 + Abs(a - b)", "Abs"),
    ("a**2/2 + b**2/2 + abs(a)", "Abs"),
    ("a**2/2 + b**2/2 - Min(a, b)", "Min"),
    ("a**2/2 + b**2/2 - max(a, 0)*b", "Max"),
    ("a**2/2 + b**2/2 - Heaviside(a)*b", "Heaviside"),
    ("a**2/2 + b**2/2 - w*hardsigmoid(a)*hardsigmoid(b)", "Max"),
    (a**2 / 2 + b**2 / 2 + sp.Piecewise((a, a > 0), (0, True)), "Piecewise"),
])
def test_non_smooth_detected(energy, kind):
    m = make(energy=energy)
    assert kind in m.non_smooth
    assert m.holomorphic is False


def test_non_smooth_in_cost_detected():
    m = make(cost="Abs(a - y)")
    assert m.non_smooth == ("Abs",)
    assert not m.holomorphic


@pytest.mark.parametrize("rho, smooth", [("hardsigmoid", False), ("tanh", True),
                                         ("sigmoid", True), ("smoothhard", True)])
def test_hopfield_rho_smoothness(rho, smooth):
    m = hopfield([2, 2, 2], rho=rho)
    assert (m.non_smooth == ()) is smooth
    assert m.holomorphic is smooth
    if not smooth:
        assert set(m.non_smooth) == {"Max", "Min"}


def test_smooth_functions_are_smooth():
    m = make(energy="a**2/2 + b**2/2 - w*sigmoid(a)*tanh(b) + softplus(a) + exp(-b**2)")
    assert m.non_smooth == () and m.holomorphic


# -- TOML files -------------------------------------------------------------

VALID = textwrap.dedent('''\
    name = "my two neurons"
    state = ["a", "b"]
    energy = """
        (a**2 + b**2)/2
        - w*tanh(a)*tanh(b)
        - x*tanh(b)
    """
    cost = "(a - y)**2/2"

    [params]
    w = "0.3"

    [data]
    x = "0.5"
    y = "0.2"

    [verify]
    dps = 25
    initial_state = [0, 0]
''')


def write(tmp_path, text, name="model.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_valid_toml(tmp_path):
    m = load_model(write(tmp_path, VALID))
    assert m.name == "my two neurons"
    assert [s.name for s in m.state] == ["a", "b"]
    w, x, y = sp.symbols("w x y", real=True)
    expected = (a**2 + b**2) / 2 - w * sp.tanh(a) * sp.tanh(b) - x * sp.tanh(b)
    assert sp.expand(m.energy - expected) == 0
    assert m.values() == ((Fraction(3, 10),), (Fraction(1, 2), Fraction(1, 5)))
    assert m.verify == {"dps": 25, "initial_state": [0, 0]}
    # the same path as a string works too
    assert load_model(str(tmp_path / "model.toml")).name == "my two neurons"


def test_load_name_defaults_to_file_stem(tmp_path):
    text = VALID.replace('name = "my two neurons"\n', "")
    assert load_model(write(tmp_path, text, "stem_name.toml")).name == "stem_name"


@pytest.mark.parametrize("edit, fragment", [
    (lambda t: t.replace('w = "0.3"', 'w = "0.3'), "TOML syntax error"),
    (lambda t: t.replace('cost = "(a - y)**2/2"\n', ""), "missing field 'cost'"),
    (lambda t: t.replace('state = ["a", "b"]\n', ""), "missing field 'state'"),
    (lambda t: t.replace('name = "my two neurons"', 'name = "x"\nenergie = "a"'),
     "unknown field 'energie'"),
    (lambda t: t.replace("dps = 25", "dps = 25\nprecision = 3"), "unknown [verify] key 'precision'"),
    (lambda t: t.replace('state = ["a", "b"]', 'state = "a"'), "state must be a list"),
    (lambda t: t.replace('w = "0.3"', 'w = "0.3"\nq = "nan"'), "finite"),
    (lambda t: t.replace("- x*tanh(b)", "- z*tanh(b)"), "undeclared symbol 'z'"),
    (lambda t: t.replace("- x*tanh(b)", "- x.real"), "attribute access"),
])
def test_load_bad_toml(tmp_path, edit, fragment):
    path = write(tmp_path, edit(VALID))
    with pytest.raises(EqpropError) as info:
        load_model(path)
    msg = str(info.value)
    assert fragment in msg, msg
    assert str(path) in msg or fragment in ("finite", "undeclared symbol 'z'", "attribute access")


def test_load_missing_energy(tmp_path):
    text = VALID.split('cost = ')[0].split("energy = ")[0] + 'cost = "a"\n'
    with pytest.raises(EqpropError, match="missing field 'energy'"):
        load_model(write(tmp_path, text))


def test_load_nonexistent_file(tmp_path):
    with pytest.raises(EqpropError, match="no such model file"):
        load_model(tmp_path / "nope.toml")


def test_builtin_names():
    names = eqprop.builtin_names()
    assert "paper" in names and "two-neurons" in names


def test_builtin_paper():
    m = load_model("paper")
    assert m.layers == (2, 3, 3, 2)
    assert len(m.state) == 8
    assert len(m.params) == 2 * 3 + 3 * 3 + 3 * 2
    assert len(m.data) == 4
    assert m.holomorphic
    # the file's energy is the paper's modified Hopfield energy (paper 2.4) with sigmoid
    sig = lambda z: 1 / (1 + sp.exp(-z))  # noqa: E731
    S = {s.name: s for s in (*m.state, *m.theta, *m.data_symbols)}
    expected = sum(s**2 for s in m.state) / 2
    for name, sym in S.items():
        if name.startswith("W"):
            l, i, j = name[1], name.split("_")[1], name.split("_")[2]
            lower = S[f"s{l}_{i}"]
            upper = S[f"s{int(l) + 1}_{j}"] if f"s{int(l) + 1}_{j}" in S else S[f"x_{j}"]
            expected -= sym * sig(lower) * sig(upper)
    assert sp.simplify(sp.expand(m.energy - expected)) == 0


def test_builtin_two_neurons_both_spellings():
    for name in ("two-neurons", "two_neurons"):
        m = load_model(name)
        assert [s.name for s in m.state] == ["a", "b"]
        assert m.values() == ((Fraction(3, 10),), (Fraction(1, 2), Fraction(1, 5)))


def test_spec_hopfield():
    m = load_model("hopfield:2,3,2")
    assert m.layers == (2, 3, 2)
    assert len(m.state) == 2 + 3
    assert len(m.params) == 2 * 3 + 3 * 2
    assert len(m.data) == 2 + 2  # inputs x, targets y
    t = load_model("hopfield:2,3,2:tanh")
    assert t.energy.has(sp.tanh) and not m.energy.has(sp.tanh)


def test_spec_quadratic():
    m = load_model("quadratic:3")
    assert len(m.state) == 3
    assert len(m.params) == 3 + 3  # W_0_1, W_0_2, W_1_2 and b_0..b_2
    assert sp.Poly(m.energy, *m.state).total_degree() == 2


@pytest.mark.parametrize("spec", ["hopfield:2,x", "quadratic:three", "hopfield:", "quadratic:0",
                                  "hopfield:2"])
def test_bad_specs(spec):
    with pytest.raises(EqpropError):
        load_model(spec)


def test_load_model_passes_models_through():
    m = quadratic(2)
    assert load_model(m) is m


def test_rho_formula_in_any_variable():
    m = hopfield([1, 1], rho="u/(1 + u**2)", seed=0)
    s, x = m.state[0], m.data_symbols[0]
    wsym = m.theta[0]
    expected = s**2 / 2 - wsym * (s / (1 + s**2)) * (x / (1 + x**2))
    assert sp.simplify(m.energy - expected) == 0


@pytest.mark.parametrize("spec", ["hopfield:2,2:relu", "hopfield:2,2:sigmod"])
def test_unknown_activation_name_rejected(spec):
    with pytest.raises(EqpropError, match="activation"):
        load_model(spec)


@pytest.mark.parametrize("energy, fragment", [
    ("a**2/2 + b**2/2 + sqrt(-1)*a", "real"),
    ("a**2/2 + b**2/2 + log(0)*a", "finite"),
    ("a**2/2 + b**2/2 + 1/0", "finite"),
])
def test_non_real_energy_rejected(energy, fragment):
    with pytest.raises(EqpropError, match=fragment):
        make(energy=energy)


# -- SymPy expressions are held to the formula whitelist -----------------------

w_, y_ = sp.symbols("w y", real=True)
_f = sp.Function("f")


@pytest.mark.parametrize("extra, fragment", [
    (sp.frac(a), "unknown function 'frac'; allowed: Abs, "),     # once verified with a wrong dE/ds
    (sp.Mod(a, 1), "unknown function 'Mod'; allowed: "),         # likewise
    (sp.gamma(a + 2), "unknown function 'gamma'; allowed: "),    # once a raw exception
    (sp.LambertW(a + 1), "unknown function 'LambertW'; allowed: "),
    (sp.Integral(a * b, a), "Integral (Integral(a*b, a)) is not allowed in a formula"),
    (_f(a), "unknown function 'f'; allowed: "),
    (sp.Derivative(_f(a), a), "Derivative"),
    (sp.DiracDelta(a), "unknown function 'DiracDelta'"),
    (sp.EulerGamma * a, "the constant EulerGamma is not allowed"),
    (sp.Sum(a * w_, (w_, 1, 3)), "Sum"),
    (a**1001, "exponent 1001 is too large (at most 1000)"),
    (sp.Rational(1, 10**5000) * a, "out of range"),
    (sp.Integer(7) ** 6000 * a, "digits"),
    (sp.Piecewise((sp.frac(a), a > 0), (0, True)), "unknown function 'frac'"),
])
def test_sympy_expression_off_the_whitelist_is_refused(extra, fragment):
    for field in ("energy", "cost"):
        kw = {"energy": a**2 / 2 + b**2 / 2 + (extra if field == "energy" else 0),
              "cost": (a - y_) ** 2 / 2 + (extra if field == "cost" else 0)}
        with pytest.raises(EqpropError) as info:
            make(**kw)
        msg = str(info.value)
        assert msg.startswith(f"{field}: ") and fragment in msg and "\n" not in msg, msg


def test_sympy_nesting_limits_are_the_parsers():
    from eqprop.symbolic.parse import MAX_CALL_DEPTH, MAX_DEPTH
    deep = a
    for _ in range(MAX_CALL_DEPTH):
        deep = sp.tanh(deep)
    assert make(energy=a**2 / 2 + b**2 / 2 + deep).energy.has(sp.tanh)
    with pytest.raises(EqpropError, match=f"at most {MAX_CALL_DEPTH} are allowed"):
        make(energy=a**2 / 2 + b**2 / 2 + sp.tanh(deep))
    tall = a
    for k in range(MAX_DEPTH + 5):  # a + b*(a + b*(...)): two levels a step
        tall = a + (k + 2) * b * tall if k % 2 else b + a * tall
    with pytest.raises(EqpropError, match=f"at most {MAX_DEPTH} levels"):
        make(energy=a**2 / 2 + b**2 / 2 + tall)


def test_sympy_expression_on_the_whitelist_matches_the_formula():
    """Accepted SymPy input runs as the same formula would: same expression, same flags."""
    text = ("a**2/2 + b**2/2 - w*tanh(a)*sigmoid(b) + softplus(a)/4 + erf(b)/8 + sqrt(b**2 + 1)/8 "
            "+ exp(-a**2)*pi/16 + E**b/32 + atan(a)*acosh(b**2 + 2)/64")
    s = sp.Symbol
    expr = (a**2 / 2 + b**2 / 2 - s("w") * sp.tanh(a) / (1 + sp.exp(-b))
            + sp.log(1 + sp.exp(a)) / 4 + sp.erf(b) / 8 + sp.sqrt(b**2 + 1) / 8
            + sp.exp(-a**2) * sp.pi / 16 + sp.E**b / 32 + sp.atan(a) * sp.acosh(b**2 + 2) / 64)
    m_text, m_sympy = make(energy=text), make(energy=expr)
    assert m_text.energy == m_sympy.energy and m_sympy.non_smooth == ()
    rough = make(energy=a**2 / 2 + b**2 / 2 + sp.Abs(a) + sp.Max(a, b) + sp.Heaviside(b)
                 + sp.floor(a) + sp.Min(a, 0) + sp.sign(b) + sp.ceiling(b))
    assert rough.non_smooth == ("Abs", "Heaviside", "Max", "Min", "ceiling", "floor", "sign")
    # SymPy-only forms kept: Piecewise (non-smooth) and binary floats, read as the decimal shown
    assert make(energy=a**2 / 2 + b**2 / 2 + sp.Piecewise((a, a > 0), (0, True))).non_smooth \
        == ("Piecewise",)
    assert make(energy=sp.Float("0.1") * a**2 + b**2).energy == a**2 / 10 + b**2
    fine = eqprop.verify(make(energy=expr), dps=15, times=[0, 1])
    assert fine.verdict.short == "verified"


def test_sympy_rho_is_held_to_the_whitelist():
    from eqprop.symbolic.builtins import rho_function
    z = sp.Symbol("z", real=True)
    with pytest.raises(EqpropError, match="rho: unknown function 'gamma'"):
        rho_function(sp.gamma(z + 2))
    assert rho_function(sp.tanh(sp.Symbol("u"))) == sp.tanh(z)


def test_with_params_does_not_check_again():
    """softplus is one call in a formula and two in SymPy (log(1 + exp)): a model of 8 nested
    softplus is within the formula limit, and with_params keeps it (no second walk)."""
    deep = "softplus(" * 8 + "a" + ")" * 8
    m = make(energy=f"a**2/2 + b**2/2 + w*{deep}")
    assert m.with_params(w="0.1").params[m.theta[0]] == sp.Rational(1, 10)


def test_verify_keys_are_one_list(tmp_path):
    """Model files and the options of a verification check [verify] against one list, and every
    key on it is one that the options read (none accepted by a file and then ignored)."""
    import inspect
    import re

    from eqprop.proofs import options
    from eqprop.symbolic.model import VERIFY_KEYS
    assert options.KNOWN_KEYS is VERIFY_KEYS
    read = set(re.findall(r'pick\("(\w+)"', inspect.getsource(options.resolve)))
    assert read == set(VERIFY_KEYS)
    path = tmp_path / "m.toml"
    path.write_text('state = ["a"]\nenergy = "a**2/2"\ncost = "a"\n[verify]\nprecision = 30\n')
    with pytest.raises(EqpropError, match="unknown \\[verify\\] key 'precision'.*allowed: dps"):
        load_model(path)


# -- names that look like other names -----------------------------------------------------------

CYRILLIC_A = "\u0430"  # prints as the Latin a


@pytest.mark.parametrize("changes, fragment", [
    # a parameter named with the Cyrillic a beside a state a: once two symbols printed the same
    (dict(params={CYRILLIC_A: "0.3"}, energy=f"(a**2 + b**2)/2 - {CYRILLIC_A}*tanh(a)*tanh(b)"),
     "params: the name 'а' contains U+0430 CYRILLIC SMALL LETTER A, which looks like the Latin 'a'"),
    (dict(params={"w" + CYRILLIC_A: "0.3"}), "write 'wa' if the Latin letter is meant"),
    (dict(state=["a", "b\u0445"]), "U+0445 CYRILLIC SMALL LETTER HA, which looks like the Latin 'x'"),
    (dict(data={"\u03bf": "1"}), "U+03BF GREEK SMALL LETTER OMICRON, which looks like the Latin 'o'"),
    (dict(params={"\u039c": "1"}), "U+039C GREEK CAPITAL LETTER MU, which looks like the Latin 'M'"),
    (dict(params={"w\u0432": "1"}), "mixes Cyrillic and Latin letters (U+0432 CYRILLIC SMALL LETTER VE"),
    (dict(energy=f"(a**2 + b**2)/2 - w*t{CYRILLIC_A}nh(a)*tanh(b)"),
     "energy: the name 'tаnh' contains U+0430 CYRILLIC SMALL LETTER A"),
    (dict(cost=f"({CYRILLIC_A} - y)**2/2"), "cost: the name 'а' contains U+0430"),
    (dict(energy=a**2 / 2 + b**2 / 2 - sp.Symbol(CYRILLIC_A) * a), "energy: the name 'а' contains U+0430"),
])
def test_lookalike_names_are_refused(changes, fragment):
    with pytest.raises(EqpropError) as info:
        make(**changes)
    assert fragment in str(info.value), str(info.value)


def test_greek_and_other_names_still_work():
    m = make(energy="(a**2 + b**2)/2 - θ*tanh(a)*tanh(b) - β*W_θ*b + α*ν*вес*a",
             params={"θ": "0.3", "β": "0.1", "W_θ": "1", "α": "0.1", "ν": "1", "вес": "1"})
    assert [s.name for s in m.theta] == ["θ", "β", "W_θ", "α", "ν", "вес"]
    m = make(state=["ａ", "b"], energy="(a**2 + b**2)/2")  # fullwidth: the Latin a, as in Python
    assert m.state[0].name == "a"
    from eqprop.symbolic.builtins import rho_function
    with pytest.raises(EqpropError, match="rho: the name 'tаnh' contains U\\+0430"):
        rho_function(f"t{CYRILLIC_A}nh")


@pytest.mark.parametrize("name", ["_beta", "_v0", "_x"])
def test_names_with_a_leading_underscore_are_reserved(name):
    """A false verdict once (from the verdict's regression cases, test_verdict.py)."""
    with pytest.raises(EqpropError, match="underscore"):
        Model(**{**TWO, "params": {name: "0.3"}, "energy": TWO["energy"].replace("w*", f"{name}*")})
