"""Figures of ``eqprop estimators``: each EP estimator's measured error, and where it holds.

Each function takes an :class:`~eqprop.proofs.estimator_report.EstimatorReport` or
the dictionary of its JSON (``EstimatorReport.to_dict()``, or ``json.load`` of
``eqprop estimators --json``) and ``ax=None`` (a new figure when None), and
returns the artists it drew. They draw the report's measured numbers only;
a guide line (an order, a decay rate, a law C (r/R)^N) is marked as such in
its legend and anchored on, or fitted to, the measured points it is drawn over.

- :func:`errors`     relative error against beta or r, every nudged estimator
- :func:`truncated`  truncated RBP (= early-stopped EP) against t, with the predicted rate
- :func:`points`     holomorphic EP against the number of nudges N at r = R / 2
- :func:`radius`     holomorphic EP across the radius R: the law inside, the break beyond
- :func:`asymmetry`  EP against the true gradient as the field turns asymmetric
- :func:`plane`      the complex-beta plane: the circles tried and used, R, beta*

:func:`save` writes every figure a report can draw to a folder (``eqprop
estimators --figures DIR``). A figure whose series the report lacks raises
:class:`MissingSeries` (an :class:`EqpropError`) naming what is missing.
"""

from __future__ import annotations

import math

import numpy as np

from eqprop.errors import EqpropError

from .styling import PALETTE, TWO_COLUMN, UNIT_COLORS, ensure_axes, outside_legend, positive, styled

__all__ = ["errors", "truncated", "points", "radius", "asymmetry", "plane", "save",
           "MissingSeries", "FIGURES"]

#: a marker per nudged estimator, in the report's order (one-sided +, one-sided -, centered, N...)
MARKERS = ("o", "x", "s", "^", "v", "D", "P", "*", "h", "<")


class MissingSeries(EqpropError):
    """The report has no series (or radius) that the figure draws."""


def _checked(report):
    """The report as the dictionary of its JSON, with a 'series' list and a 'checks' list."""
    if hasattr(report, "to_dict"):
        report = report.to_dict()
    if not isinstance(report, dict) or not isinstance(report.get("series"), list) \
            or not isinstance(report.get("checks"), list):
        raise EqpropError("estimator figures: expected an EstimatorReport or the dictionary of "
                          "its JSON (eqprop estimators --json), with 'series' and 'checks' lists")
    return report


def _num(value, what):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise EqpropError(f"estimator figures: {what}: expected a number, got "
                          f"{str(value)[:40]!r}") from None


def _xy(series, key="relative"):
    """``(|parameter|, key)`` of every point of a series, as floats."""
    name = series.get("name", "?")
    pts = series.get("points") or []
    return ([abs(_num(p.get("value"), f"{name}: value")) for p in pts],
            [_num(p.get(key), f"{name}: {key}") for p in pts])


def _row(d, id):
    return next((c for c in d["checks"] if c.get("id") == id), None)


def _series(d, test):
    return [s for s in d["series"] if isinstance(s, dict) and test(s)]


def _one(d, test, figure, missing):
    found = _series(d, test)
    if not found:
        raise MissingSeries(f"{figure}: the report has no {missing}")
    return found[0]


def _fixed(series, key, figure):
    try:
        return _num(series["fixed"][key], f"{series.get('name', '?')}: fixed {key}")
    except (KeyError, TypeError):
        raise MissingSeries(f"{figure}: the series {series.get('name', '?')!r} does not say its "
                            f"{key} (a report of an older eqprop: run eqprop estimators "
                            "again)") from None


