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
from eqprop.figures.paper import param_names  # noqa: E402


@pytest.fixture(scope="module")
def report():
    return verify("hopfield:2,3,2", dps=20, times=[0, 0.5, 1, 2, 4])


def _lines(artists):
    return [a for a in artists if hasattr(a, "get_ydata")]


def test_theorem3_lines_are_the_report_series(report):
    d = report.to_dict()
    arts = theorem3_states(report)
    lines = _lines(arts)
    n = len(d["state"])
    assert len(lines) == n + len(d["layers"]) - 1  # a line per unit, a difference per layer
    for i, line in enumerate(lines[:n]):
        assert np.allclose(line.get_xdata(), d["times"])
        assert np.allclose(line.get_ydata(), [float(r[i]) for r in d["series"]["s_bar"]])
    circles = [a for a in arts if hasattr(a, "get_offsets")]
    for i, pts in enumerate(circles):
        assert np.allclose(pts.get_offsets()[:, 1], [float(r[i]) for r in d["series"]["s_tilde"]])
    # the difference panel: per layer, max |Stilde_t - Sbar_t| over its units (gaps at exact 0)
    start = 0
    for size, line in zip(d["layers"][:-1], lines[n:]):
        from fractions import Fraction
        want = [float(max(abs(Fraction(e[i]) - Fraction(r[i])) for i in range(start, start + size)))
                for r, e in zip(d["series"]["s_bar"], d["series"]["s_tilde"])]
        assert max(want) > 0  # the sides differ in their last digits, which float64 cannot hold
        got = np.asarray(line.get_ydata(), float)
        assert np.allclose(got, np.where(np.array(want) > 0, want, np.nan), equal_nan=True)
        start += size


def test_theorem3_params_selection(report):
    names = param_names(report)[:2]
    lines = _lines(theorem3_params(report, params=names))
    assert len(lines) == 2
    k = param_names(report).index(names[1])
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
    betas = [float(b) for b in report.bias["betas"]]
    assert len(betas) == 7  # seven points a curve, three decades
    # what the report measured: one-sided and symmetric; then two guides, said to be slopes
    measured, guides = lines[:2], lines[2:]
    assert np.allclose(measured[0].get_ydata(), [float(v) for v in report.bias["one_sided"]])
    assert np.allclose(measured[1].get_ydata(), [float(v) for v in report.bias["symmetric"]])
    assert all(np.allclose(line.get_xdata(), betas) for line in lines)
    assert [g.get_label().split(":")[0] for g in guides] == ["slope 1", "slope 2"]
    for g, order in zip(guides, (1, 2)):
        y = np.asarray(g.get_ydata(), float)
        slope = np.polyfit(np.log10(betas), np.log10(y), 1)[0]
        from eqprop.figures.paper import GUIDE
        assert abs(slope - order) < 1e-9
        assert np.isclose(y[0], GUIDE * measured[order - 1].get_ydata()[0])
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


def test_precision_figure_shows_what_limits_the_digits():
    """Not digits capped at dps (every curve on y = dps by construction): each theorem's largest
    uncapped error, which falls with dps and sits below the reported precision."""
    from eqprop.figures import precision
    reports = [verify("two-neurons", dps=p, times=[0, 1]) for p in (12, 20)]
    lines = _lines(precision(reports))
    levels, theorems = lines[:3], lines[3:]
    for line, k in zip(levels, (0, 5, 10)):  # reported precision, tolerance, working precision
        assert np.allclose(line.get_ydata(), [10.0 ** -(12 + k), 10.0 ** -(20 + k)])
    for line, prefixes in zip(theorems, (("KBE",), ("T1.",), ("T2", "IFT"), ("T3.",))):
        want = [max(float(c["max_abs_error"]) / float(c["scale"]) for c in r.to_dict()["checks"]
                    if c["id"].startswith(prefixes) and c["kind"] == "identity" and c["testable"])
                for r in reports]
        y = np.asarray(line.get_ydata(), float)
        assert np.allclose(y, np.where(np.array(want) > 0, want, np.nan), equal_nan=True)
        assert all(v < 10.0 ** -(p - 5) for v, p in zip(want, (12, 20)))  # rows pass
        assert y[1] < y[0] / 1e5 or not np.isfinite(y).all()  # more digits, smaller errors
    with pytest.raises(EqpropError, match="two or more"):
        precision(reports[:1])


