"""One function per figure, drawn from a verification report (or its JSON).

Each takes the data and ``ax=None`` (a new figure when None) and returns the
artists it drew, so that a caller can restyle or test them. Inputs are a
:class:`eqprop.Report` or the dictionary of its JSON (``Report.to_dict()``,
or ``json.load`` of ``eqprop verify --json``): figures never recompute.

Reading and checking a saved report is :mod:`eqprop.figures.report_io`; its
names (``load_report``, ``check_report``, ``as_dict``, ``param_names``, ...)
are importable from here as well.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re

import matplotlib as mpl
import matplotlib.pyplot as plt

from eqprop.errors import EqpropError

from .report_io import (MAX_NETWORK_UNITS, REPORT_FIGURES, CheckedReport, _gradient_errors, _need,
                        _short, as_dict, check_report, load_report, param_names)

__all__ = ["PALETTE", "STYLE", "style", "new_figure", "network", "theorem3_states", "theorem3_params", "truncation",
           "beta_bias", "precision", "scale", "as_dict", "param_names", "check_report", "load_report",
           "CheckedReport", "legend_label", "REPORT_FIGURES"]

#: Okabe-Ito colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

STYLE = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
         "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.2,
         "savefig.bbox": "tight", "figure.dpi": 150}
ONE_COLUMN, TWO_COLUMN = 3.4, 7.0  # inches

#: beta_bias draws its slope guides this factor above the measured points
GUIDE = 4.0
#: theorem3_states draws at most this many neurons
MAX_DRAWN_STATES = 32


_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def legend_label(name, limit=40):
    r"""A name for a legend: mathtext italics for a plain identifier (``s0_1`` -> ``$s0\_1$``),
    else the name as plain text with ``$`` escaped, so that no name can be parsed as mathtext."""
    if _IDENTIFIER.match(name) and len(name) <= limit:
        return f"${name}$".replace("_", r"\_")
    text = "".join(c if c.isprintable() else "?" for c in name)
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    text = text.replace("$", r"\$")
    return " " + text if text.startswith("_") else text  # a leading '_' hides a legend entry


@contextlib.contextmanager
def style():
    """Draw with :data:`STYLE` inside the block; on exit restore those keys, and only those.

    Every figure function draws inside it, whether it makes its axes or is
    given them. Not ``plt.rc_context``: that restores *every* rcParam on
    exit, and when the first figure of a Jupyter session was created inside
    it, the inline backend had switched itself on there (``interactive``
    True): the exit switched it off again, and no later figure of the
    session was displayed. Here whatever else the block changed stays as it
    was set.
    """
    saved = {k: mpl.rcParams[k] for k in STYLE}
    mpl.rcParams.update(STYLE)
    try:
        yield
    finally:
        mpl.rcParams.update(saved)


def _styled(figure_function):
    """Run a figure function inside :func:`style`."""
    @functools.wraps(figure_function)
    def draw(*args, **kwargs):
        with style():
            return figure_function(*args, **kwargs)
    return draw


def new_figure(width=ONE_COLUMN, height=2.4):
    """``(fig, ax)``: a figure of ``width`` x ``height`` inches at the style's dpi, its axes
    made inside :func:`style` (their tick labels take the style's sizes)."""
    fig = plt.figure(figsize=(width, height), dpi=STYLE["figure.dpi"])
    with style():
        ax = fig.add_subplot()
    return fig, ax


def _ax(ax, width=ONE_COLUMN, height=2.4):
    return new_figure(width, height)[1] if ax is None else ax


def _floats(rows):
    return [[float(v) for v in row] for row in rows]


@_styled
def network(layers, ax=None):
    """The paper's Figure 1: layered network, output s0 at the top, clamped input x below.

    ``layers`` = (n_out, ..., n_in) as in :func:`eqprop.hopfield`; couplings
    W01, W12, ... drawn between consecutive layers, bidirectional. At most
    :data:`MAX_NETWORK_UNITS` units per layer.
    """
    try:
        layers = [int(n) for n in layers]
    except (TypeError, ValueError, OverflowError):
        raise EqpropError(f"network: layers should be integers, got {_short(layers)}") from None
    if len(layers) < 2 or min(layers) < 1:
        raise EqpropError(f"network: need at least two layers of positive size, got {_short(layers)}")
    if max(layers) > MAX_NETWORK_UNITS:
        raise EqpropError(f"network: layers {_short(layers)} are too wide to draw (at most "
                          f"{MAX_NETWORK_UNITS} units per layer)")
    ax = _ax(ax, height=0.9 * len(layers) + 0.4)
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


#: within one panel, unit k is drawn in UNIT_COLORS[k % 8] with UNIT_STYLES[k % 4]: the Okabe-Ito
#: colours ordered so that the two blues and the pale yellow come last, and a line style per unit,
#: so that neighbouring units differ in colour and in dash even where their curves meet
UNIT_COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#000000", "#56B4E9", "#F0E442"]
UNIT_STYLES = ["-", "--", "-.", ":"]


def _outside_legend(ax, title=None, **kwargs):
    """A legend to the right of the axes, where it covers no curve."""
    n = len(ax.get_legend_handles_labels()[0])
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False,
                     ncol=1 if n <= 10 else 2, title=title, title_fontsize=7, **kwargs)


