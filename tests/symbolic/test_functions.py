"""Every formula function on every compiled path (the function x path matrix).

Each smooth function of the formula whitelist (one small model each, from
tests/function_cases.py) and each named activation is compiled for numpy,
mpmath and gmpy2 and compared with SymPy's own evaluation of the same
derivatives, at real points and at complex-step points (imaginary part
10^-(dps+10) of the real part). Real and imaginary parts are compared
separately and in relative terms: a complex step reads a derivative off an
imaginary part many orders below the real part, so an absolute comparison
would pass a wrong derivative. The non-smooth functions are flagged and
compile; derive finishes (a hard deadline guards against a hang).

Random points are seeded; each test prints its seed.
"""

import functools
import random

import mpmath
import numpy as np
import pytest
import sympy as sp
from function_cases import NON_SMOOTH, NON_SMOOTH_CASES, SMOOTH, SMOOTH_CASES, model
from test_derive_non_smooth import alarm as deadline  # fails a block instead of hanging

from eqprop import EqpropError, Model, derive, hopfield
from eqprop.numeric.backends import GMPY
from eqprop.symbolic.builtins import RHO, rho_function
from eqprop.symbolic.codegen import QUANTITIES, compile_model
from eqprop.symbolic.parse import FUNCTIONS

DPS = 30                  # mpmath and gmpy2 working precision
NP_DPS = 15               # float64, for the size of numpy's complex step
REF_DPS = 4 * DPS + 50    # the reference's digits (see reference)
REQUIRED = {"numpy": 13, "mpmath": 25, "gmpy2": 25}
BACKENDS = ("numpy", "mpmath", "gmpy2")
SEED = 15


# -- points, references and evaluation ----------------------------------------

def point(m, seed, kind, family, low=-0.45, high=0.45):
    """``(s, theta, data)`` as lists of ``(re, im)`` pairs.

    Real parts are float64 (uniform in [low, high] for the state, the model's
    values rounded to float64 for theta and data), so that every backend sees
    the same binary numbers. ``kind="complex"``: s and theta get the imaginary
    part ``10^-(dps+10) * re`` -- a Python float for ``family="float"``
    (numpy), an mpf at DPS digits for ``"mp"``; data stay real.
    """
    rng = random.Random(seed)
    s = [rng.uniform(low, high) for _ in m.state]
    theta = [float(m.params[t]) for t in m.theta]
    data = [float(m.data[d]) for d in m.data_symbols]

    def im(re):
        if kind == "real":
            return 0
        if family == "float":
            return 10.0 ** -(NP_DPS + 10) * re
        with mpmath.workdps(DPS):
            return mpmath.mpf(10) ** -(DPS + 10) * re
    return [[(x, im(x)) for x in s], [(x, im(x)) for x in theta], [(x, 0) for x in data]]


def as_numpy(arg):
    if all(im == 0 for _, im in arg):
        return np.array([re for re, _ in arg], dtype=float)
    return np.array([complex(re, float(im)) for re, im in arg])


def as_mp(arg):
    return [mpmath.mpc(re, im) if im else mpmath.mpf(re) for re, im in arg]


def sympy_quantities(m):
    """The reference: SymPy's own derivatives of the model's energy."""
    E, s = m.energy, m.state
    return {"E": [E], "dE_ds": [sp.diff(E, x) for x in s],
            "d2E_ds2": [sp.diff(E, x, y) for x in s for y in s]}


#: Heaviside's derivative, 0 away from its jump (the reference points stay away)
JUMPS = {"DiracDelta": lambda *args: 0}


def reference(exprs, m, args):
    """SymPy's expressions at the point, by lambdify with mpmath's own functions at REF_DPS digits.

    Not ``evalf``: it aims at the relative accuracy of the complex number as a
    whole and drops an imaginary part that far below the real part. mpmath's
    complex functions lose about dps + 10 of the REF_DPS digits there.
    """
    symbols = [*m.state, *m.theta, *m.data_symbols]
    with mpmath.workdps(REF_DPS):
        values = [v for arg in args for v in as_mp(arg)]
        return [sp.lambdify(symbols, e, modules=[JUMPS, "mpmath"])(*values) for e in exprs]