def _labels(ax, xlabel, ylabel, title):
    """The axes' labels, its caption-like title, and the legend to the right of it."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    outside_legend(ax)


def _order(d, id):
    """The order the row ``id`` fitted, in words for a legend."""
    row = _row(d, id)
    if row is None:
        return "no row"
    if not row.get("testable", True):
        return "order n/a"
    if row.get("lhs") is None:
        return "exact to the rounding"
    return f"fitted order {_num(row['lhs'], id + ': lhs'):.3g}"


@styled
def errors(report, ax=None):
    """Relative error |estimate - dJ/dtheta| / |dJ/dtheta| against the nudge, log-log: the
    one-sided estimators (beta > 0, beta < 0) and the centered one against |beta|, the
    holomorphic ones (N nudges on |beta| = r) against r; each labelled with the order its
    row (EST.N1+, ..., EST.N<k>) fitted. Truncated RBP, which has no nudge, is
    :func:`truncated`."""
    d = _checked(report)
    chosen = _series(d, lambda s: str(s.get("row") or "").startswith("EST.N"))
    if not chosen:
        raise MissingSeries("errors: the report has no estimator series with an order row "
                            "(EST.N1+, EST.N2, EST.N<k>)")
    ax = ensure_axes(ax, width=4.2, height=3.0)
    artists = []
    for k, s in enumerate(chosen):
        x, y = _xy(s)
        dash = "--" if s["row"] == "EST.N1-" else "-"
        artists += ax.loglog(x, positive(y), dash, marker=MARKERS[k % len(MARKERS)], ms=3.5,
                             color=UNIT_COLORS[k % len(UNIT_COLORS)], mfc="none" if k % 2 else None,
                             label=f"{s['name']}: {_order(d, s['row'])}")
    _labels(ax, r"nudge: $|\beta|$ (N = 1, 2) or radius $r$ (N nudges on $|\beta| = r$)",
            r"relative error $|\hat g - dJ/d\theta| \,/\, |dJ/d\theta|$",
            f"{d.get('model', '?')}: each EP estimator's error against its nudge\n"
            "(the order in the legend is its row's fit)")
    return artists


@styled
def truncated(report, ax=None):
    """Truncated RBP (= early-stopped EP, Theorem 3): its relative error against t, log-y,
    and the predicted decay exp(-lambda t), lambda from EST.trunc (the slowest mode of H that
    C_s and M excite), drawn through the last measured point, where that mode dominates."""
    d = _checked(report)
    s = _one(d, lambda s: s.get("row") == "EST.trunc", "truncated",
             "truncation series (the row EST.trunc: a vector field has none, nor has a run "
             "that stopped before the estimators)")
    t, y = _xy(s)
    row = _row(d, "EST.trunc") or {}
    ax = ensure_axes(ax, width=TWO_COLUMN / 2, height=2.6)
    fitted = "measured"
    if row.get("lhs") is not None:
        fitted = f"fitted rate {_num(row['lhs'], 'EST.trunc: lhs'):.4g}"
    artists = ax.semilogy(t, positive(y), "o-", ms=3.5, color=PALETTE[0],
                          label=f"truncated RBP, measured ({fitted})")
    last = max((k for k, v in enumerate(y) if v > 0), default=None)
    if row.get("rhs") is not None and last is not None:
        rate = _num(row["rhs"], "EST.trunc: rhs")
        guide = [y[last] * math.exp(min(700.0, -rate * (ti - t[last]))) for ti in t]
        artists += ax.semilogy(t, guide, "--", color=PALETTE[3], lw=1.0, zorder=3,
                               label=rf"predicted $e^{{-\lambda t}}$, $\lambda$ = {rate:.4g}"
                                     "\n(through the last point)")
    _labels(ax, "time $t$ the nudged phase (or RBP) runs", "relative error against $dJ/d\\theta$",
            "Truncated RBP = early-stopped EP (Theorem 3):\n"
            "its error decays at the slowest rate $C_s$ and $M$ excite")
    return artists


@styled
def points(report, ax=None):
    """Holomorphic EP at one radius r = R / 2: relative error against the number of nudges N
    (1: one-sided, 2: centered, then the report's N), log-y, with the guide (r/R)^N through
    the largest N's point (the error falls by r/R per added nudge)."""
    d = _checked(report)
    s = _one(d, lambda s: s.get("parameter") == "N", "points",
             "series against the number of nudges N (holomorphic models only; a run that "
             "stopped before the estimators, or a report of an older eqprop, has none)")
    n, y = _xy(s)
    r, R = _fixed(s, "r", "points"), _fixed(s, "R", "points")
    ax = ensure_axes(ax, width=TWO_COLUMN / 2, height=2.6)
    artists = ax.semilogy(n, positive(y), "o-", ms=4, color=PALETTE[0],
                          label="measured, N nudges on $|\\beta| = r$")
    last = max((k for k, v in enumerate(y) if v > 0), default=None)
    if last is not None:
        guide = [y[last] * (r / R) ** (k - n[last]) for k in n]
        artists += ax.semilogy(n, guide, "--", color="0.45", lw=0.9,
                               label=f"$(r/R)^N$, r/R = {r / R:.3g}\n(through the last point)")
    ax.set_xticks(n)
    ax.set_xticklabels([f"{k:g}" for k in n])
    _labels(ax, "number of nudges N on the circle", "relative error against $dJ/d\\theta$",
            f"Holomorphic EP at the one radius r = {r:.3g} (R/2):\nerror against N")
    return artists


@styled
def radius(report, ax=None):
    """The N-point estimator across the computed radius R: relative error against r/R, log-y,
    with R marked at r/R = 1 and the law C (r/R)^N, C fitted (as EST.break fits it) on the
    measured points at r/R <= 0.8; inside R the error follows the law, beyond it it leaves."""
    d = _checked(report)
    s = _one(d, lambda s: s.get("row") == "EST.break", "radius",
             "series across the radius (EST.break: a holomorphic model with a finite radius)")
    r, y = _xy(s)
    N, R = _fixed(s, "N", "radius"), _fixed(s, "R", "radius")
    x = [v / R for v in r]
    fit = [(a, b) for a, b in zip(x, y) if a <= 0.8 + 1e-9 and b > 0]
    ax = ensure_axes(ax, width=TWO_COLUMN / 2, height=2.6)
    artists = ax.semilogy(x, positive(y), "o-", ms=4, color=PALETTE[0],
                          label=f"measured, N = {N:g}")
    if fit:
        logC = sum(math.log(b) - N * math.log(a) for a, b in fit) / len(fit)
        grid = np.linspace(min(x) * 0.95, max(x) * 1.04, 60)
        artists += ax.semilogy(grid, [math.exp(logC + N * math.log(g)) for g in grid], "--",
                               color="0.45", lw=0.9,
                               label=f"law $C\\,(r/R)^{{{N:g}}}$, C fitted\nat r/R <= 0.8")
    artists.append(ax.axvline(1.0, color=PALETTE[3], lw=1.0,
                              label=f"computed radius R = {R:.4g}"))
    ax.set_ylim(top=10 * max([v for v in y if v > 0] + [1e-300]))
    _labels(ax, "radius of the circle, $r/R$", "relative error against $dJ/d\\theta$",
            f"Holomorphic EP, N = {N:g}, across the radius:\n"
            "on its law inside R, off it beyond (EST.break)")
    return artists


@styled
def asymmetry(report, ax=None):
    """EP's gradient against the true one (RBP with the transposed Jacobian) as the field
    turns asymmetric: the angle between them (degrees) and their relative difference,
    against the strength alpha, log-log; the order ASYM.order fitted in the legend."""
    d = _checked(report)
    s = _one(d, lambda s: s.get("row") == "ASYM.order", "asymmetry",
             "asymmetry series (the row ASYM.order): run eqprop estimators on a vector-field "
             "model with --asymmetry NAME")
    a, angle = _xy(s, "angle")
    _, rel = _xy(s)
    ax = ensure_axes(ax, width=TWO_COLUMN / 2, height=2.6)
    artists = ax.loglog(a, positive(angle), "o-", ms=4, color=PALETTE[0],
                        label="angle between EP and the true gradient (degrees)")
    artists += ax.loglog(a, positive(rel), "s--", ms=3.5, color=PALETTE[1], mfc="none",
                         label="|EP - true| / |true|")
    name = s.get("parameter", "alpha")
    _labels(ax, f"asymmetry strength {name}", "degrees (angle) or relative difference",
            f"Where EP leaves the true gradient: {_order(d, 'ASYM.order')}\n"
            f"of the gap in {name} (0: a gradient field)")
    return artists


def _circle(ax, rho, half=0, **kwargs):
    """The circle |beta| = rho: whole (``half`` 0), its upper half (1) or its lower half (-1)."""
    theta = np.linspace(0, np.pi, 181) if half else np.linspace(0, 2 * np.pi, 361)
    return ax.plot(rho * np.cos(theta), (half or 1) * rho * np.sin(theta), **kwargs)


def _radius_part(d):
    rad = d.get("radius")
    if not isinstance(rad, dict):
        raise MissingSeries("plane: the report has no radius (complex nudges need a holomorphic "
                            "model, and N >= 3 points)")
    if not isinstance(rad.get("tried"), list):
        raise MissingSeries("plane: the report's radius does not list the circles tried (a "
                            "report of an older eqprop: run eqprop estimators again)")
    return rad


@styled
def plane(report, ax=None):
    """The complex-beta plane of the radius search and the estimators: every circle the search
    tried (kept where its samples kept the mean-value property, refused where not), the
    circle |beta| = R, the nearest singularity beta* (and its mirror image: g is real on the
    real axis), and the circles the holomorphic estimators were evaluated on."""
    d = _checked(report)
    rad = _radius_part(d)
    R = _num(rad.get("value"), "radius: value")
    ax = ensure_axes(ax, width=TWO_COLUMN / 2, height=3.2)
    artists, extent = [], [R if math.isfinite(R) else 0.0]
    for kept, style in ((True, dict(color="0.55", lw=0.7, ls="-")),
                        (False, dict(color=PALETTE[4], lw=1.1, ls="--"))):
        rhos = [_num(c.get("circle"), "radius: tried") for c in rad["tried"]
                if isinstance(c, dict) and bool(c.get("kept")) == kept]
        extent += rhos
        for k, rho in enumerate(rhos):
            label = None if k else ("search: circles kept" if kept else
                                    "search: circles refused\n(mean value broken)")
            artists += _circle(ax, rho, 1, label=label, **style)
    used = sorted({round(v, 12) for s in _series(d, lambda s: s.get("parameter") == "r")
                   for v in _xy(s)[0]} | {round(_fixed(s, "r", "plane"), 12) for s in
                                          _series(d, lambda s: s.get("parameter") == "N")})
    extent += used
    inside = [rho for rho in used if not rho > R]
    for group, color, label in ((inside, PALETTE[0], "estimators: circles inside R"),
                                ([rho for rho in used if rho > R], PALETTE[3],
                                 "estimators: beyond R (EST.break)")):
        for k, rho in enumerate(group):
            artists += _circle(ax, rho, -1, color=color, lw=0.7, label=None if k else label)
    if math.isfinite(R):
        artists += _circle(ax, R, color="k", lw=1.4, label=f"$|\\beta|$ = R = {R:.4g}")
    z = rad.get("singularity")
    if isinstance(z, dict):
        re, im = _num(z.get("re"), "singularity: re"), _num(z.get("im"), "singularity: im")
        real = abs(im) <= 1e-9 * math.hypot(re, im)  # a real root, up to the fit's rounding
        where = f"{re:.3g} (real)" if real else f"{re:.3g} {im:+.3g}i"
        artists += ax.plot([re], [0.0 if real else im], "X", ms=7, color=PALETTE[3],
                           label=f"nearest singularity $\\beta^*$ = {where}")
        if not real:
            artists += ax.plot([re], [-im], "X", ms=7, mfc="none", color=PALETTE[3],
                               label="its mirror image (g real on the real axis)")
        extent.append(math.hypot(re, im))
    top = 1.08 * max(extent + [1e-12])
    ax.set_xlim(-top, top)
    ax.set_ylim(-top, top)
    ax.set_aspect("equal")
    ax.axhline(0, color="0.85", lw=0.5, zorder=0)
    ax.axvline(0, color="0.85", lw=0.5, zorder=0)
    ax.text(0.02, 0.98, "radius search", transform=ax.transAxes, va="top", fontsize=7)
    ax.text(0.02, 0.02, "estimators", transform=ax.transAxes, va="bottom", fontsize=7)
    _labels(ax, r"Re $\beta$", r"Im $\beta$",
            "The complex-$\\beta$ plane: above, the circles the radius search\n"
            "tried; below, those the estimators used (each circle is\n"
            "symmetric; the real nudges of N = 1, 2 sit at the origin)")
    return artists


#: ``(name, function, width, height)`` of every figure :func:`save` writes, in order (inches;
#: the legend adds to the width).
FIGURES = (("errors", errors, 4.2, 3.0), ("truncated", truncated, 3.5, 2.6),
           ("points", points, 3.5, 2.6), ("radius", radius, 3.5, 2.6),
           ("asymmetry", asymmetry, 3.5, 2.6), ("plane", plane, 3.5, 3.2))


def save(report, out, formats=("png", "pdf"), *, note=None):
    """Write every figure ``report`` can draw into the folder ``out`` (made if need be), one
    file per format, named after the figure (``errors.png``, ...); each figure the report
    lacks the series of is told to ``note(message)`` and left out. Returns the files."""
    from pathlib import Path

    from . import _make_folders, _save, check_formats, new_figure
    d = _checked(report)
    formats = check_formats(list(formats))
    out = Path(out)
    try:
        _make_folders(out)
    except OSError as exc:
        raise EqpropError(f"figures: cannot create the folder {str(out)!r} "
                          f"({exc.strerror or exc})") from None
    written = []
    for name, draw, width, height in FIGURES:
        fig, ax = new_figure(width, height)
        try:
            draw(d, ax=ax)
        except MissingSeries as exc:
            import matplotlib.pyplot as plt
            plt.close(fig)
            if note is not None:
                note(f"skipped figure {exc}")
            continue
        written += _save(fig, out / name, formats, d)
    return written