def test_scale_figure_plots_per_step_errors(tmp_path):
    from eqprop.figures import scale as scale_figure
    from eqprop.proofs.scale import scale
    r = scale([4, 6, 5, 3], batch=2, steps=20)
    lines = _lines(scale_figure(r))
    row = r.rows[0]
    cs = np.array(row["per_step"]["complex_step"], dtype=float)
    assert np.allclose(lines[0].get_ydata(), np.where(cs > 0, cs, np.nan), equal_nan=True)
    assert np.allclose(lines[1].get_ydata(), row["per_step"]["real_beta"])


def test_regenerate_with_precision_and_scale_writes_all_seven(report, tmp_path):
    from eqprop.proofs.scale import scale
    extra = {"precision_reports": [verify("hopfield:2,3,2", dps=p, times=[0, 1]) for p in (12, 20)],
             "scale_report": scale([4, 6, 5, 3], batch=2, steps=20)}
    files = regenerate(report, tmp_path, formats=("png", "svg"), **extra)
    assert {f.stem for f in files} == {"network", "theorem3_states", "theorem3_params", "truncation",
                                      "beta_bias", "precision", "scale"}
    assert len(files) == 14 and all(f.stat().st_size > 1000 for f in files)


# -- a figure plots only what its report measured ------------------------------------

def _numbers(*docs):
    """Every number in the reports' dictionaries (strings such as '1.5e-31' and '3/10' too)."""
    from fractions import Fraction
    out = []

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(float(v))
        elif isinstance(v, str):
            try:
                out.append(float(Fraction(v)))
            except (ValueError, ZeroDivisionError):
                pass
    for d in docs:
        walk(d)
    return np.array(sorted(set(out)))


def _plotted(ax):
    """(x, y) of every point on the axes: every Line2D and every scatter collection."""
    points = []
    for line in ax.get_lines():
        points += list(zip(np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)))
    for coll in ax.collections:
        points += [tuple(p) for p in np.asarray(coll.get_offsets(), float)]
    return points


def _assert_in(points, numbers, what):
    assert points, what
    for x, y in points:
        for v in (x, y):
            if np.isnan(v):  # a gap (an exact zero on a log axis): nothing drawn
                continue
            assert np.isclose(v, numbers, rtol=1e-9, atol=0).any(), (what, v)


def _draw(fn, *args, **kwargs):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    fn(*args, ax=ax, **kwargs)
    plt.close(fig)
    return ax


def test_every_plotted_point_is_a_number_of_the_report(report):
    from eqprop.figures import precision
    d = report.to_dict()
    numbers = _numbers(d)
    for fn in (theorem3_params,):
        _assert_in(_plotted(_draw(fn, report)), numbers, fn.__name__)
    # theorem3_states: the series, and each difference of two of the report's numbers
    series = d["series"]
    from fractions import Fraction
    diffs = [float(abs(Fraction(e) - Fraction(r))) for re, ee in zip(series["s_bar"], series["s_tilde"])
             for r, e in zip(re, ee)]
    _assert_in(_plotted(_draw(theorem3_states, report)), np.array(sorted(set(numbers) | set(diffs))),
               "theorem3_states")
    # beta_bias: the measured errors, and the guides drawn from the first one as marked slopes
    b = [float(x) for x in d["bias"]["betas"]]
    from eqprop.figures.paper import GUIDE
    guides = [GUIDE * float(d["bias"][key][0]) * (x / b[0]) ** k
              for key, k in (("one_sided", 1), ("symmetric", 2)) for x in b]
    _assert_in(_plotted(_draw(beta_bias, report)), np.array(sorted(set(numbers) | set(guides))),
               "beta_bias")
    # precision: ratios of the reports' numbers (error over size), and the levels 10^-(dps+k)
    others = [verify("hopfield:2,3,2", dps=12, times=[0, 1])]
    docs = [d, *(r.to_dict() for r in others)]
    ratios = [float(c["max_abs_error"]) / float(c["scale"]) for doc in docs for c in doc["checks"]
              if float(c["scale"]) > 0]
    levels = [10.0 ** -(doc["dps"] + k) for doc in docs for k in (0, 5, 10)]
    _assert_in(_plotted(_draw(precision, others + [report])),
               np.array(sorted(set(_numbers(*docs)) | set(ratios) | set(levels))), "precision")