def flat_mp(value):
    if isinstance(value, mpmath.matrix):
        return [value[i, j] for i in range(value.rows) for j in range(value.cols)]
    return list(value) if isinstance(value, list) else [value]


def evaluate(fn, backend, args):
    """``fn`` (a compiled function) at ``args`` in ``backend``: a flat list of mpmath numbers."""
    if backend == "numpy":
        out = np.asarray(fn(*[as_numpy(a) for a in args])).ravel()
        return [mpmath.mpc(complex(v)) for v in out]
    with mpmath.workdps(DPS):
        mp_args = [as_mp(a) for a in args]
        if backend == "mpmath":
            return flat_mp(fn.mp(*mp_args))
        with GMPY.scope():
            bound = fn.bind(*[[GMPY.from_mp(x) for x in a] for a in mp_args[1:]])
            if bound is None:
                return None
            return [GMPY.to_mp(v) for v in bound([GMPY.from_mp(x) for x in mp_args[0]])]


def digits(got, ref):
    """Fewest digits of agreement over the entries, real and imaginary parts apart.

    Each part relative to its own size; a part that is exactly zero in the
    reference (the imaginary part at a real point) relative to the largest
    reference part of its kind.
    """
    worst = 99.0
    with mpmath.workdps(REF_DPS):
        for part in (mpmath.re, mpmath.im):
            scale = max(abs(part(r)) for r in ref) or 1
            for g, r in zip(got, ref):
                err = abs(part(mpmath.mpmathify(g)) - part(r)) / (abs(part(r)) or scale)
                if err:
                    worst = min(worst, float(-mpmath.log10(err)))
    return worst


@functools.lru_cache(maxsize=None)
def compiled(name):
    if name.startswith("rho "):
        m = hopfield((2, 2, 2), rho=name[4:], seed=0)
    else:
        m = model(next(c for c in SMOOTH_CASES + NON_SMOOTH_CASES if c[0] == name))
    with deadline(60):
        return m, compile_model(derive(m)), sympy_quantities(m)


def check_against_sympy(name, backend, kind, seed, low=-0.45, high=0.45):
    m, c, exprs = compiled(name)
    family = "float" if backend == "numpy" else "mp"
    args = point(m, seed, kind, family, low, high)
    for quantity in ("E", "dE_ds", "d2E_ds2"):
        got = evaluate(getattr(c, quantity), backend, args)
        assert got is not None, f"{name}: gmpy2 cannot compile {quantity}"
        d = digits(got, reference(exprs[quantity], m, args))
        assert d >= REQUIRED[backend], (f"{name}, {quantity}, {backend}, {kind} point: "
                                        f"{d:.1f} digits (need {REQUIRED[backend]})")


# -- the list of functions ----------------------------------------------------

def readme_functions():
    """The function list of README.md: (smooth, non-smooth)."""
    from pathlib import Path
    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = text.split("- smooth:", 1)[1].split("\n\n", 1)[0]
    smooth, non_smooth = block.split("- non-smooth, flagged:")
    words = [part.replace("(also", ",").replace(")", ",").replace("\n", " ").split(",")
             for part in (smooth, non_smooth)]
    return [{w.strip(" ;.") for w in part} - {""} for part in words]


def test_readme_lists_exactly_the_tested_functions():
    smooth, non_smooth = readme_functions()
    assert smooth == set(SMOOTH)
    assert non_smooth == set(NON_SMOOTH)
    assert set(FUNCTIONS) == set(SMOOTH) | set(NON_SMOOTH)


# -- smooth functions: compiled backends against SymPy --------------------------

