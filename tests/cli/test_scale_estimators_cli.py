"""`eqprop scale --estimators` from the command line."""

import json

import pytest

from eqprop.cli import main


def test_estimators_at_scale_pass_and_write_json(capsys, tmp_path):
    out = tmp_path / "est.json"
    code = main(["scale", "--layers", "3,8,5", "--rho", "tanh", "--batch", "4", "--seed", "1",
                 "--estimators", "--points", "4,8", "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "radius of beta -> s^beta" in text and "verdict: every row holds" in text
    d = json.loads(out.read_text())
    assert d["passed"] and {c["id"] for c in d["checks"]} >= {"EST.N4", "EST.N8", "EST.break",
                                                             "EST.cs", "EST.trunc"}
    assert d["radius"]["value"] > 0 and d["radius"]["examples"] == 4


@pytest.mark.parametrize("argv", [
    ["--estimators", "--points", "2"], ["--estimators", "--points", "4,x"],
    ["--estimators", "--steps", "5"], ["--estimators", "--beta", "0.1"],
    ["--estimators", "--continuous"], ["--points", "4"], ["--radius", "0.3"],
    ["--estimators", "--radius", "-1"], ["--estimators", "--radius", "nan"]])
def test_estimators_bad_input_exits_2(capsys, argv):
    assert main(["scale", "--layers", "3,4,2", "--batch", "1", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("eqprop: error:") and "Traceback" not in "\n".join(err)


def test_estimators_without_radius(capsys):
    code = main(["scale", "--layers", "3,8,5", "--rho", "tanh", "--batch", "2", "--seed", "1",
                 "--estimators", "--points", "4", "--radius", "0.4"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "EST.break" not in text and "radius of beta" not in text


def test_asymmetry_study_at_scale(capsys, tmp_path):
    out = tmp_path / "asym.json"
    code = main(["scale", "--layers", "10,64,64", "--batch", "4", "--estimators",
                 "--asymmetry", "0.1", "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "ASYM.order ok" in text and "ASYM.first ok" in text and "angle" in text
    d = json.loads(out.read_text())
    assert d["passed"] and len(d["asymmetry"]["gaps"]) >= 5


@pytest.mark.parametrize("argv", [
    ["--asymmetry", "0.1", "--points", "4"], ["--asymmetry", "0.1", "--radius", "1"],
    ["--asymmetry", "-1"], ["--asymmetry", "0"]])
def test_asymmetry_bad_input_exits_2(capsys, argv):
    assert main(["scale", "--layers", "10,6,6", "--estimators", *argv]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("eqprop: error:")


def test_figures_at_scale_from_the_command_line(capsys, tmp_path):
    figs = tmp_path / "figs"
    code = main(["scale", "--layers", "3,8,5", "--rho", "tanh", "--batch", "4", "--seed", "1",
                 "--estimators", "--points", "4,8", "--figures", str(figs), "--format", "png"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert sorted(p.name for p in figs.iterdir()) == ["errors.png", "plane.png", "points.png",
                                                       "radius.png", "truncated.png"]
    assert str(figs / "radius.png") in out


def test_the_scale_report_draws_its_measured_numbers():
    """figures.estimators reads the scale report's JSON as the high-precision one's: the break
    figure's points are the report's."""
    import matplotlib
    matplotlib.use("Agg")
    from eqprop.figures import estimators as figs
    from eqprop.proofs.scale_estimators import scale_estimators
    rep = scale_estimators([3, 8, 5], batch=4, rho="tanh", seed=1, points=(8,))
    d = json.loads(rep.to_json())
    lines = figs.radius(d)
    s = next(s for s in d["series"] if s["row"] == "EST.break")
    R = float(s["fixed"]["R"])
    x, y = lines[0].get_data()
    assert [round(v, 9) for v in x] == [round(float(p["value"]) / R, 9) for p in s["points"]]
    assert list(y) == [float(p["relative"]) for p in s["points"]]


def test_figures_need_estimators(capsys):
    assert main(["scale", "--layers", "3,4,2", "--figures", "/tmp/x"]) == 2
    assert main(["scale", "--layers", "3,4,2", "--estimators", "--format", "png"]) == 2
