"""figures/estimators.py: each figure of ``eqprop estimators`` draws the report's measured numbers,
from the report or the dictionary of its JSON, and the command writes them (--figures)."""

import json
import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import eqprop.proofs  # noqa: E402
from eqprop import estimators  # noqa: E402
from eqprop.cli import main  # noqa: E402
from eqprop.errors import EqpropError  # noqa: E402
from eqprop.figures import estimators as figs  # noqa: E402


@pytest.fixture(scope="module")
def report():
    return estimators("two-neurons", dps=20, points=(4, 8))


@pytest.fixture(scope="module")
def asym_report():
    # points=(): no complex nudges, only the finite-beta series and the asymmetry study
    return estimators("examples/asymmetry.toml", dps=20, points=(), asymmetry="alpha")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


def _lines(artists):
    return [a for a in artists if hasattr(a, "get_ydata")]


def _series(d, test):
    return [s for s in d["series"] if test(s)]


def _xy(s, key="relative"):
    return ([abs(float(p["value"])) for p in s["points"]], [float(p[key]) for p in s["points"]])


def _row(d, id):
    return next(c for c in d["checks"] if c["id"] == id)


def test_the_report_records_what_the_figures_need(report):
    d = report.to_dict()
    assert report.verdict.short == "verified"
    # the N series at r = R / 2: N = 1, 2 and the points, with no row (the rows are unchanged)
    (along,) = _series(d, lambda s: s["parameter"] == "N")
    assert along["row"] is None and [float(p["value"]) for p in along["points"]] == [1, 2, 4, 8]
    R = float(d["radius"]["value"])
    assert math.isclose(float(along["fixed"]["r"]), R / 2, rel_tol=1e-6)
    errs = _xy(along)[1]
    assert errs[-1] < errs[2] < errs[0]  # more nudges, smaller error
    assert [c["id"] for c in d["checks"]] == ["EST.N1+", "EST.N1-", "EST.N2", "EST.N4", "EST.N8",
                                              "EST.reach", "EST.break", "EST.cs", "EST.trunc"]
    # the radius search's circles: the scan's (32 nudges), then the final circle the
    # coefficients came from (128), kept
    tried = d["radius"]["tried"]
    assert tried and tried[-1]["kept"] and tried[-1]["points"] == 128
    assert float(tried[-1]["circle"]) == pytest.approx(float(d["radius"]["circle"]), rel=1e-5)
    assert {c["points"] for c in tried[:-1]} == {32}
    # the nearest singularity: |beta*| = R, and of a conjugate pair the one above the axis
    z = complex(float(d["radius"]["singularity"]["re"]), float(d["radius"]["singularity"]["im"]))
    assert abs(z) == pytest.approx(R, rel=1e-6) and z.imag >= 0
    assert report.radius.singularity is not None and report.radius.tried


def test_errors_draws_every_nudged_series_with_its_fitted_order(report):
    d = report.to_dict()
    chosen = _series(d, lambda s: (s["row"] or "").startswith("EST.N"))
    assert [s["row"] for s in chosen] == ["EST.N1+", "EST.N1-", "EST.N2", "EST.N4", "EST.N8"]
    lines = _lines(figs.errors(report))
    assert len(lines) == len(chosen)
    for line, s in zip(lines, chosen):
        x, y = _xy(s)
        assert np.allclose(line.get_xdata(), x) and np.allclose(line.get_ydata(), y)
        assert f"fitted order {float(_row(d, s['row'])['lhs']):.3g}" in line.get_label()
    assert lines[0].axes.get_xscale() == lines[0].axes.get_yscale() == "log"
    assert lines[0].axes.get_title()


def test_truncated_draws_the_errors_and_the_predicted_rate_through_the_last_point(report):
    d = report.to_dict()
    (s,) = _series(d, lambda s: s["row"] == "EST.trunc")
    t, y = _xy(s)
    measured, guide = _lines(figs.truncated(report))
    assert np.allclose(measured.get_xdata(), t) and np.allclose(measured.get_ydata(), y)
    g = np.asarray(guide.get_ydata(), float)
    assert g[-1] == pytest.approx(y[-1])
    rate = -math.log(g[-1] / g[0]) / (t[-1] - t[0])
    assert rate == pytest.approx(float(_row(d, "EST.trunc")["rhs"]), rel=1e-9)