@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(SMOOTH))
def test_function_matrix(name, backend, kind):
    print(f"seed {SEED}")
    check_against_sympy(name, backend, kind, SEED)


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rho", sorted(set(RHO) - {"hardsigmoid"}) + ["atan", "erf"])
def test_named_activations(rho, backend, kind):
    """hopfield(rho=name) for every named activation, and function names as activations."""
    print(f"seed {SEED}")
    check_against_sympy(f"rho {rho}", backend, kind, SEED)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hardsigmoid_activation_away_from_its_kinks(backend):
    print(f"seed {SEED}")
    check_against_sympy("rho hardsigmoid", backend, "real", SEED, low=0.05, high=0.95)


def test_exact_at_the_complex_step_where_mpmath_is_not():
    """The regression of issue 15: mpmath's own complex atan returns no digit of
    a 1e-40 relative imaginary part at 40 digits; the compiled gradient must."""
    m, c, exprs = compiled("atan")
    with mpmath.workdps(40):
        s = [mpmath.mpf("0.3"), mpmath.mpf("-0.2")]
        h = mpmath.mpf(10) ** -40
        assert mpmath.atan(mpmath.mpc(s[0], h)).imag / h - 1 / (1 + s[0] ** 2) != 0  # the library
        g = c.dE_ds.mp([mpmath.mpc(s[0], h), s[1]], [mpmath.mpf("0.3")],
                       [mpmath.mpf("0.5"), mpmath.mpf("0.2")])
        H = c.d2E_ds2.mp(s, [mpmath.mpf("0.3")], [mpmath.mpf("0.5"), mpmath.mpf("0.2")])
        for i in range(2):  # the column H[:, 0]; dE/db holds atan(a)
            assert abs(g[i].imag / h - H[i, 0]) <= mpmath.mpf(10) ** -35 * abs(H[i, 0])


# -- every compiled quantity, across backends ---------------------------------

MIXED = Model(
    energy="(a**2 + b**2 + c**2) - w*atan(a)*erf(b)/4 - u*asin(b/2)*acosh(c + 2)/4"
           " - x*log(c + 2)*sigmoid(a)/4 + w*u*sqrt(a + 2)*tanh(c)/8 - x*acos(c/2)*asinh(b)/8"
           " + u*atanh(a/2)*cos(b)*exp(c)/16",
    cost="(a - y)**2/2 + w*softplus(b)/10", state=["a", "b", "c"],
    params={"w": "0.3", "u": "-0.4"}, data={"x": "0.5", "y": "0.2"}, name="mixed functions")


@functools.lru_cache(maxsize=1)
def mixed():
    return compile_model(derive(MIXED))


@pytest.mark.parametrize("quantity", list(QUANTITIES))
def test_every_quantity_agrees_across_backends(quantity):
    print(f"seed {SEED}")
    c = mixed()
    fn = getattr(c, quantity)
    rng = random.Random(SEED)
    for family in ("float", "mp"):
        s, theta, data = point(MIXED, SEED, "complex", family)
        args = [s, theta, data]
        if quantity in ("Hv", "Mv"):
            args.append([(v, 10.0 ** -25 * v) for v in (rng.uniform(-1, 1) for _ in s)])
        if quantity == "dEbeta_ds":
            args.append([(0.0, 1e-25)])  # complex-step nudging, beta = i h
        mp = evaluate(fn, "mpmath", args)
        gm = evaluate(fn, "gmpy2", args)
        assert gm is not None, f"gmpy2 cannot compile {quantity}"
        assert digits(gm, mp) >= REQUIRED["gmpy2"], f"{quantity}: gmpy2 against mpmath ({family} point)"
        if family == "float":
            assert digits(evaluate(fn, "numpy", args), mp) >= REQUIRED["numpy"], \
                f"{quantity}: numpy against mpmath"


# -- non-smooth functions: flagged, compiled, never a hang ----------------------

#: the class each non-smooth spelling becomes
FLAGGED = {"abs": "Abs", "min": "Min", "max": "Max", "hardsigmoid": "Min"}


