"""What the text report of `eqprop verify` tells a reader: which minimum, which gradient."""

import textwrap

import mpmath
import pytest

from eqprop.cli import main

# a double well in a: minima near a = -1 and a = +1, chosen by the initial state
WELL = textwrap.dedent('''\
    state = ["a", "b"]
    energy = "a**4/4 - a**2/2 + b**2/2 - w*a*b - x*b"
    cost = "(b - y)**2/2"
    [params]
    w = "0.2"
    [data]
    x = "0.1"
    y = "0.3"
''')


def _run(capsys, tmp_path, *extra):
    path = tmp_path / "well.toml"
    path.write_text(WELL)
    code = main(["verify", str(path), "--dps", "20", "--engine", "gbs", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _section(out, title):
    lines = out.splitlines()
    start = next(i for i, s in enumerate(lines) if s.startswith(title))
    values = {}
    for s in lines[start + 1:]:
        if not s.startswith("  ") or not s.strip():
            break
        name, value = s.split()
        values[name] = mpmath.mpf(value)
    return values


@pytest.mark.parametrize("start, sign", [("1,0", 1), ("-1,0", -1)])
def test_the_report_shows_which_minimum_the_initial_state_found(capsys, tmp_path, start, sign):
    code, out, err = _run(capsys, tmp_path, f"--initial-state={start}")  # "=": -1 is not an option
    assert code == 0, out + err
    s0 = _section(out, "free fixed point s0")
    assert set(s0) == {"a", "b"} and mpmath.sign(s0["a"]) == sign
    # the printed s0 is a fixed point: dE/da = a^3 - a - w b, dE/db = b - w a - x
    a, b = s0["a"], s0["b"]
    assert abs(a ** 3 - a - mpmath.mpf("0.2") * b) < 1e-10
    assert abs(b - mpmath.mpf("0.2") * a - mpmath.mpf("0.1")) < 1e-10
    grad = _section(out, "dJ/dtheta")
    # by hand: J = (b - y)^2/2 at s0(w); differentiating the two fixed-point equations,
    # db/dw = a + w da/dw and da/dw = (b + w a) / (3a^2 - 1 - w^2)
    da = (b + mpmath.mpf("0.2") * a) / (3 * a ** 2 - 1 - mpmath.mpf("0.04"))
    db = a + mpmath.mpf("0.2") * da
    assert abs(grad["w"] - (b - mpmath.mpf("0.3")) * db) < 1e-10


@pytest.mark.parametrize("bad", ["1", "1,x", "1,nan", ""])
def test_a_bad_initial_state_is_one_line_and_exit_2(capsys, tmp_path, bad):
    code, out, err = _run(capsys, tmp_path, f"--initial-state={bad}")
    assert code == 2 and "initial" in err and len(err.strip().splitlines()) == 1, err


def test_the_time_limit_stops_building_deriving_and_compiling_too(capsys):
    """quadratic:300 takes longer to build, derive and compile than the limit: the run stops
    soon after it, 'incomplete' (exit 1), one line, instead of running past it."""
    from deadline import deadline
    with deadline(60):
        code = main(["verify", "quadratic:300", "--dps", "12", "--engine", "gbs", "--quiet",
                     "--time-limit", "1"])
    out, err = capsys.readouterr()
    assert code == 1 and out.startswith("verdict: incomplete: stopped after the time limit of 1 s")
    assert "Traceback" not in err