def _series_panel(d, key_rbp, key_ep, names, ax, ylabel, select=None, title="lines: RBP, circles: EP"):
    t = [float(v) for v in d["times"]]
    rbp, ep = _floats(d["series"][key_rbp]), _floats(d["series"][key_ep])
    idx = list(range(len(names))) if select is None else select
    artists = []
    for c, i in enumerate(idx):
        color, style = UNIT_COLORS[c % len(UNIT_COLORS)], UNIT_STYLES[c % len(UNIT_STYLES)]
        artists += ax.plot(t, [row[i] for row in rbp], style, color=color, label=names[i])
        artists.append(ax.scatter(t, [row[i] for row in ep], s=14, facecolor="none",
                                  edgecolor=color, zorder=3))
    ax.set_xlabel("time $t$ in the nudged phase")
    ax.set_ylabel(ylabel)
    _outside_legend(ax, title)
    return artists


def _difference(a, b):
    """|a - b| of two numbers of a report, exactly from their decimal text (a string with
    every working digit), as a float: 1e-32 where float64 would read both as one number."""
    from fractions import Fraction
    try:
        return float(abs(Fraction(str(a)) - Fraction(str(b))))
    except (ValueError, ZeroDivisionError):
        return abs(float(a) - float(b))


def _layer_groups(d, shown):
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


@_styled
def theorem3_states(report, ax=None):
    """Sbar_t (RBP, lines) and Stilde_t (EP, circles) for every neuron (paper 5.4).

    A layered report (``layers``) is drawn as one panel per layer, output at the
    top, each on its own y scale (the hidden units move far less than the
    output units), sharing the time axis; ``ax`` is divided into the panels.
    Within a panel every unit has its own colour and line style. A report of
    more than :data:`MAX_DRAWN_STATES` neurons: the first that many, said in the title.
    """
    d = as_dict(report)
    _need(d, "theorem3_states")
    n = len(d["state"])
    shown = min(n, MAX_DRAWN_STATES)
    groups = _layer_groups(d, shown)
    ax = _ax(ax, height=1.9 + 0.9 * len(groups))
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
        artists += diff.semilogy(t, _positive(gap), "o-", ms=2.5, lw=0.9,
                                 color=PALETTE[c % len(PALETTE)], label=label)
    diff.set_ylabel(r"$\max|\tilde S_t - \bar S_t|$")
    diff.set_xlabel("time $t$ in the nudged phase")
    _outside_legend(diff, "difference, per layer" if len(groups) > 1 else "difference")
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


@_styled
def theorem3_params(report, ax=None, params=None):
    """Thetabar_t (RBP, lines) and Thetatilde_t (EP, circles) for a few parameters (paper 5.5).

    ``params``: names to show (default: one parameter of each family, such as
    one weight of each layer, up to four). The legend is drawn to the right of
    the axes, where it covers no curve.
    """
    d = as_dict(report)
    _need(d, "theorem3_params")
    names = param_names(d)
    chosen = params or _one_per_family(names)
    unknown = [p for p in chosen if p not in names]
    if unknown:
        raise EqpropError(f"theorem3_params: unknown parameter {_short(unknown[0])}")
    ax = _ax(ax)
    labels = [legend_label(n) for n in names]  # mathtext for identifiers, underscores kept
    return _series_panel(d, "theta_bar", "theta_tilde", labels, ax,
                         r"$\bar\Theta_t$ (lines), $\tilde\Theta_t$ (circles)",
                         select=[names.index(p) for p in chosen],
                         title="lines: RBP, circles: EP; one\nparameter of each family")


