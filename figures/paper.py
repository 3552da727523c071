"""One function per figure, drawn from a verification report (or its JSON).

Each takes the data and ``ax=None`` (a new figure when None) and returns the
artists it drew, so that a caller can restyle or test them. Inputs are a
:class:`eqprop.Report` or the dictionary of its JSON (``Report.to_dict()``,
or ``json.load`` of ``eqprop verify --json``): figures never recompute.

Here the figures of one report (1 to 5 of :mod:`eqprop.figures`); the figures
of several runs (precision, scale) are :mod:`eqprop.figures.summaries`, the
shared look :mod:`eqprop.figures.styling`. Reading and checking a saved
report is :mod:`eqprop.figures.report_io`; these names (``load_report``,
``check_report``, ``as_dict``, ``param_names``, ``style``, ``precision``, ...)
are importable from here as well.
"""

from __future__ import annotations

import math

from eqprop.errors import EqpropError

from .report_io import as_dict, check_report, load_report, param_names, require
from .report_schema import MAX_NETWORK_UNITS, REPORT_FIGURES, CheckedReport, gradient_errors, short
from .styling import (PALETTE, STYLE, UNIT_COLORS, UNIT_STYLES, ensure_axes, legend_label,
                      new_figure, outside_legend, positive, style, styled)
from .summaries import precision, scale

__all__ = ["PALETTE", "STYLE", "style", "new_figure", "network", "theorem3_states", "theorem3_params", "truncation",
           "beta_bias", "precision", "scale", "as_dict", "param_names", "check_report", "load_report",
           "CheckedReport", "legend_label", "REPORT_FIGURES"]

#: beta_bias draws its slope guides this factor above the measured points
GUIDE = 4.0
#: theorem3_states draws at most this many neurons
MAX_DRAWN_STATES = 32


def _floats(rows):
    return [[float(v) for v in row] for row in rows]


@styled
def network(layers, ax=None):
    """The paper's Figure 1: layered network, output s0 at the top, clamped input x below.

    ``layers`` = (n_out, ..., n_in) as in :func:`eqprop.hopfield`; couplings
    W01, W12, ... drawn between consecutive layers, bidirectional. At most
    :data:`MAX_NETWORK_UNITS` units per layer.
    """
    try:
        layers = [int(n) for n in layers]
    except (TypeError, ValueError, OverflowError):
        raise EqpropError(f"network: layers should be integers, got {short(layers)}") from None
    if len(layers) < 2 or min(layers) < 1:
        raise EqpropError(f"network: need at least two layers of positive size, got {short(layers)}")
    if max(layers) > MAX_NETWORK_UNITS:
        raise EqpropError(f"network: layers {short(layers)} are too wide to draw (at most "
                          f"{MAX_NETWORK_UNITS} units per layer)")
    ax = ensure_axes(ax, height=0.9 * len(layers) + 0.4)
    artists = []
    width = max(layers)
    pos = []
    for l, n in enumerate(layers):
        xs = [(i - (n - 1) / 2) * (width / max(n, 1)) for i in range(n)]
        pos.append([(x, -l) for x in xs])
    for l in range(len(layers) - 1):
        for a in pos[l]:
            for b in pos[l + 1]:
                artists += ax.plot([a[0], b[0]], [a[1], b[1]], color="0.75", lw=0.4, zorder=1)
        ax_mid = -(l + 0.5)
        artists.append(ax.text(width / 2 + 0.6, ax_mid, f"$W_{{{l}{l + 1}}}$", va="center",
                               fontsize=8, color=PALETTE[l % len(PALETTE)]))
    for l, layer in enumerate(pos):
        clamped = l == len(layers) - 1
        face = "0.85" if clamped else "white"
        artists.append(ax.scatter([p[0] for p in layer], [p[1] for p in layer], s=60, zorder=2,
                                  facecolor=face, edgecolor=PALETTE[l % len(PALETTE)], lw=1.2))
        label = "$x$ (clamped)" if clamped else f"$s_{{{l}}}$" + (" (output)" if l == 0 else "")
        artists.append(ax.text(-width / 2 - 0.8, -l, label, ha="right", va="center", fontsize=8))
    ax.set_xlim(-width / 2 - 3.2, width / 2 + 1.8)
    ax.set_ylim(-len(layers) + 0.5, 0.5)
    ax.set_axis_off()
    return artists


