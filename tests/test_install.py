"""A normal (non-editable) install ships every subpackage and the model files."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_every_subpackage_imports_from_an_installed_copy(tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(ROOT)],
                   check=True, cwd=tmp_path)
    code = (
        "import eqprop, eqprop.cli, eqprop.symbolic, eqprop.numeric, eqprop.proofs, eqprop.figures\n"
        "from eqprop import load_model, builtin_names\n"
        f"assert eqprop.__file__.startswith({str(target)!r}), eqprop.__file__\n"
        f"assert eqprop.symbolic.__file__.startswith({str(target)!r}), eqprop.symbolic.__file__\n"
        "assert 'paper' in builtin_names()\n"
        "print(load_model('paper').name)\n")
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(target), "PATH": ""},
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "paper example" in out.stdout