def test_points_draws_the_error_against_N(report):
    d = report.to_dict()
    (s,) = _series(d, lambda s: s["parameter"] == "N")
    n, y = _xy(s)
    measured, guide = _lines(figs.points(report))
    assert np.allclose(measured.get_xdata(), n) and np.allclose(measured.get_ydata(), y)
    g = np.asarray(guide.get_ydata(), float)
    assert g[-1] == pytest.approx(y[-1]) and g[0] / g[1] == pytest.approx(2.0)  # (r/R)^N, r = R/2


def test_radius_draws_the_break_across_R_with_its_law(report):
    d = report.to_dict()
    (s,) = _series(d, lambda s: s["row"] == "EST.break")
    R, N = float(s["fixed"]["R"]), float(s["fixed"]["N"])
    r, y = _xy(s)
    arts = figs.radius(report)
    measured, law, mark = _lines(arts)
    assert np.allclose(measured.get_xdata(), [v / R for v in r])
    assert np.allclose(measured.get_ydata(), y)
    assert list(mark.get_xdata()) == [1.0, 1.0]  # the computed radius at r/R = 1
    gx, gy = np.asarray(law.get_xdata(), float), np.asarray(law.get_ydata(), float)
    assert np.log(gy[-1] / gy[0]) / np.log(gx[-1] / gx[0]) == pytest.approx(N)
    # C fitted on r/R <= 0.8: the law and the measured points meet there, and part beyond R
    C = gy[0] / gx[0] ** N
    inside = [(v / R, e) for v, e in zip(r, y) if v / R <= 0.8 + 1e-9]
    assert all(0.5 < e / (C * x ** N) < 2 for x, e in inside)
    assert y[-1] < 0.5 * C * (r[-1] / R) ** N


def test_plane_draws_the_circles_tried_R_and_the_singularity(report):
    d = report.to_dict()
    lines = _lines(figs.plane(report))

    def radius_of(line):
        return float(np.max(np.hypot(line.get_xdata(), line.get_ydata())))
    upper = [radius_of(ln) for ln in lines
             if min(ln.get_ydata()) > -1e-9 and len(ln.get_xdata()) > 2]
    tried = [float(c["circle"]) for c in d["radius"]["tried"]]
    assert np.allclose(sorted(upper), sorted(tried), rtol=1e-5)
    R = float(d["radius"]["value"])
    assert any(abs(radius_of(ln) - R) < 1e-6 * R and min(ln.get_ydata()) < -0.5 * R
               and max(ln.get_ydata()) > 0.5 * R for ln in lines)  # |beta| = R, whole
    z = d["radius"]["singularity"]
    marks = [(ln.get_xdata()[0], ln.get_ydata()[0]) for ln in lines if len(ln.get_xdata()) == 1]
    assert marks[0] == pytest.approx((float(z["re"]), float(z["im"])), rel=1e-6)
    used = {round(v, 6) for s in _series(d, lambda s: s["parameter"] == "r") for v in _xy(s)[0]}
    lower = {round(radius_of(ln), 6) for ln in lines if max(ln.get_ydata()) < 1e-9}
    assert used <= lower


def test_every_figure_draws_the_same_from_the_json_dictionary(report, asym_report):
    for source, names in ((report, ["errors", "truncated", "points", "radius", "plane"]),
                          (asym_report, ["errors", "asymmetry"])):
        d = json.loads(json.dumps(source.to_dict()))
        for name in names:
            draw = getattr(figs, name)
            a, b = _lines(draw(source)), _lines(draw(d))
            assert len(a) == len(b) > 0, name
            for x, y in zip(a, b):
                assert np.allclose(x.get_ydata(), y.get_ydata(), equal_nan=True), name
                assert x.get_label() == y.get_label(), name


