"""Every smooth whitelisted function as `eqprop scale --rho f`: a pass or a one-line refusal (issue 15).

The cells are tests/function_cases.py's smooth functions, each by name
(``--rho tanh``) and as that file's formula in z (``--rho "log(z + 2)"``,
shifted into its domain), plus the named activations and a formula rho.
Each must pass (exit 0) or be refused in one line (exit 2): a function not
defined on the whole real line, with a pole, or with rho'(0) = 0, before any
work; an energy without a minimum in reach when its free phase runs away.
A hypothesis that fails (exit 1) is not an answer for these small networks.
"""

import os
import sys

import pytest

from eqprop.cli import main

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from function_cases import SMOOTH  # noqa: E402

CELLS = sorted(set(SMOOTH) | {f.format("z") for f in SMOOTH.values()}
               | {"smoothhard", "erf(z)", "z/sqrt(1 + z**2)"})
#: activations that have a minimum here: these must pass, never be refused
MUST_PASS = {"sigmoid", "tanh", "smoothhard", "erf", "erf(z)", "atan", "asinh", "sin",
             "z/sqrt(1 + z**2)", "cos(z + 1/2)"}


@pytest.mark.parametrize("rho", CELLS)
def test_scale_passes_or_refuses_in_one_line(rho, capsys):
    code = main(["scale", "--layers", "3,5,4", "--batch", "2", "--steps", "10", "--rho", rho])
    out, err = capsys.readouterr()
    if rho in MUST_PASS:
        assert code == 0, out + err
    assert code in (0, 2), out + err
    if code == 0:
        assert "verdict: agreement" in out
    else:
        lines = err.replace("\r", "\n").strip().splitlines()
        assert lines[-1].startswith("eqprop: error: "), err
        assert "\n" not in lines[-1] and "Traceback" not in err and not out
