"""Hostile array models: every malformed file, formula, shape or option is one line and exit 2.

A corpus of model files (each a small change to a valid array model) and of
command lines, run through the CLI as a user would: ``eqprop verify``,
``eqprop derive`` and ``eqprop scale``. Each must exit 2 with one line
``eqprop: error: ...`` naming what was wrong (and, for a shape, both
shapes), never a traceback, never a silent broadcast.
"""

import os
import signal
import time

import numpy as np
import pytest

from eqprop.cli import main

GOOD = '''
name = "good"
energy = "sum(s**2)/2 - tanh(s) @ W @ x"
cost = "sum((s - y)**2)/2"
[dims]
n = 3
m = 4
[state]
s = "n"
[params]
W = { shape = "n, m", init = "normal(0, 0.5)" }
[data]
x = { shape = "m", init = "uniform(0, 1)" }
y = { shape = "n", init = "uniform(0, 1)" }
'''


def _variant(**changes):
    """GOOD with lines replaced: the line that declares ``key`` (``key = ...``) by the new line."""
    lines = GOOD.strip().splitlines()
    for old, new in changes.items():
        k = next(i for i, ln in enumerate(lines) if ln.split("=")[0].strip() == old)
        lines[k] = new
    return "\n".join(lines) + "\n"


#: name -> (file text, a fragment the one-line message must contain)
FILES = {
    "matmul shapes": (_variant(energy='energy = "sum(s**2)/2 - tanh(s) @ W @ y"'), "(4,) and (3,)"),
    "undeclared name": (_variant(energy='energy = "sum(s**2)/2 - z @ s"'), "undeclared name 'z'"),
    "energy not a scalar": (_variant(energy='energy = "s**2/2"'), "must be a scalar"),
    "axis out of range": (_variant(energy='energy = "sum(sum(s**2, axis=1))"'), "axis 1 is out of range"),
    "stretching broadcast": (_variant(energy='energy = "sum(s**2) + sum(s * reshape(s, (3, 1)))"'),
                             "stretching an axis of length 1"),
    "unknown initializer": (_variant(W='W = { shape = "n, m", init = "xavier(1)" }'), "unknown initializer"),
    "negative std": (_variant(W='W = { shape = "n, m", init = "normal(0, -1)" }'), "must not be negative"),
    "uniform bounds": (_variant(W='W = { shape = "n, m", init = "uniform(1, 0)" }'), "low < high"),
    "two sources": (_variant(W='W = { shape = "n, m", init = "zeros", values = [1] }'), "exactly one"),
    "wrong value count": (_variant(W='W = { shape = "n, m", values = [[1, 2], [3, 4]] }'), "has 2 entries"),
    "values too deep": (_variant(W='W = { values = [[[1]]], shape = "n" }'), "has 1 entries"),
    "dim zero": (_variant(n="n = 0"), "from 1 to"),
    "dim text": (_variant(n='n = "3"'), "whole number"),
    "dim boolean": (_variant(n="n = true"), "whole number"),
    "dim huge": (_variant(n="n = 1000000000000"), "from 1 to"),
    "shape unknown dim": (_variant(s='s = "k"'), "neither a positive integer nor a dimension"),
    "five axes": (_variant(s='s = "n, n, n, n, n"'), "at most 4"),
    "state named like a function": (_variant(s='tanh = "n"'), "function"),
    "one name twice": (_variant(y='s = { shape = "n", init = "zeros" }'), "declared twice"),
    "method": (_variant(energy='energy = "s.sum()"'), "only attribute is .T"),
    "attribute": (_variant(energy='energy = "sum(s.real)"'), "only attribute is .T"),
    "indexing": (_variant(energy='energy = "s[0]**2"'), "indexing"),
    "keyword": (_variant(energy='energy = "sum(s**2, keepdims=True)"'), "keyword"),
    "reshape size": (_variant(energy='energy = "sum(reshape(s, (2, 2)))"'), "cannot put the 3 entries"),
    "roll without axis": (_variant(energy='energy = "sum(roll(outer(s, s), 1))"'), "give axis=k"),
    "two-argument min": (_variant(energy='energy = "sum(min(s, 0))"'), "not available in array"),
    "python code": (_variant(energy='''energy = "__import__('os').system('id')"'''), "not allowed"),
    "division by zero": (_variant(energy='energy = "sum(s**2)/0"'), "division by the number 0"),
    "huge exponent": (_variant(energy='energy = "sum(s**5000)"'), "too large"),
    "unknown function": (_variant(energy='energy = "sum(relu(s))"'), "unknown function 'relu'"),
    "no energy or field": (GOOD.replace('energy = "sum(s**2)/2 - tanh(s) @ W @ x"\n', ""),
                           "exactly one of energy"),
    "unknown field": (GOOD.replace('name = "good"', 'name = "good"\nenergi = "1"'), "did you mean 'energy'"),
    "unknown scale key": (GOOD + "[scale]\nbatchsize = 3\n", "batchsize"),
    "scale dims unknown": (GOOD + "[scale]\ndims = { q = 3 }\n", "'q' is not a dimension"),
    "unknown spec key": (_variant(W='W = { shape = "n, m", init = "zeros", seed = 3 }'), "unknown key 'seed'"),
    "dataset on a parameter": (_variant(W='W = { shape = "n, m", init = "zeros", dataset = "images" }'),
                               "only data"),
    "unknown dataset": (_variant(x='x = { shape = "m", init = "zeros", dataset = "pixels" }'),
                        "choose \"images\""),
    "function of two variables": (GOOD + "[functions]\nf = \"a * b\"\n", "one variable"),
    "function named like a builtin": (GOOD + "[functions]\ntanh = \"z\"\n", "reserved function"),
    "shape with an empty entry": (_variant(s='s = "n,, m"'), "empty entry"),
    "roll by a name": (_variant(energy='energy = "sum(s**2)/2 + sum(s * roll(s, n))"'), "the shift must be"),
    "vector field missing a block": (
        GOOD.replace('energy = "sum(s**2)/2 - tanh(s) @ W @ x"', "").replace(
            "[state]", '[vector_field]\nt = "-s"\n[state]'), "one formula per state block"),
    "vector field wrong shape": (
        GOOD.replace('energy = "sum(s**2)/2 - tanh(s) @ W @ x"', "").replace(
            "[state]", '[vector_field]\ns = "-sum(s)"\n[state]'), "must be shape (3,)"),
}


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("command", ["verify", "derive", "scale"])
def test_a_hostile_model_file_is_one_line(name, command, tmp_path, capsys):
    text, fragment = FILES[name]
    path = tmp_path / "model.toml"
    path.write_text(text, encoding="utf-8")
    argv = [command, str(path)] + (["--batch", "2", "--steps", "3"] if command == "scale" else [])
    code, out, err = _run(argv, capsys)
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip() and "done" not in ln]
    assert code == 2, (name, code, out[-300:], err[-300:])
    assert lines and lines[-1].startswith("eqprop: error: "), err
    assert fragment in lines[-1], (fragment, lines[-1])
    assert "Traceback" not in err and not out.strip()


