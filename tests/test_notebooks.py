"""The course unit's seven notebooks: up to date with their source, well formed, and each runs
top to bottom, offline, without an error and with every figure it should draw displayed.

The figure count also guards Jupyter's inline display: notebooks 2, 4 and 5 draw an
eqprop figure as the first figure of their session and more figures after it, which is
how eqprop's styling once switched the inline backend off (every later cell came back
without an image).
"""

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

FOLDER = Path(__file__).resolve().parents[1] / "examples" / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))

#: images each notebook must display: figures of the text, then those of the solutions
EXPECTED_IMAGES = {
    "1_free_phase.ipynb": 1,                # landscape and convergence
    "2_recurrent_backprop.ipynb": 2,        # network (eqprop), side network in time
    "3_equilibrium_prop.ipynb": 2,          # estimators against beta, beta_bias (eqprop)
    "4_theorem3.ipynb": 3 + 1,              # theorem3_states, theorem3_params, truncation; the saddle
    "5_your_own_energy.ipynb": 2,           # theorem3_states (eqprop), gap against asymmetry
    "6_discrete_time_at_scale.ipynb": 2,    # scale (eqprop), normalized errors
    "7_choosing_an_estimator.ipynb": 5,     # errors, points, radius, plane, truncated (eqprop)
}


def _maker():
    spec = importlib.util.spec_from_file_location("make_notebooks", FOLDER / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _images(cell):
    return sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def test_every_notebook_is_made_by_the_script():
    assert [p.name for p in NOTEBOOKS] == sorted(EXPECTED_IMAGES)
    built = _maker().build()
    assert sorted(built) == sorted(EXPECTED_IMAGES)
    for name, nb in built.items():
        assert (FOLDER / name).read_text(encoding="utf-8") == nbformat.writes(nb) + "\n", (
            f"{name} is out of date: run python examples/notebooks/make_notebooks.py")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_a_lesson(path):
    """Markdown with LaTeX, a theorem with a proof sketch, 2-4 exercises each with a hidden,
    runnable solution that checks itself, figure cells that say how many figures they draw."""
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "$$" in text and "Proof sketch" in text
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    exercises = [c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("### Exercise")]
    assert 2 <= len(solutions) == len(exercises) <= 4
    for cell in solutions:
        assert cell.cell_type == "code" and cell.metadata["jupyter"]["source_hidden"] is True
        assert "assert " in cell.source
    figures = sum(c.metadata.get("figures", 0) for c in nb.cells)
    assert figures == EXPECTED_IMAGES[path.name]
    assert "eqprop._" not in "\n".join(c.source for c in nb.cells)   # the public API only


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    # one BLAS thread: on a shared machine a second one spins against the other processes
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    wrong = [(nb.cells.index(c), c.metadata.get("figures", 0), _images(c)) for c in code
             if _images(c) != c.metadata.get("figures", 0)]
    assert not wrong, f"cells (index, figures drawn, images shown): {wrong}"
    assert sum(_images(c) for c in code) == EXPECTED_IMAGES[path.name]


def test_describe_is_public():
    import eqprop
    import eqprop.symbolic
    assert eqprop.describe is eqprop.symbolic.describe
    assert "describe" in eqprop.__all__ and "describe" in eqprop.symbolic.__all__
    assert eqprop.describe(eqprop.load_model("two-neurons")).startswith("eqprop derive: two neurons")


def test_an_html_export_leaves_the_solutions_out(tmp_path):
    """Hidden in Jupyter, hidden in an export: the solution cells' code is not in the HTML; with
    the cells tagged 'solution' removed, neither are their results (a handout)."""
    nbconvert = pytest.importorskip("nbconvert")
    import html
    import re
    path = FOLDER / "3_equilibrium_prop.ipynb"
    nb = nbformat.read(path, as_version=4)
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert solutions and all(c.metadata["transient"]["remove_source"] for c in solutions)
    lines = [ln.strip() for c in solutions for ln in c.source.splitlines() if len(ln.strip()) > 25]

    def text(**config):
        from traitlets.config import Config
        body, _ = nbconvert.HTMLExporter(config=Config(config)).from_notebook_node(nb)
        return html.unescape(re.sub(r"<[^>]+>", "", body))
    plain = text()
    assert not [ln for ln in lines if ln in plain]
    assert "Exercise" in plain and "# your answer here" in plain  # the exercises are there
    handout = text(TagRemovePreprocessor={"remove_cell_tags": {"solution"}, "enabled": True})
    assert not [ln for ln in lines if ln in handout]