@_styled
def truncation(report, ax=None):
    """|Thetabar_t - dJ/dtheta| against t: truncated RBP = early-stopped EP.

    The line is the decay exp(-lambda_min t) predicted by the smallest
    eigenvalue of H(s0), scaled to the first point where the error is not zero.
    """
    d = as_dict(report)
    _need(d, "truncation")
    ax = _ax(ax)
    t = [float(v) for v in d["times"]]
    err = _gradient_errors(d)
    lam = float(d["hessian_min_eigenvalue"])
    k0 = next(k for k, e in enumerate(err) if e > 0)

    def predicted(ti):
        x = -lam * (ti - t[k0])
        return err[k0] * math.exp(x) if x < 700 else math.inf  # a growth past float64: off the axis
    artists = ax.semilogy(t, _positive(err), "o-", color=PALETTE[0], ms=3,
                          label=r"$\max_k |\bar\Theta_t - dJ/d\theta|_k$")
    artists += ax.semilogy(t, [predicted(ti) for ti in t], "--",
                           color=PALETTE[3], label=rf"$e^{{-\lambda_{{min}} t}}$, $\lambda_{{min}}$ = {lam:.3g}")
    ax.set_xlabel("time $t$ (RBP iterations / nudged-phase duration)")
    ax.set_ylabel("gradient error")
    ax.legend(frameon=False)
    return artists


@_styled
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
    _need(d, "beta_bias")
    ax = _ax(ax)
    betas = [float(b) for b in d["bias"]["betas"]]
    one = [float(v) for v in d["bias"]["one_sided"]]
    sym = [float(v) for v in d["bias"]["symmetric"]]
    artists = ax.loglog(betas, _positive(one), "o-", color=PALETTE[0], ms=3,
                        label=r"one-sided, measured")
    artists += ax.loglog(betas, _positive(sym), "s-", color=PALETTE[1], ms=3,
                         label=r"symmetric $\pm\beta$, measured")
    for values, order, style in ((one, 1, "--"), (sym, 2, ":")):
        k = max(range(len(betas)), key=lambda i: betas[i])
        if values and values[k] > 0:  # GUIDE times above the measured point, so that both show
            guide = [GUIDE * values[k] * (b / betas[k]) ** order for b in betas]
            artists += ax.loglog(betas, guide, style, color="0.55", lw=0.8,
                                 label=rf"slope {order}: $O(\beta^{order})$" if order > 1
                                 else r"slope 1: $O(\beta)$")
    ax.set_title(r"Theorem 2 (4.4): bias of EP's gradient at finite $\beta$")
    ax.set_xlabel(r"nudging strength $\beta$")
    ax.set_ylabel("max |estimate - dJ/d$\\theta$|\n/ size of its terms")
    _outside_legend(ax)
    return artists


@_styled
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
    ax = _ax(ax)
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
        artists += ax.semilogy(dps, _positive(ys), linestyle=style, marker=marker, ms=size, lw=0.9,
                               color=PALETTE[c], mec=PALETTE[c], mew=1.0, mfc="none",
                               zorder=2 + c, label=label)
    ax.set_xlabel("digits reported (dps)")
    ax.set_ylabel("largest |error| / size of its terms")
    ax.set_title("the errors sit between the working precision and the tolerance")
    _outside_legend(ax)
    return artists


def _relative_error(check):
    """``max |error| / scale`` of a report row, uncapped; NaN where it has no scale."""
    try:
        err, size = float(check["max_abs_error"]), float(check["scale"])
    except (KeyError, TypeError, ValueError):
        return math.nan
    return err / size if size > 0 else math.nan


def _positive(values):
    """Values for a log axis: an exact zero or an undefined value (None) is left out (a gap),
    never replaced by a made-up floor."""
    return [float(v) if v is not None and float(v) > 0 else math.nan for v in values]


@_styled
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
    ax = _ax(ax)
    artists, bottom, top = [], 1e-17, 1e2
    for c, r in enumerate(rows):
        color = PALETTE[c % len(PALETTE)]
        series = [("complex_step", "-", f"complex step (normalized {r['complex_step']:.1e})"),
                  ("real_beta", "--", rf"$\beta$ = {d['beta']:g}"),
                  ("rounding_bound", ":", "float64 rounding bound")]
        for key, style, what in series:
            if key not in r["per_step"]:
                continue
            values = _positive(r["per_step"][key])
            shown = [v for v in values if math.isfinite(v)]
            bottom, top = min([bottom] + [v / 3 for v in shown]), max([top] + [3 * v for v in shown])
            artists += ax.semilogy(range(len(values)), values, style, color=color,
                                   label=f"{r['quantity']}: {what}")
    ax.set_xlabel("step $k$ of the nudged phase / RBP")
    ax.set_ylabel("relative error, EP vs RBP")
    ax.set_ylim(bottom, top)  # every measured value is inside the chart
    ax.set_title("late steps: Sbar_k decays below u_k, and float64 keeps about "
                 "16 - log10(|u_k| / |Sbar_k|) digits (dotted); the normalized error stays at rounding")
    _outside_legend(ax)
    return artists