def test_the_good_file_passes(tmp_path, capsys):
    path = tmp_path / "model.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert _run(["verify", str(path), "--dps", "20", "--engine", "gbs"], capsys)[0] == 0
    assert _run(["scale", str(path), "--batch", "3", "--steps", "10"], capsys)[0] == 0
    code, out, _ = _run(["derive", str(path)], capsys)
    assert code == 0 and "dE/ds = s - tanh'(s) * W x" in out


def _npy_case(tmp_path, kind):
    f = tmp_path / "W.npy"
    if kind == "shape":
        np.save(f, np.zeros((4, 3)))
    elif kind == "pickled":
        np.save(f, np.array([object()] * 12, dtype=object).reshape(3, 4), allow_pickle=True)
    elif kind == "nan":
        a = np.zeros((3, 4))
        a[1, 1] = np.nan
        np.save(f, a)
    elif kind == "truncated":
        np.save(f, np.zeros((3, 4)))
        f.write_bytes(f.read_bytes()[:-8])
    elif kind == "not npy":
        f.write_bytes(b"hello world, not numpy")
    elif kind == "folder":
        f.mkdir()
    return {"shape": "has shape (4, 3)", "pickled": "not pickled", "nan": "NaN",
            "truncated": "truncated", "not npy": "not a readable .npy", "missing": "no such file",
            "folder": "folder"}[kind]


