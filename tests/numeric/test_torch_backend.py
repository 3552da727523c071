"""The same generated code on PyTorch tensors (CPU here): it agrees with numpy to rounding.

Skipped where PyTorch is not installed (``pip install 'eqprop[torch]'``);
the last test runs without it and checks the one-line refusal.
"""

import glob
import os
import sys

import numpy as np
import pytest

from eqprop import EqpropError
from eqprop.proofs.scale import scale
from eqprop.proofs.scale_network import build
from eqprop.symbolic.arrays import layered
from eqprop.symbolic.builtins import load_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = sorted(p for p in glob.glob(os.path.join(ROOT, "examples", "*.toml"))
                  if "[state]" in open(p, encoding="utf-8").read())
SEED = 5


def _models():
    return [pytest.param(lambda p=p: load_model(p), id=os.path.basename(p)) for p in EXAMPLES] + \
        [pytest.param(lambda: layered([3, 5, 4], asymmetry=0.3), id="asymmetric layered")]


def _close(a, b, what):
    a = a.dense() if hasattr(a, "dense") else a
    b = b.dense() if hasattr(b, "dense") else b
    a, b = np.asarray(a), np.asarray(b)
    scale_ = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    err = float(np.max(np.abs(a - b), initial=0.0)) / scale_
    assert err <= 1e-12, f"{what}: {err:.1e}"


@pytest.mark.parametrize("make", _models())
def test_torch_agrees_with_numpy(make):
    pytest.importorskip("torch")
    print(f"seed {SEED}")
    model = make()
    nets = {b: build(model, batch=3, backend=b).net for b in ("numpy", "torch")}
    rng = np.random.default_rng(SEED)
    n = nets["numpy"].n_free
    s, v, u = (0.5 * rng.standard_normal((3, n)) for _ in range(3))
    a, b = nets["numpy"], nets["torch"]
    _close(b.dE_ds(s), a.dE_ds(s), "dE/ds")
    la, lb = a.linearize(s), b.linearize(s)
    for transpose in (False, True):
        _close(lb.hv(v, transpose=transpose), la.hv(v, transpose=transpose), "H v")
    for x, y in zip(lb.mv(v), la.mv(v)):
        _close(x, y, "M v")
    for x, y in zip(b.dual(s, u)[:3], a.dual(s, u)[:3]):
        _close(x, y, "dual")
    _close(b.dC_ds(s), a.dC_ds(s), "dC/ds")
    if model.has_energy:
        for x, y in zip(b.dE_dtheta(s), a.dE_dtheta(s)):
            _close(x, y, "dE/dtheta")
        Ea, _ = a.energy_and_grad(s)
        Eb, _ = b.energy_and_grad(s)
        _close(Eb, Ea, "E")
    # complex states (the complex-step fallback): the same numbers
    sc = s + 1j * 1e-3 * v
    _close(b.dE_ds(sc), a.dE_ds(sc), "dE/ds at a complex state")


def test_a_scale_run_on_torch_passes_like_numpy():
    pytest.importorskip("torch")
    runs = {b: scale([5, 7, 6, 4], batch=3, steps=30, seed=2, backend=b) for b in ("numpy", "torch")}
    assert all(r.passed for r in runs.values()), runs["torch"].table()
    assert runs["torch"].backend == "torch" and "on torch" in runs["torch"].table()
    for ra, rb in zip(runs["numpy"].rows, runs["torch"].rows):
        assert ra["quantity"] == rb["quantity"]
        assert abs(ra["real_beta"] - rb["real_beta"]) <= 1e-10 * ra["real_beta"]


def test_torch_missing_is_one_line(monkeypatch):
    """Without PyTorch, --backend torch is refused in one line that names the extra."""
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(EqpropError, match=r"eqprop\[torch\]"):
        scale([3, 4, 2], batch=2, steps=5, backend="torch")