def _series_panel(d, key_rbp, key_ep, names, ax, ylabel, select=None, title="lines: RBP, circles: EP"):
    t = [float(v) for v in d["times"]]
    rbp, ep = _floats(d["series"][key_rbp]), _floats(d["series"][key_ep])
    idx = list(range(len(names))) if select is None else select
    artists = []
    for c, i in enumerate(idx):
        color, dash = UNIT_COLORS[c % len(UNIT_COLORS)], UNIT_STYLES[c % len(UNIT_STYLES)]
        artists += ax.plot(t, [row[i] for row in rbp], dash, color=color, label=names[i])
        artists.append(ax.scatter(t, [row[i] for row in ep], s=14, facecolor="none",
                                  edgecolor=color, zorder=3))
    ax.set_xlabel("time $t$ in the nudged phase")
    ax.set_ylabel(ylabel)
    outside_legend(ax, title)
    return artists


def _difference(a, b):
    """|a - b| of two numbers of a report, exactly from their decimal text (a string with
    every working digit), as a float: 1e-32 where float64 would read both as one number."""
    from fractions import Fraction
    try:
        return float(abs(Fraction(str(a)) - Fraction(str(b))))
    except (ValueError, ZeroDivisionError):
        return abs(float(a) - float(b))


def layer_groups(d, shown):
    """[(legend title, [state indices])]: one group per layer of a layered report (output first),
    else one group; only the first ``shown`` state variables."""
    layers = d.get("layers")
    if not layers:
        return [(None, list(range(shown)))]
    groups, start = [], 0
    for l, size in enumerate(layers[:-1]):  # the last layer is the clamped input
        idx = [i for i in range(start, start + size) if i < shown]
        start += size
        if idx:
            groups.append((f"layer $s_{{{l}}}$" + (" (output)" if l == 0 else " (hidden)"), idx))
    return groups


