"""The scale figure draws what was measured, and its caption says what the data show (issue 11, item 6).

The caption: with a complex step the per-step error follows float64's
rounding bound 2^-53 |u_{k+1}| / |Sbar_k| of EP's readout (it rises as Sbar_k
decays, it is not flat); a real beta carries its O(beta) bias; steps at which
RBP's side is still exactly zero are gaps, never huge values off the chart.
"""

import math

import numpy as np
import pytest

from eqprop.proofs.scale import scale


@pytest.fixture(scope="module")
def report():
    return scale([6, 10, 8, 12], batch=4, steps=50, seed=2)


def test_the_complex_step_error_follows_the_rounding_bound(report):
    assert report.passed, report.table()
    for row in [r for r in report.rows if r["quantity"].startswith("s")]:
        err, bound = row["per_step"]["complex_step"], row["per_step"]["rounding_bound"]
        pairs = [(e, b) for e, b in zip(err, bound) if e is not None and b is not None]
        assert len(pairs) >= 45
        # never above the bound by more than the few terms each entry sums ...
        assert all(e <= 30 * b for e, b in pairs), row["quantity"]
        # ... and, once the bound has risen, not far below it either: the rise is real
        risen = [(e, b) for e, b in pairs if b > 1e-13]
        assert risen and all(e >= b / 30 for e, b in risen), row["quantity"]
        assert max(e for e, _ in pairs) > 1e3 * min(e for e, _ in pairs if e > 0)


def test_undefined_steps_are_gaps_not_huge_values(report):
    for row in [r for r in report.rows if r["quantity"] in ("s1", "s2")]:
        real = row["per_step"]["real_beta"]
        assert real[0] is None  # RBP's Sbar_0 is zero below the output layer
        assert all(v is None or v < 1e3 for v in real), row["quantity"]


def test_the_figure_keeps_every_measured_value_in_the_chart(report):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from eqprop.figures import scale as scale_figure
    fig, ax = plt.subplots()
    try:
        lines = scale_figure(report, ax=ax)
        labels = [ln.get_label() for ln in lines]
        assert sum("rounding bound" in s for s in labels) == 3 == sum("complex step" in s for s in labels)
        low, high = ax.get_ylim()
        for ln in lines:
            y = np.asarray(ln.get_ydata(), dtype=float)
            y = y[np.isfinite(y)]
            assert y.size and low <= y.min() and y.max() <= high, ln.get_label()
    finally:
        plt.close(fig)
    d = report.to_dict()
    assert all(math.isfinite(v) for r in d["rows"] for v in r["per_step"]["complex_step"] if v is not None)