def test_truncation_plots_the_report_s_gradient_error_and_a_marked_prediction(report):
    """The one derived series: |Thetabar_t - dJ/dtheta|, from the report's own numbers; the
    dashed line is the prediction exp(-lambda_min t) from the report's lambda_min, said so."""
    d = report.to_dict()
    grad = [float(v) for v in d["dJ_dtheta"]["implicit"]]
    err = [max(abs(float(a) - b) for a, b in zip(row, grad)) for row in d["series"]["theta_bar"]]
    measured, predicted = _draw(truncation, report).get_lines()
    _assert_in(list(zip(measured.get_xdata(), measured.get_ydata())), np.array(err + d["times"]),
               "truncation")
    assert predicted.get_linestyle() == "--" and predicted.get_marker() in ("None", "", None)
    assert "lambda_{min}" in predicted.get_label()
    assert np.allclose(predicted.get_xdata(), d["times"])


def test_every_plotted_point_of_the_scale_figure_is_in_its_report():
    from eqprop.figures import scale as scale_figure
    from eqprop.proofs.scale import scale
    r = scale([4, 6, 5, 3], batch=2, steps=20)
    lines = _draw(scale_figure, r).get_lines()
    numbers = _numbers(r.to_dict())
    for line in lines:  # x: the step, the position of the error in the report's per-step list
        y = np.asarray(line.get_ydata(), float)
        assert np.array_equal(line.get_xdata(), np.arange(len(y)))
        _assert_in([(v, v) for v in y], numbers, "scale")


# -- parameters in declared order ----------------------------------------------------

def _with_params(d, params):
    return {**d, "params": params}


def test_params_list_form_labels_in_declared_order(report):
    d = report.to_dict()
    names = param_names(d)
    values = [str(i) for i in range(len(names))]
    listed = _with_params(d, [{"name": n, "value": v} for n, v in zip(names, values)])
    old = _with_params(d, dict(zip(names, values)))
    for form in (listed, old):
        assert param_names(form) == names
        lines = _lines(theorem3_params(form))
        chosen = ["W01_0_0", "W12_0_0", "W01_0_1", "W01_0_2"]  # one weight of each layer first
        assert [ln.get_label() for ln in lines] == [f"${n}$".replace("_", r"\_") for n in chosen]
        for n, ln in zip(chosen, lines):  # the line of n is n's column of the series
            k = names.index(n)
            assert np.allclose(ln.get_ydata(), [float(r[k]) for r in d["series"]["theta_bar"]])


def test_declared_order_is_not_alphabetical_order():
    """A model declaring w before c: the figure's first curve is w, column 0 of the series."""
    from eqprop import Model
    m = Model(energy="(a**2 + b**2)/2 - w*tanh(a)*tanh(b) - c*tanh(b)", cost="(a - y)**2/2",
              state=["a", "b"], params={"w": "0.3", "c": "0.5"}, data={"y": "0.2"})
    r = verify(m, dps=12, times=[0, 1])
    d = json.loads(r.to_json())  # through JSON (sorted keys) as `--from report.json` reads it
    if isinstance(d["params"], dict):
        pytest.skip("this eqprop's report still writes params as a dict (alphabetical in JSON)")
    assert param_names(d) == ["w", "c"]
    lines = _lines(theorem3_params(d))
    assert [ln.get_label() for ln in lines] == ["$w$", "$c$"]
    assert np.allclose(lines[0].get_ydata(), [float(row[0]) for row in d["series"]["theta_bar"]])


def test_paper_set_is_what_regenerate_draws(tmp_path):
    """`eqprop figures` without --from: the runs of paper_set, drawn by regenerate."""
    from eqprop.figures import paper_set
    said = []
    drawn = paper_set("two-neurons", 12, points=5, precisions=(10, 12), scale_layers=(4, 6, 3),
                      progress=said.append)
    report = drawn["report"]
    assert report.dps == 12 and len(report.times) == 5 and report.times[0] == 0
    assert report.times == sorted(report.times) and report.times[-1] > 0
    assert [r.dps for r in drawn["precision_reports"]] == [10, 12]  # dps itself not run twice
    assert drawn["precision_reports"][-1] is report
    assert list(drawn["scale_report"].layers) == [4, 6, 3]
    assert len(said) == 3
    files = regenerate(out=tmp_path, formats=("png",), **drawn)
    expected = {"theorem3_states", "theorem3_params", "truncation", "beta_bias", "precision", "scale"}
    assert {f.stem for f in files} == expected | ({"network"} if report.layers else set())


