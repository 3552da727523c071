"""Every figure function: runs on a small model, returns its artists, plots the report's data."""

import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from eqprop import verify  # noqa: E402
from eqprop.cli import main  # noqa: E402
from eqprop.errors import EqpropError  # noqa: E402
from eqprop.figures import (beta_bias, network, regenerate, theorem3_params,  # noqa: E402
                            theorem3_states, truncation)


@pytest.fixture(scope="module")
def report():
    return verify("hopfield:2,3,2", dps=20, times=[0, 0.5, 1, 2, 4])


def _lines(artists):
    return [a for a in artists if hasattr(a, "get_ydata")]


def test_theorem3_lines_are_the_report_series(report):
    d = report.to_dict()
    arts = theorem3_states(report)
    lines = _lines(arts)
    assert len(lines) == len(d["state"])
    for i, line in enumerate(lines):
        assert np.allclose(line.get_xdata(), d["times"])
        assert np.allclose(line.get_ydata(), [float(r[i]) for r in d["series"]["s_bar"]])
    circles = [a for a in arts if hasattr(a, "get_offsets")]
    for i, pts in enumerate(circles):
        assert np.allclose(pts.get_offsets()[:, 1], [float(r[i]) for r in d["series"]["s_tilde"]])


def test_theorem3_params_selection(report):
    names = list(report.params)[:2]
    lines = _lines(theorem3_params(report, params=names))
    assert len(lines) == 2
    k = list(report.params).index(names[1])
    assert np.allclose(lines[1].get_ydata(), [float(r[k]) for r in report.series["theta_bar"]])
    with pytest.raises(EqpropError, match="unknown parameter"):
        theorem3_params(report, params=["nope"])


def test_truncation_is_the_gradient_error(report):
    line = _lines(truncation(report))[0]
    grad = [float(v) for v in report.dJ_dtheta["implicit"]]
    want = [max(abs(float(a) - b) for a, b in zip(row, grad)) for row in report.series["theta_bar"]]
    assert np.allclose(line.get_ydata(), want)
    assert want[-1] < want[0]  # truncated RBP converges


def test_beta_bias_and_network(report):
    lines = _lines(beta_bias(report))
    assert np.allclose(lines[0].get_ydata(), [float(v) for v in report.bias["one_sided"]])
    assert len(network([2, 3, 3, 2])) > 10
    with pytest.raises(EqpropError):
        network([3])


def test_regenerate_writes_every_format(report, tmp_path):
    files = regenerate(report, tmp_path, formats=("png", "pdf", "svg"))
    assert len(files) == 5 * 3  # four series figures and the network, three formats each
    assert all(f.stat().st_size > 1000 for f in files)
    saved = tmp_path / "r.json"
    saved.write_text(report.to_json())
    again = regenerate(str(saved), tmp_path / "b", formats=("png",))
    assert len(again) == 5
    with pytest.raises(EqpropError, match="format"):
        regenerate(report, tmp_path, formats=("gif",))


def test_cli_figures_from_json(report, tmp_path, capsys):
    saved = tmp_path / "r.json"
    saved.write_text(json.dumps(report.to_dict()))
    assert main(["figures", "--from", str(saved), "--out", str(tmp_path / "f"), "--format", "png"]) == 0
    assert len(capsys.readouterr().out.split()) == 5
    assert main(["figures", "--from", str(tmp_path / "missing.json")]) == 2


def test_precision_figure_tracks_dps():
    from eqprop.figures import precision
    reports = [verify("two-neurons", dps=p, times=[0, 1]) for p in (12, 20)]
    lines = _lines(precision(reports))
    assert np.allclose(lines[0].get_ydata(), [12, 20])  # the diagonal
    for line in lines[1:]:
        y = line.get_ydata()
        assert y[1] > y[0] + 5  # agreement grows with the precision
    with pytest.raises(EqpropError, match="two or more"):
        precision(reports[:1])


def test_scale_figure_plots_per_step_errors(tmp_path):
    from eqprop.figures import scale as scale_figure
    from eqprop.proofs.scale import scale
    r = scale([4, 6, 5, 3], batch=2, steps=20)
    lines = _lines(scale_figure(r))
    row = r.rows[0]
    assert np.allclose(lines[0].get_ydata(), np.maximum(row["per_step"]["complex_step"], 1e-18))
    assert np.allclose(lines[1].get_ydata(), row["per_step"]["real_beta"])


def test_regenerate_with_precision_and_scale_writes_all_seven(report, tmp_path):
    from eqprop.proofs.scale import scale
    extra = {"precision_reports": [verify("hopfield:2,3,2", dps=p, times=[0, 1]) for p in (12, 20)],
             "scale_report": scale([4, 6, 5, 3], batch=2, steps=20)}
    files = regenerate(report, tmp_path, formats=("png", "svg"), **extra)
    assert {f.stem for f in files} == {"network", "theorem3_states", "theorem3_params", "truncation",
                                      "beta_bias", "precision", "scale"}
    assert len(files) == 14 and all(f.stat().st_size > 1000 for f in files)