def test_asymmetry_draws_the_angle_and_the_gap(asym_report):
    d = asym_report.to_dict()
    (s,) = _series(d, lambda s: s["row"] == "ASYM.order")
    angle, gap = _lines(figs.asymmetry(asym_report))
    a, deg = _xy(s, "angle")
    assert np.allclose(angle.get_xdata(), a) and np.allclose(angle.get_ydata(), deg)
    assert np.allclose(gap.get_ydata(), _xy(s)[1])
    assert f"fitted order {float(_row(d, 'ASYM.order')['lhs']):.3g}" in angle.axes.get_title()


def test_a_missing_series_is_named_not_a_crash(report, asym_report):
    with pytest.raises(EqpropError, match="no asymmetry series.*--asymmetry"):
        figs.asymmetry(report)
    with pytest.raises(figs.MissingSeries, match="plane: the report has no radius"):
        figs.plane(asym_report)  # no complex nudges: no radius
    with pytest.raises(figs.MissingSeries, match="truncation series"):
        figs.truncated(asym_report)  # a vector field
    d = report.to_dict()
    del d["radius"]["tried"]
    with pytest.raises(figs.MissingSeries, match="circles tried"):
        figs.plane(d)
    with pytest.raises(EqpropError, match="expected an EstimatorReport"):
        figs.errors({"model": "x"})
    bad = json.loads(json.dumps(report.to_dict()))
    bad["series"][0]["points"][0]["relative"] = "not a number"
    with pytest.raises(EqpropError, match="expected a number"):
        figs.errors(bad)


def test_save_writes_what_the_report_has_and_names_what_it_lacks(asym_report, tmp_path):
    notes = []
    files = figs.save(asym_report, tmp_path / "a" / "b", ("png", "svg"), note=notes.append)
    assert sorted(f.name for f in files) == ["asymmetry.png", "asymmetry.svg", "errors.png",
                                             "errors.svg"]
    assert len(notes) == 4 and all(n.startswith("skipped figure ") for n in notes)
    # a run that stopped before the estimators: nothing to draw, each figure says why
    empty = {**asym_report.to_dict(), "series": [], "radius": None}
    notes.clear()
    assert figs.save(empty, tmp_path / "c", ("png",), note=notes.append) == []
    assert [n.split(":")[0] for n in notes] == [f"skipped figure {n}" for n, *_ in figs.FIGURES]


def test_cli_draws_the_figures_after_the_run(report, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(eqprop.proofs, "estimators", lambda *a, **k: report)
    out = tmp_path / "figs"
    assert main(["estimators", "two-neurons", "--quiet", "--figures", str(out), "--format",
                 "png,pdf"]) == 0
    captured = capsys.readouterr()
    printed = captured.out.split()[-10:]
    names = ["errors", "truncated", "points", "radius", "plane"]
    assert printed == [str(out / f"{n}.{f}") for n in names for f in ("png", "pdf")]
    assert all((out / f"{n}.png").stat().st_size > 1000 for n in names)
    assert "skipped figure asymmetry" in captured.err
    # with --json -, standard output is the report alone: the paths go to standard error
    assert main(["estimators", "--json", "-", "--figures", str(tmp_path / "j"), "--format",
                 "svg"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["model"] == report.model
    assert str(tmp_path / "j" / "errors.svg") in captured.err


@pytest.mark.parametrize("argv, says", [
    (["--format", "png"], "--format: goes with --figures"),
    (["--figures", "{file}"], "is a file, not a folder"),
    (["--figures", "{dir}", "--format", "gif"], "--format: 'gif' is not one of"),
    (["--figures", "{dir}", "--format", ","], "--format: give at least one"),
])
def test_cli_refuses_bad_figure_arguments_before_the_run(argv, says, tmp_path, capsys,
                                                         monkeypatch):
    def never(*a, **k):
        raise AssertionError("the run started")
    monkeypatch.setattr(eqprop.proofs, "estimators", never)
    (tmp_path / "f.json").write_text("{}")
    argv = [a.format(file=tmp_path / "f.json", dir=tmp_path / "d") for a in argv]
    assert main(["estimators", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()