@styled
def theorem3_states(report, ax=None):
    """Sbar_t (RBP, lines) and Stilde_t (EP, circles) for every neuron (paper 5.4).

    A layered report (``layers``) is drawn as one panel per layer, output at the
    top, each on its own y scale (the hidden units move far less than the
    output units), sharing the time axis; ``ax`` is divided into the panels.
    Within a panel every unit has its own colour and line style. A report of
    more than :data:`MAX_DRAWN_STATES` neurons: the first that many, said in the title.
    """
    d = as_dict(report)
    require(d, "theorem3_states")
    n = len(d["state"])
    shown = min(n, MAX_DRAWN_STATES)
    groups = layer_groups(d, shown)
    ax = ensure_axes(ax, height=1.9 + 0.9 * len(groups))
    from mpl_toolkits.axes_grid1 import make_axes_locatable
    divider = make_axes_locatable(ax)
    axes = [ax] + [divider.append_axes("bottom", size="100%", pad=0.08, sharex=ax)
                   for _ in groups[1:]]
    names = [legend_label(s) for s in d["state"]]
    artists = []
    for k, (panel, (title, idx)) in enumerate(zip(axes, groups)):
        artists += _series_panel(d, "s_bar", "s_tilde", names, panel, "", select=idx, title=title)
        panel.yaxis.get_major_locator().set_params(nbins=4)
        panel.set_xlabel("")
        panel.tick_params(labelbottom=False)
    axes[len(axes) // 2].set_ylabel(r"$\bar S_t$ (lines), $\tilde S_t$ (circles)")
    # curves that overlap prove little at this scale: the difference itself, on a log scale
    diff = divider.append_axes("bottom", size="100%", pad=0.25, sharex=ax)
    t = [float(v) for v in d["times"]]
    text = getattr(d, "series_text", {})
    rbp, ep = text.get("s_bar", d["series"]["s_bar"]), text.get("s_tilde", d["series"]["s_tilde"])
    for c, (title, idx) in enumerate(groups):
        # from the report's decimal text, every digit: in float64 the two sides are one number
        gap = [max(_difference(e[i], r[i]) for i in idx) for r, e in zip(rbp, ep)]
        label = "all units" if title is None else title.replace("layer ", "")
        artists += diff.semilogy(t, positive(gap), "o-", ms=2.5, lw=0.9,
                                 color=PALETTE[c % len(PALETTE)], label=label)
    diff.set_ylabel(r"$\max|\tilde S_t - \bar S_t|$")
    diff.set_xlabel("time $t$ in the nudged phase")
    outside_legend(diff, "difference, per layer" if len(groups) > 1 else "difference")
    head = "lines: RBP, circles: EP" + (f" (the first {shown} of {n} neurons)" if shown < n else "")
    if len(axes) > 1:
        head += ", each layer on its own scale"
    ax.set_title(head)
    return artists


def _one_per_family(names, most=4):
    """The first parameter of each family (``W01_0_0``, ``W12_0_0``, ...: the name before its
    first ``_``), up to ``most``; then the next ones in order, to ``most`` in all."""
    seen, first = set(), []
    for n in names:
        family = n.split("_")[0]
        if family not in seen:
            seen.add(family)
            first.append(n)
    rest = [n for n in names if n not in first]
    return (first + rest)[:most]


@styled
def theorem3_params(report, ax=None, params=None):
    """Thetabar_t (RBP, lines) and Thetatilde_t (EP, circles) for a few parameters (paper 5.5).

    ``params``: names to show (default: one parameter of each family, such as
    one weight of each layer, up to four). The legend is drawn to the right of
    the axes, where it covers no curve.
    """
    d = as_dict(report)
    require(d, "theorem3_params")
    names = param_names(d)
    chosen = params or _one_per_family(names)
    unknown = [p for p in chosen if p not in names]
    if unknown:
        raise EqpropError(f"theorem3_params: unknown parameter {short(unknown[0])}")
    ax = ensure_axes(ax)
    labels = [legend_label(n) for n in names]  # mathtext for identifiers, underscores kept
    return _series_panel(d, "theta_bar", "theta_tilde", labels, ax,
                         r"$\bar\Theta_t$ (lines), $\tilde\Theta_t$ (circles)",
                         select=[names.index(p) for p in chosen],
                         title="lines: RBP, circles: EP; one\nparameter of each family")


@styled
def truncation(report, ax=None):
    """|Thetabar_t - dJ/dtheta| against t: truncated RBP = early-stopped EP.

    The line is the decay exp(-lambda_min t) predicted by the smallest
    eigenvalue of H(s0), scaled to the first point where the error is not zero.
    """
    d = as_dict(report)
    require(d, "truncation")
    ax = ensure_axes(ax)
    t = [float(v) for v in d["times"]]
    err = gradient_errors(d)
    lam = float(d["hessian_min_eigenvalue"])
    k0 = next(k for k, e in enumerate(err) if e > 0)

    def predicted(ti):
        x = -lam * (ti - t[k0])
        return err[k0] * math.exp(x) if x < 700 else math.inf  # a growth past float64: off the axis
    artists = ax.semilogy(t, positive(err), "o-", color=PALETTE[0], ms=3,
                          label=r"$\max_k |\bar\Theta_t - dJ/d\theta|_k$")
    artists += ax.semilogy(t, [predicted(ti) for ti in t], "--",
                           color=PALETTE[3], label=rf"$e^{{-\lambda_{{min}} t}}$, $\lambda_{{min}}$ = {lam:.3g}")
    ax.set_xlabel("time $t$ (RBP iterations / nudged-phase duration)")
    ax.set_ylabel("gradient error")
    ax.legend(frameon=False)
    return artists


@styled
def beta_bias(report, ax=None):
    """The measured error of EP's finite-beta gradient estimates against beta (log-log, paper 4.4).

    One-sided ``(dE/dtheta(s_beta) - dE/dtheta(s_0)) / beta``, whose error
    falls like beta, and symmetric ``(dE/dtheta(s_beta) - dE/dtheta(s_-beta))
    / 2 beta``, like beta^2: the report's ``bias`` errors at its ``bias``
    betas (the largest error over the parameters, over the size of the
    gradient's terms), and nothing else measured. Two thin grey guide lines
    of slope 1 and 2, :data:`GUIDE` times above each curve's largest-beta
    point (so that a curve on its slope does not hide it), are the orders
    Theorem 2 predicts (the complex-step estimate, row T2, has no beta to plot
    against: its digits are in the report's table).
    """
    d = as_dict(report)
    require(d, "beta_bias")
    ax = ensure_axes(ax)
    betas = [float(b) for b in d["bias"]["betas"]]
    one = [float(v) for v in d["bias"]["one_sided"]]
    sym = [float(v) for v in d["bias"]["symmetric"]]
    artists = ax.loglog(betas, positive(one), "o-", color=PALETTE[0], ms=3,
                        label=r"one-sided, measured")
    artists += ax.loglog(betas, positive(sym), "s-", color=PALETTE[1], ms=3,
                         label=r"symmetric $\pm\beta$, measured")
    for values, order, dash in ((one, 1, "--"), (sym, 2, ":")):
        k = max(range(len(betas)), key=lambda i: betas[i])
        if values and values[k] > 0:  # GUIDE times above the measured point, so that both show
            guide = [GUIDE * values[k] * (b / betas[k]) ** order for b in betas]
            artists += ax.loglog(betas, guide, dash, color="0.55", lw=0.8,
                                 label=rf"slope {order}: $O(\beta^{order})$" if order > 1
                                 else r"slope 1: $O(\beta)$")
    ax.set_title(r"Theorem 2 (4.4): bias of EP's gradient at finite $\beta$")
    ax.set_xlabel(r"nudging strength $\beta$")
    ax.set_ylabel("max |estimate - dJ/d$\\theta$|\n/ size of its terms")
    outside_legend(ax)
    return artists