@pytest.mark.parametrize("case", NON_SMOOTH_CASES, ids=[c[0] for c in NON_SMOOTH_CASES])
def test_non_smooth_functions_are_flagged_and_compile(case):
    name = case[0]
    print(f"seed {SEED}")
    with deadline(20):
        m = model(case)
        assert FLAGGED.get(name, name) in m.non_smooth
        c = compile_model(derive(m))
        args = point(m, SEED, "real", "mp")  # |a|, |b| <= 0.45: the kinks are at +-1/2
        for quantity in ("E", "dE_ds", "d2E_ds2", "Hv"):
            fn = getattr(c, quantity)
            qargs = args + ([[(1.0, 0), (-0.5, 0)]] if quantity == "Hv" else [])
            mp = evaluate(fn, "mpmath", qargs)
            assert digits(evaluate(fn, "numpy", qargs), mp) >= REQUIRED["numpy"]
            gm = evaluate(fn, "gmpy2", qargs)  # None: gmpy2 refuses, mpmath serves
            assert gm is None or digits(gm, mp) >= REQUIRED["gmpy2"]
        E = reference([m.energy], m, args)
        assert digits(evaluate(c.E, "mpmath", args), E) >= REQUIRED["mpmath"]


def test_unknown_derivative_is_refused_in_one_line():
    from eqprop.symbolic.codegen import Kernel
    a = sp.Symbol("a")
    f = sp.Function("f")
    with pytest.raises(EqpropError, match="cannot compile the unevaluated derivative"):
        Kernel([(0, sp.Derivative(f(a), a))], [a], 1, name="g")


# -- activations at scale: the elementwise functions printed into generated code ---------

ACTIVATIONS = sorted(RHO) + ["atan", "erf", "asinh", "z/(1 + z**2)"]


@pytest.mark.parametrize("rho", ACTIVATIONS)
def test_generated_activation_at_complex_arguments(rho):
    """Each activation and its first two derivatives as printed into an array model's generated
    module: real and complex inputs (the complex-step fallback), against SymPy at 40 digits."""
    from eqprop.numeric.namespaces import NUMPY
    from eqprop.symbolic.arrays import ir
    from eqprop.symbolic.arrays.codegen import scalar_functions
    print(f"seed {SEED}")
    expr = rho_function(rho)
    z = next(iter(expr.free_symbols))
    a_var = ir.var("a", "state", (5,))
    nodes = [ir.fn("rho", expr, a_var, k) for k in range(3)]
    if rho == "hardsigmoid":  # not smooth: refused before any code is printed
        with pytest.raises(EqpropError, match="not smooth"):
            scalar_functions(nodes)
        return
    namespace = {"xp": NUMPY}
    exec(scalar_functions(nodes), namespace)  # noqa: S102 - printed from SymPy, as at scale
    rng = np.random.default_rng(SEED)
    a = rng.uniform(0.05, 0.95, 5)  # inside (0, 1), away from hardsigmoid's kinks
    for k in range(3):
        fn, e = namespace[f"_f_rho_{k}"], sp.diff(expr, z, k)
        ref = [float(sp.N(e.xreplace({z: sp.Rational(x)}), 40)) for x in a]
        np.testing.assert_allclose(fn(a), ref, rtol=1e-13, atol=1e-300)
        for rel in (1e-25, 1e-3):
            zc = a + 1j * rel * a
            got = fn(zc)
            ref = [complex(sp.N(e.xreplace({z: sp.Rational(x.real) + sp.I * sp.Rational(x.imag)}), 40))
                   for x in zc]
            for g, r in zip(got, ref):
                assert abs(g.real - r.real) <= 1e-13 * abs(r.real) + 1e-300
                assert abs(g.imag - r.imag) <= 1e-13 * abs(r.imag) + 1e-300


@pytest.mark.parametrize("rho", ACTIVATIONS)
def test_scale_runs_with_each_activation(rho):
    """``eqprop scale --rho f`` on a tiny network: a report or a one-line error, never a traceback."""
    from eqprop.proofs.scale import scale
    with deadline(60), np.errstate(all="ignore"):
        try:
            report = scale([2, 3, 4], batch=2, steps=10, rho=rho, seed=0)
        except EqpropError:
            return
    assert report is not None