@pytest.mark.parametrize("kind", ["shape", "pickled", "nan", "truncated", "not npy", "missing", "folder"])
def test_a_hostile_npy_file_is_one_line(kind, tmp_path, capsys):
    fragment = _npy_case(tmp_path, kind)
    path = tmp_path / "model.toml"
    path.write_text(_variant(W='W = { shape = "n, m", file = "W.npy" }'), encoding="utf-8")
    code, out, err = _run(["scale", str(path), "--batch", "2", "--steps", "3"], capsys)
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip()]
    assert code == 2 and lines[-1].startswith("eqprop: error: ") and fragment in lines[-1], err
    assert "Traceback" not in err


def test_an_npy_file_of_the_right_shape_is_read(tmp_path, capsys):
    np.save(tmp_path / "W.npy", np.random.default_rng(0).normal(0, 0.5, (3, 4)))
    path = tmp_path / "model.toml"
    path.write_text(_variant(W='W = { shape = "n, m", file = "W.npy" }'), encoding="utf-8")
    assert _run(["verify", str(path), "--dps", "20", "--engine", "gbs"], capsys)[0] == 0
    assert _run(["scale", str(path), "--batch", "2", "--steps", "5"], capsys)[0] == 0


#: options of eqprop scale with a model file: name -> (argv after the file, fragment)
OPTIONS = {
    "shape unknown dim": (["--shape", "q=3"], "'q' is not a dimension"),
    "shape malformed": (["--shape", "n:3"], "NAME=SIZE"),
    "shape twice": (["--shape", "n=3,n=4"], "given twice"),
    "shape zero": (["--shape", "n=0"], "from 1 to"),
    "shape non-ascii": (["--shape", "n=\uff13"], "NAME=SIZE"),
    "too large": (["--shape", "n=100000,m=100000"], "limit"),
    "layers with a file": (["--layers", "3,4"], "layered network only"),
    "rho with a file": (["--rho", "tanh"], "layered network only"),
    "data without images": (["--data", "digits"], "dataset = \"images\""),
    "data unknown": (["--data", "foo"], "unknown data source"),
}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_hostile_scale_options_with_a_model_file(name, tmp_path, capsys):
    argv, fragment = OPTIONS[name]
    path = tmp_path / "model.toml"
    path.write_text(GOOD, encoding="utf-8")
    code, out, err = _run(["scale", str(path), "--batch", "2", "--steps", "3"] + argv, capsys)
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip()]
    assert code == 2 and lines[-1].startswith("eqprop: error: ") and fragment in lines[-1], err
    assert "Traceback" not in err


def test_a_per_neuron_model_is_not_for_scale(capsys):
    code, _, err = _run(["scale", "two-neurons"], capsys)
    assert code == 2 and "per-neuron model" in err


def test_a_non_smooth_array_model(tmp_path, capsys):
    """abs(s): eqprop verify flags it (assumption violated, exit 1); scale refuses it (exit 2)."""
    path = tmp_path / "model.toml"
    path.write_text(_variant(energy='energy = "sum(s**2)/2 + sum(abs(s - 0.1)) - tanh(s) @ W @ x"'),
                    encoding="utf-8")
    code, out, _ = _run(["verify", str(path), "--dps", "20", "--engine", "gbs"], capsys)
    assert code == 1 and "assumption violated" in out
    code, out, err = _run(["scale", str(path), "--batch", "2", "--steps", "3"], capsys)
    assert code == 2 and "not smooth" in err


def test_verify_needs_data_it_can_write_out(tmp_path, capsys):
    path = tmp_path / "model.toml"
    path.write_text(_variant(x='x = { shape = "m", dataset = "images" }'), encoding="utf-8")
    code, _, err = _run(["verify", str(path)], capsys)
    assert code == 2 and "give an init too" in err


def test_verify_refuses_an_array_model_too_large_to_write_out(tmp_path, capsys):
    path = tmp_path / "model.toml"
    path.write_text(_variant(n="n = 5000"), encoding="utf-8")
    code, _, err = _run(["verify", str(path)], capsys)
    assert code == 2 and "eqprop scale" in err and "smaller [dims]" in err


def _one_line_exit_2(argv, capsys, fragment):
    code, out, err = _run(argv, capsys)
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip() and "done" not in ln]
    assert code == 2 and lines and lines[-1].startswith("eqprop: error: "), (code, out[-300:], err[-300:])
    assert fragment in lines[-1], (fragment, lines[-1])
    assert "Traceback" not in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
