"""Figures of several runs: the agreement against the working precision, and the scale check.

:func:`precision` compares verification reports of one model at several dps
(figure 6); :func:`scale` draws the per-step errors of a
:class:`~eqprop.proofs.scale_report.ScaleReport` (figure 7). Like every
figure, they plot only what the reports measured.
"""

from __future__ import annotations

import math

from eqprop.errors import EqpropError

from .report_io import as_dict
from .styling import PALETTE, ensure_axes, outside_legend, positive, styled

__all__ = ["precision", "scale"]


@styled
def precision(reports, ax=None):
    """What limits the agreement: each theorem's largest error against dps, beside the levels.

    ``reports``: verification reports of one model at several dps. For each
    theorem the largest ``max |error| / size of its terms`` over its rows is
    plotted, uncapped (the report's digits stop at dps; these errors do not),
    on a log scale, beside three measured-free levels of the run itself: the
    reported precision ``10^-dps`` (a row passes below ``10^-(dps-5)``), the
    integrators' per-step tolerance ``10^-(dps+5)`` and the working precision
    ``10^-(dps+10)``. An error of exactly 0 is a gap.
    """
    ds = sorted((as_dict(r) for r in reports), key=lambda d: d["dps"])
    if len(ds) < 2:
        raise EqpropError("precision: give reports at two or more dps")
    groups = {"KBE (A.3)": ("KBE",), "Theorem 1 (3.3-3.8)": ("T1.",),
              "Theorem 2 (4.4)": ("T2", "IFT"), "Theorem 3 (5.4-5.5)": ("T3.",)}
    markers = [("o", 6.5, "-"), ("s", 5.0, "--"), ("D", 3.8, "-."), ("^", 3.0, ":")]
    ax = ensure_axes(ax)
    dps = [d["dps"] for d in ds]
    artists = []
    for level, text, style in ((0, "reported precision $10^{-dps}$", "-"),
                               (5, "integrator tolerance $10^{-(dps+5)}$", "--"),
                               (10, "working precision $10^{-(dps+10)}$", ":")):
        artists += ax.semilogy(dps, [10.0 ** -(p + level) for p in dps], style, color="0.6",
                               lw=1.0, zorder=1, label=text)
    for c, (label, prefixes) in enumerate(groups.items()):
        ys = [max((_relative_error(ch) for ch in d["checks"] if ch["id"].startswith(prefixes)
                   and ch.get("kind", "identity") == "identity" and ch.get("testable", True)),
                  default=math.nan) for d in ds]
        marker, size, style = markers[c]
        artists += ax.semilogy(dps, positive(ys), linestyle=style, marker=marker, ms=size, lw=0.9,
                               color=PALETTE[c], mec=PALETTE[c], mew=1.0, mfc="none",
                               zorder=2 + c, label=label)
    ax.set_xlabel("digits reported (dps)")
    ax.set_ylabel("largest |error| / size of its terms")
    ax.set_title("the errors sit between the working precision and the tolerance")
    outside_legend(ax)
    return artists


def _relative_error(check):
    """``max |error| / scale`` of a report row, uncapped; NaN where it has no scale."""
    try:
        err, size = float(check["max_abs_error"]), float(check["scale"])
    except (KeyError, TypeError, ValueError):
        return math.nan
    return err / size if size > 0 else math.nan


@styled
def scale(scale_report, ax=None):
    """Per state block, EP-RBP relative error against the step, as measured, beside the rounding bound.

    Solid: the complex-step error. Dotted: float64's rounding bound
    ``2^-53 |u_{k+1}| / |Sbar_k|`` of EP's readout ``H u_k + C_s``, which
    rises as Sbar_k decays below the deviation u_k; the complex-step error
    follows it, a few units above or below. Dashed: real beta, with its
    O(beta) bias. Steps at which RBP's side of a block is still exactly zero
    (the signal has not reached it) have no relative error and are gaps. The
    legend gives each block's normalized error over the whole run (Ernoult et
    al.'s measure, which weighs the steps by their size): the rise of the
    late steps' relative error is the rounding of a small difference of large
    terms, which that measure does not see.
    """
    d = scale_report.to_dict() if hasattr(scale_report, "to_dict") else scale_report
    rows = [r for r in d["rows"] if "rounding_bound" in r.get("per_step", {})]
    if not rows:
        raise EqpropError("scale: the report has no per-step data (made by an older eqprop?)")
    ax = ensure_axes(ax)
    artists, bottom, top = [], 1e-17, 1e2
    for c, r in enumerate(rows):
        color = PALETTE[c % len(PALETTE)]
        series = [("complex_step", "-", f"complex step (normalized {r['complex_step']:.1e})"),
                  ("real_beta", "--", rf"$\beta$ = {d['beta']:g}"),
                  ("rounding_bound", ":", "float64 rounding bound")]
        for key, style, what in series:
            if key not in r["per_step"]:
                continue
            values = positive(r["per_step"][key])
            shown = [v for v in values if math.isfinite(v)]
            bottom, top = min([bottom] + [v / 3 for v in shown]), max([top] + [3 * v for v in shown])
            artists += ax.semilogy(range(len(values)), values, style, color=color,
                                   label=f"{r['quantity']}: {what}")
    ax.set_xlabel("step $k$ of the nudged phase / RBP")
    ax.set_ylabel("relative error, EP vs RBP")
    ax.set_ylim(bottom, top)  # every measured value is inside the chart
    ax.set_title("late steps: Sbar_k decays below u_k, and float64 keeps about "
                 "16 - log10(|u_k| / |Sbar_k|) digits (dotted); the normalized error stays at rounding")
    outside_legend(ax)
    return artists
