"""What the README says the tool does, it does (issue 23): its files exist, its commands run.

Every example file and built-in model the README's commands name exists and
loads; the double well's two starts find two minima, each verified; the
notebook maker's check says so when the notebooks are up to date.
"""

import importlib.util
import os
import re

import pytest

from eqprop import Verdict, load_model, verify

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
PATHS = sorted(set(re.findall(r"examples/[\w/]+\.(?:toml|py)", README)))
COMMANDS = [ln.strip() for block in re.findall(r"```bash\n(.*?)```", README, re.S)
            for ln in block.splitlines() if ln.strip().startswith("eqprop ")]


def test_the_readme_names_only_files_that_exist():
    assert len(PATHS) >= 8, PATHS
    missing = [p for p in PATHS if not os.path.exists(os.path.join(ROOT, p))]
    assert not missing, missing


@pytest.mark.parametrize("command", COMMANDS)
def test_every_model_a_readme_command_names_loads(command):
    """The MODEL argument of each command (a file, a built-in name, a spec) loads."""
    args = command.split("#")[0].split()
    if len(args) < 3 or args[1] not in ("verify", "derive", "scale") or args[2].startswith("-"):
        return
    spec = args[2]
    path = os.path.join(ROOT, spec)
    load_model(path if os.path.exists(path) else spec)


def test_the_double_well_has_two_minima():
    path = os.path.join(ROOT, "examples", "double_well.toml")
    right = verify(path, dps=20, engine="gbs")
    left = verify(path, dps=20, engine="gbs", initial_state=[-1, 0])
    assert right.verdict is left.verdict is Verdict.VERIFIED
    assert float(right.s_free[0]) > 0.5 and float(left.s_free[0]) < -0.5


def test_the_notebook_check_says_when_all_is_up_to_date(capsys):
    pytest.importorskip("nbformat")
    spec = importlib.util.spec_from_file_location(
        "make_notebooks", os.path.join(ROOT, "examples", "notebooks", "make_notebooks.py"))
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    assert maker.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out