@pytest.mark.parametrize("command", ["verify", "scale"])
def test_an_npy_file_that_is_a_pipe_is_refused_not_waited_on(command, tmp_path, capsys):
    """Opening a FIFO for reading blocks until a writer comes: it must be refused before."""
    os.mkfifo(tmp_path / "W.npy")
    path = tmp_path / "model.toml"
    path.write_text(_variant(W='W = { shape = "n, m", file = "W.npy" }'), encoding="utf-8")
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("eqprop waited on a named pipe"))
    signal.alarm(60)
    try:
        _one_line_exit_2([command, str(path)], capsys, "not a regular file")
    finally:
        signal.alarm(0)


@pytest.mark.parametrize("command", ["verify", "scale"])
def test_a_nul_character_in_a_file_name(command, tmp_path, capsys):
    path = tmp_path / "model.toml"
    path.write_text(_variant(W='W = { shape = "n, m", file = "a\\u0000b.npy" }'), encoding="utf-8")
    _one_line_exit_2([command, str(path)], capsys, "NUL character")


@pytest.mark.parametrize("change", [
    dict(energy='energy = "sum(s**2)/2 - 1e400 * sum(s) - tanh(s) @ W @ x"'),
    dict(energy='energy = "sum(s**2)/2 - sum(s) * 1e308 * 10 - tanh(s) @ W @ x"'),
], ids=["a literal", "a product of literals"])
def test_a_constant_beyond_float64_is_refused_at_scale(change, tmp_path, capsys):
    """The generated code once printed inf, a NameError (exit 3)."""
    path = tmp_path / "model.toml"
    path.write_text(_variant(**change), encoding="utf-8")
    _one_line_exit_2(["scale", str(path), "--batch", "2", "--steps", "3"], capsys, "outside float64")


def test_a_function_with_a_constant_beyond_float64(tmp_path, capsys):
    path = tmp_path / "model.toml"
    path.write_text(_variant(energy='energy = "sum(s**2)/2 - sum(rho(s)) - tanh(s) @ W @ x"')
                    + "[functions]\nrho = \"1e-400*z\"\n", encoding="utf-8")
    _one_line_exit_2(["scale", str(path), "--batch", "2", "--steps", "3"], capsys, "function rho")


def test_a_value_that_underflows_in_float64(tmp_path, capsys):
    """Exact in the file, zero in float64: refused rather than changed."""
    path = tmp_path / "model.toml"
    path.write_text(_variant(W='W = { shape = "n, m", values = [[1e-400, 1, 1, 1], [1, 1, 1, 1], '
                                 '[1, 1, 1, 1]] }'), encoding="utf-8")
    _one_line_exit_2(["scale", str(path), "--batch", "2", "--steps", "3"], capsys, "1.00e-400")


@pytest.mark.parametrize("command", ["scale", "derive"])
def test_a_flat_chain_of_1200_terms(command, tmp_path, capsys):
    """Long, not deep: the batch sum and the fused products walk it without recursion."""
    chain = " + ".join(["b*s"] * 1200)
    text = GOOD.replace('energy = "sum(s**2)/2 - tanh(s) @ W @ x"',
                        f'energy = "sum(s**2)/2 - tanh(s) @ W @ x - sum({chain})/1000"')
    text = text.replace("[data]", '[constants]\nb = { shape = "n", values = [0.1, 0.2, 0.3] }\n[data]')
    path = tmp_path / "model.toml"
    path.write_text(text, encoding="utf-8")
    argv = [command, str(path)] + (["--batch", "2", "--steps", "3"] if command == "scale" else [])
    code, out, err = _run(argv, capsys)
    assert code == 0 and "Traceback" not in err, (out[-300:], err[-300:])


@pytest.mark.parametrize("energy", ["sum(sqrt((s - 1)**2))", "sum(((s - 1)**2)**0.5)"])
def test_a_kink_written_as_a_composition(energy, tmp_path, capsys):
    """sqrt((s - 1)^2) = |s - 1|: scale refuses it as it refuses abs (verify: assumption violated)."""
    path = tmp_path / "model.toml"
    path.write_text(_variant(energy=f'energy = "sum(s**2)/2 - {energy} - tanh(s) @ W @ x"'),
                    encoding="utf-8")
    _one_line_exit_2(["scale", str(path), "--batch", "2", "--steps", "3"], capsys, "not smooth (Abs)")


