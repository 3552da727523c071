"""Write the seven notebooks of the course unit (run after editing; the .ipynb files are committed).

    python examples/notebooks/make_notebooks.py          # (re)write the notebooks
    python examples/notebooks/make_notebooks.py --check  # exit 1 if a committed one is out of date

The content lives in ``course/unit1.py`` ... ``course/unit7.py`` (one module
per notebook, cells built with ``course/cells.py``); this script only
assembles it. Cell ids are derived from the position, so the same content
always gives the same file. The notebooks are written without outputs: run
them in Jupyter, or with the tests (``pytest tests/test_notebooks.py``).
"""

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from course import UNITS  # noqa: E402

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _flatten(cells):
    for c in cells:
        if isinstance(c, list):
            yield from _flatten(c)
        else:
            yield c


def build():
    """``{file name: notebook}`` for every unit, in order."""
    out = {}
    for number, unit in enumerate(UNITS, 1):
        cells = []
        for k, c in enumerate(_flatten(unit.CELLS)):
            make = new_markdown_cell if c["kind"] == "markdown" else new_code_cell
            cell = make(c["source"], metadata=dict(c["metadata"]))
            cell["id"] = f"unit{number}-{k:03d}"
            cells.append(cell)
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = dict(KERNEL)
        nb.metadata["language_info"] = {"name": "python"}
        nb.metadata["title"] = unit.TITLE
        nbformat.validate(nb)
        out[unit.NAME] = nb
    return out


def main(argv=()):
    built = build()
    if "--check" in argv:
        stale = [name for name, nb in built.items()
                 if not (HERE / name).is_file()
                 or (HERE / name).read_text(encoding="utf-8") != nbformat.writes(nb) + "\n"]
        extra = sorted(p.name for p in HERE.glob("*.ipynb") if p.name not in built)
        for name in stale:
            print(f"out of date: {name} (run python examples/notebooks/make_notebooks.py)")
        for name in extra:
            print(f"not made by this script: {name}")
        if not (stale or extra):
            print(f"up to date: the {len(built)} notebooks are what this script makes")
        return 1 if stale or extra else 0
    for name, nb in built.items():
        (HERE / name).write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
