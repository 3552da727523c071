"""`eqprop derive` of an array model: the derivation in matrix notation, as text and LaTeX.

The expected lines below were derived by hand from the layered energy (2.4):
dE/ds_l = s_l - rho'(s_l) (W_l rho(s_{l+1}) + W_{l-1}^T rho(s_{l-1})), the
contrastive Hebbian dE/dW = -rho(s_l) rho(s_{l+1})^T, and so on; the printed
derivation must say exactly that. The LaTeX document passes the same checks
as the per-neuron summary's (structure, amsmath only, every row through
matplotlib's mathtext).
"""

import glob
import os

import pytest

from eqprop import describe
from eqprop.cli import main
from eqprop.symbolic.arrays import ArrayModel, layered
from eqprop.symbolic.builtins import load_model
from test_derive_summary import check_latex, mathtext_rows

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = sorted(p for p in glob.glob(os.path.join(ROOT, "examples", "*.toml"))
                  if "[state]" in open(p, encoding="utf-8").read())

LAYERED = [
    "dE/ds0 = s0 - rho'(s0) * W01 rho(s1)",
    "dE/ds1 = s1 - rho'(s1) * (W12 rho(s2) + W01^T rho(s0))",
    "dE/ds2 = s2 - rho'(s2) * (W23 rho(x) + W12^T rho(s1))",
    "(M v)_W23 = -(v_s2 * rho'(s2)) rho(x)^T",
    "dE/dW01 = -rho(s0) rho(s1)^T",
    "dE/dW12 = -rho(s1) rho(s2)^T",
    "dC/ds0 = s0 - y",
]


def test_the_layered_derivation_reads_as_by_hand(capsys):
    assert main(["derive", os.path.join(ROOT, "examples", "layered_hopfield.toml")]) == 0
    out = capsys.readouterr().out
    lines = [ln.strip() for ln in out.splitlines()]
    for expected in LAYERED:
        assert expected in lines, expected
    assert "state s: s0 (2); s1 (3); s2 (3) -- 8 units" in lines
    assert "rho(z) = 1/(1 + exp(-z))" in lines


def test_a_vector_field_prints_h_transpose_too():
    text = describe(layered([3, 4, 2], asymmetry=0.2))
    assert "(H^T v)_s0 = " in text and "g_s1 = " in text
    assert "drho(s1) * (W12 rho(x) + B01^T rho(s0))" in text


def test_modern_hopfield_gradient():
    text = describe(load_model(os.path.join(ROOT, "examples", "modern_hopfield.toml")))
    assert "dE/ds = s - (X^T softmax(b * X s) + x)" in text
    assert "dE/dX = -softmax(b * X s) s^T" in text


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_every_example_derives_as_a_latex_document(path):
    rows = check_latex(describe(load_model(path), latex=True, document=True))
    assert mathtext_rows(rows) >= 6


def test_an_expression_too_long_is_named_not_printed():
    m = ArrayModel(energy=" + ".join(f"sum(tanh(s + {k})**2)" for k in range(400)), cost="sum(s)",
                   state={"s": 2})
    text = describe(m)
    assert "not printed" in text and len(text) < 100_000