def test_a_kink_behind_a_roll(tmp_path, capsys):
    """roll moves entries, it does not smooth them: sqrt(roll((s - 1)^2)) is |s - 1| rolled."""
    path = tmp_path / "model.toml"
    path.write_text(_variant(energy='energy = "sum(s**2)/2 - sum(sqrt(roll((s - 1)**2, 1)))/10 - '
                                    'tanh(s) @ W @ x"'), encoding="utf-8")
    _one_line_exit_2(["scale", str(path), "--batch", "2", "--steps", "3"], capsys, "not smooth (Abs)")


def test_a_kink_of_data_alone_in_a_user_function_is_allowed(tmp_path, capsys):
    """f = abs(z) applied to data only: a number per example, as in verify; on the state it is
    refused."""
    path = tmp_path / "model.toml"
    text = _variant(energy='energy = "sum(s**2)/2 + sum(f(x))/10 - tanh(s) @ W @ x"') + \
        "[functions]\nf = \"abs(z - 0.5)\"\n"
    path.write_text(text, encoding="utf-8")
    assert _run(["scale", str(path), "--batch", "2", "--steps", "5"], capsys)[0] == 0
    path.write_text(text.replace("sum(f(x))", "sum(f(s))"), encoding="utf-8")
    _one_line_exit_2(["scale", str(path), "--batch", "2", "--steps", "3"], capsys, "f is not smooth")


def test_deeply_nested_smooth_functions_do_not_stall_the_smoothness_check(tmp_path, capsys):
    """f(f(f(f(f(f(s)))))) with a four-term f: the composed expression grows exponentially, and
    SymPy's assumptions on it took minutes; parts past a size are symbols now."""
    path = tmp_path / "model.toml"
    path.write_text(_variant(energy='energy = "sum(s**2)/2 + sum(f(f(f(f(f(f(s)))))))/1000 - '
                                    'tanh(s) @ W @ x"')
                    + "[functions]\nf = \"tanh(z) + sin(z) + z/(1 + z**2) + exp(-z**2)\"\n",
                    encoding="utf-8")
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("the smoothness check stalled"))
    signal.alarm(120)
    try:
        assert _run(["scale", str(path), "--batch", "2", "--steps", "5"], capsys)[0] == 0
    finally:
        signal.alarm(0)


def test_a_smooth_fractional_power_is_not_refused(tmp_path, capsys):
    path = tmp_path / "model.toml"
    path.write_text(_variant(energy='energy = "sum(s**2)/2 - sum(sqrt((s - 1)**2 + 1)) - tanh(s) @ W @ x"'),
                    encoding="utf-8")
    assert _run(["scale", str(path), "--batch", "2", "--steps", "5"], capsys)[0] == 0


def test_verify_refuses_a_huge_intermediate_before_building_it(tmp_path, capsys):
    """10 states, but an outer product of outer products has 10^6 entries: refused at once
    (it used to expand for minutes before the time limit stopped it)."""
    path = tmp_path / "model.toml"
    q = "reshape(outer(s, s), (100,))"
    path.write_text(_variant(energy=f'energy = "sum(s**2)/2 - tanh(s) @ W @ x + sum(outer('
                                    f'reshape(outer({q}, {q}), (10000,)), {q})**2)/1e9"',
                             n="n = 10"), encoding="utf-8")
    start = time.perf_counter()
    _one_line_exit_2(["verify", str(path)], capsys, "scalar terms")
    assert time.perf_counter() - start < 60


def test_the_python_api_refuses_what_the_file_format_refuses():
    import numpy as np
    from eqprop import ArrayModel, EqpropError
    base = dict(energy="sum(s**2)/2 - tanh(s) @ W @ x", cost="sum(s**2)", state={"s": "3"},
                data={"x": {"shape": "4", "init": "uniform(0, 1)"}})
    for bad, fragment in [(dict(functions=["rho"]), "table of name"),
                          (dict(params={"W": np.ones((1, 1, 1, 3, 4))}), "at most 4"),
                          (dict(params={"W": np.ones((3, 4)) * 1e-310}), "normal range")]:
        with pytest.raises(EqpropError, match=fragment):
            ArrayModel(**{**base, "params": {"W": np.ones((3, 4))}, **bad})
    m = ArrayModel(**{**base, "params": {"W": {"shape": [np.int64(3), np.int64(4)], "init": "zeros"}}})
    assert m.specs["W"].shape == (3, 4)