# -- the committed gallery is what the current code draws ------------------------------

GALLERY = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "figures"
REGENERATE = "regenerate it with `eqprop figures --out docs/figures --format png` (README, Gallery)"


def test_a_png_carries_its_input_and_a_hash_of_what_was_drawn(report, tmp_path):
    from eqprop.figures.gallery import read_png, report_input
    from eqprop.figures.report_io import check_report
    files = {f.stem: f for f in regenerate(report, tmp_path, formats=("png",))}
    want = json.loads(json.dumps(report_input(check_report(report))))
    hashes = set()
    for stem, f in files.items():
        data, drawn, size = read_png(f)
        assert data == want, stem  # the numbers it was drawn from, every one
        assert drawn and len(drawn) == 64 and min(size) > 100
        hashes.add(drawn)
    assert len(hashes) == len(files)  # each figure draws something else
    again = regenerate(read_png(files["theorem3_states"])[0], tmp_path / "again", formats=("png",))
    assert [read_png(f)[1] for f in again] == [read_png(files[f.stem])[1] for f in again]


def test_the_committed_gallery_is_what_the_current_code_draws(tmp_path):
    """docs/figures: the figures of `eqprop figures`, each the current code's drawing of the numbers
    it carries (same plotted data, styles, legends and size: a hash, not pixels), nothing else."""
    from eqprop.figures.gallery import read_png
    committed = {p.name: p for p in GALLERY.iterdir()}
    assert all(name.endswith(".png") for name in committed), (sorted(committed), REGENERATE)
    read = {name[:-4]: read_png(p) for name, p in committed.items()}
    bare = sorted(stem for stem, (data, drawn, _) in read.items() if data is None or drawn is None)
    assert not bare, (f"{bare} carry no drawing data", REGENERATE)
    report = read["theorem3_states"][0]
    for stem in ("network", "theorem3_params", "truncation", "beta_bias"):
        assert read[stem][0] == report, (f"{stem} was drawn from another report", REGENERATE)
    fresh = regenerate(report, tmp_path, formats=("png",), precision_reports=read["precision"][0],
                       scale_report=read["scale"][0])
    assert {f.stem for f in fresh} == set(read), REGENERATE  # every figure of the set, no stale one
    for f in fresh:
        _, drawn, (w, h) = read_png(f)
        _, was, (w0, h0) = read[f.stem]
        assert drawn == was, (f"{f.stem}.png is not what the current code draws", REGENERATE)
        # the size too, within what font versions move a tight bounding box
        assert abs(w - w0) <= 0.04 * w0 and abs(h - h0) <= 0.04 * h0, (f.stem, (w, h), (w0, h0))


@pytest.mark.slow
def test_the_committed_gallery_s_numbers_are_what_the_command_computes():
    """The README shows what `eqprop figures` draws today: the numbers the committed figures
    carry are those of a fresh run of the same command (the betas, the times, the series),
    not of an older version (issue 23 found a beta_bias drawn at other betas)."""
    from eqprop.figures import paper_set
    from eqprop.figures.gallery import read_png, report_input
    from eqprop.figures.report_io import check_report
    drawn = paper_set()  # what `eqprop figures` runs, with its defaults
    fresh = json.loads(json.dumps(report_input(check_report(drawn["report"]))))
    committed = read_png(GALLERY / "beta_bias.png")[0]
    assert fresh["model"] == committed["model"] and fresh["dps"] == committed["dps"]
    assert np.allclose(fresh["times"], committed["times"], rtol=1e-12, atol=0)
    for key in ("betas", "one_sided", "symmetric"):
        assert np.allclose(np.array(fresh["bias"][key], float), np.array(committed["bias"][key], float),
                           rtol=1e-6), (key, REGENERATE)
    for key in ("s_bar", "theta_bar"):
        assert np.allclose(np.array(fresh["series"][key], float),
                           np.array(committed["series"][key], float), rtol=1e-9, atol=1e-30), key
