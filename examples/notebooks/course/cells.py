"""Cell builders for the course notebooks.

A cell is a plain dict ``{"kind", "source", "metadata"}``; ``make_notebooks.py``
turns the list into an nbformat notebook with deterministic cell ids, so the
committed files change only when their content does.

- :func:`md`: a markdown cell (LaTeX between ``$...$`` and ``$$...$$``).
- :func:`code`: a code cell, from one or more pieces (such as the snippets
  :data:`FREE_PHASE` and :data:`SHOW_EQUATIONS`, which notebooks that must each
  stand alone share); ``figures=k`` says that it draws k figures, which
  the tests count as image outputs (``metadata["figures"]``, tag ``figure``).
- :func:`exercise`: the statement and an empty cell for the reader's answer.
- :func:`solution`: the worked solution, a runnable code cell whose source is
  hidden (``metadata["jupyter"]["source_hidden"]``) and that ends with checks
  (``assert``), followed by a collapsed ``<details>`` block that says what it
  shows and why.
"""

from textwrap import dedent


def _clean(text):
    return dedent(text).strip("\n")


def md(text):
    return {"kind": "markdown", "source": _clean(text), "metadata": {}}


#: the free phase of ``model`` to the working precision, as notebook 1 explains it
FREE_PHASE = r"""
compiled = eqprop.compile_model(eqprop.derive(model))
theta, data = model.values()
system = System(compiled, theta, data)
th, dt = np.array(theta, float), np.array(data, float)
s_float, _, _ = relax(lambda s: compiled.dE_ds(s, th, dt),
                      lambda s: compiled.d2E_ds2(s, th, dt), np.zeros(system.n))
s0, _, _ = newton(system, [mpmath.mpf(v) for v in s_float])     # the free phase, as in notebook 1
"""

#: ``show_equations(model)``: what ``eqprop.describe(model, latex=True)`` says, rendered
SHOW_EQUATIONS = r"""
def show_equations(model):
    # the lines of describe()'s align* block, rendered by the notebook
    lines = [l for l in eqprop.describe(model, latex=True).splitlines()
             if not l.startswith(("%", r"\begin", r"\end"))]
    return Math(r"\begin{aligned}" + "\n".join(lines) + r"\end{aligned}")
"""


def code(*parts, figures=0):
    """A code cell; several ``parts`` are joined by blank lines."""
    meta = {"figures": figures, "tags": ["figure"]} if figures else {}
    return {"kind": "code", "source": "\n\n".join(_clean(p) for p in parts), "metadata": meta}


def exercise(number, text, starter="# your answer here"):
    """The statement of exercise ``number`` and an empty code cell under it."""
    return [md(f"### Exercise {number}\n\n" + _clean(text) +
               "\n\n*A worked solution follows, hidden: click the collapsed cell to show it, "
               "run it to check.*"),
            {"kind": "code", "source": starter, "metadata": {"tags": ["exercise"]}}]


def solution(source, discussion, *, figures=0):
    """A hidden, runnable solution cell and a collapsed discussion of what it shows."""
    # hidden in Jupyter (source_hidden) and left out of an export (transient.remove_source:
    # jupyter nbconvert honours it), so that a handout made from the notebook hides it too
    meta = {"jupyter": {"source_hidden": True}, "transient": {"remove_source": True},
            "tags": ["solution"]}
    if figures:
        meta["figures"] = figures
        meta["tags"].append("figure")
    return [{"kind": "code", "source": _clean(source), "metadata": meta},
            md("<details>\n<summary>Solution: what it shows</summary>\n\n" + _clean(discussion) +
               "\n\n</details>")]
