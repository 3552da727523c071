"""`eqprop scale` from the command line."""

import json

from eqprop.cli import main


def test_scale_small_network_passes(capsys, tmp_path):
    out = tmp_path / "scale.json"
    code = main(["scale", "--layers", "5,7,6,4", "--batch", "3", "--steps", "40",
                 "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "complex-step" in text and "verdict: agreement" in text
    d = json.loads(out.read_text())
    assert d["passed"] and {r["quantity"] for r in d["rows"]} >= {"s0", "s1", "W01", "W12"}


def test_scale_asymmetric_exits_1(capsys):
    assert main(["scale", "--layers", "5,7,6,4", "--batch", "3", "--steps", "40",
                 "--asymmetry", "0.5"]) == 1
    out = capsys.readouterr().out
    assert "verdict: NOT passed" in out and "[FAIL] gradient field" in out


def test_scale_bad_input_exits_2(capsys):
    for argv in (["scale", "--layers", "10,a,3"], ["scale", "--layers", "5"],
                 ["scale", "--layers", "5,4", "--data", "mnist:/no/such/file"],
                 ["scale", "--layers", "5,4", "--eps", "0"], ["scale", "--layers", "5,4", "--eps", "-1"],
                 ["scale", "--layers", "5,4", "--rho", "log"], ["scale", "--layers", "5,4", "--rho", "abs(z)"],
                 ["scale", "--layers", "5,4", "--batch", "0"],
                 # a device without the torch backend was ignored (hostile review, issue 24)
                 ["scale", "--layers", "5,4", "--device", "cuda"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("eqprop: error:"), err
        assert "Traceback" not in "\n".join(err)


def test_scale_tiny_eps_is_refused_with_the_step_named(capsys):
    """Any positive eps is accepted, but one that makes the RBP limit run for hours is refused first."""
    assert main(["scale", "--layers", "10,512,512,784", "--steps", "10", "--eps", "1e-9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("eqprop: error:") and "a larger --eps" in err[-1]


def test_scale_unstable_step_exits_1_with_the_largest_stable_eps(capsys, tmp_path):
    out = tmp_path / "scale.json"
    assert main(["scale", "--layers", "4,6,5", "--batch", "3", "--steps", "10", "--eps", "1.9",
                 "--seed", "3", "--json", str(out)]) == 1
    text = capsys.readouterr().out
    assert "[FAIL] stable step" in text and "an --eps below" in text and "verdict: NOT passed" in text
    d = json.loads(out.read_text())
    assert not d["passed"] and d["hypotheses"]["largest_stable_eps"] < 1.9
    assert len(d["hypotheses"]["per_example"]["lambda_min"]) == 3


# -- array models from the command line ---------------------------------------------------------

import os  # noqa: E402

import pytest  # noqa: E402

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "examples")


def test_an_array_model_at_other_sizes(capsys, tmp_path):
    """--shape sets some [dims] on top of the [scale] sizes; the JSON says what ran."""
    out = tmp_path / "r.json"
    code = main(["scale", os.path.join(EXAMPLES, "xy_oscillators.toml"), "--shape", "L=12",
                 "--batch", "3", "--steps", "20", "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert text.startswith("eqprop scale: XY oscillators with a pinning field (L = 12), batch 3")
    assert "144 state units, 288 parameters; float64 on numpy" in text
    d = json.loads(out.read_text())
    assert d["dims"] == {"L": 12} and d["n_state"] == 144 and d["layers"] is None
    assert [r["quantity"] for r in d["rows"]] == ["th", "Jx", "Jy"] and d["passed"]


def test_an_array_model_reads_a_data_set(capsys):
    pytest.importorskip("sklearn")
    path = os.path.join(EXAMPLES, "layered_hopfield.toml")
    argv = ["scale", path, "--shape", "n1=32,n2=32,n3=64", "--data", "digits", "--batch", "8",
            "--steps", "20"]
    assert main(argv) == 0, capsys.readouterr().out
    assert main(argv[:3] + ["n1=32,n2=32"] + argv[4:]) == 2
    err = capsys.readouterr().err
    assert "the images array 'x' has 784 entries; declare it with 64" in err


def test_verify_and_derive_take_a_shape(capsys):
    path = os.path.join(EXAMPLES, "modern_hopfield.toml")
    assert main(["verify", path, "--shape", "n=3,k=2", "--dps", "20", "--engine", "gbs",
                 "--quiet"]) == 0
    assert "verdict: verified" in capsys.readouterr().out
    assert main(["derive", path, "--shape", "n=30"]) == 0
    assert "sizes: n = 30, k = 3" in capsys.readouterr().out
    assert main(["verify", "two-neurons", "--shape", "n=3"]) == 2
    assert "per neuron" in capsys.readouterr().err
