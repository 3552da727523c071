"""The look shared by every figure of :mod:`eqprop.figures`: style, palette, axes, legends.

:func:`style` applies :data:`STYLE` key by key and restores only those keys
(why not ``plt.rc_context``: see its docstring); :func:`styled` wraps a
figure function in it. :func:`legend_label` makes any name safe for a
legend, and :func:`positive` the values safe for a log axis.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re

import matplotlib as mpl
import matplotlib.pyplot as plt

__all__ = ["PALETTE", "STYLE", "ONE_COLUMN", "TWO_COLUMN", "UNIT_COLORS", "UNIT_STYLES", "style",
           "styled", "new_figure", "ensure_axes", "legend_label", "outside_legend", "positive"]

#: Okabe-Ito colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

STYLE = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
         "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.2,
         "savefig.bbox": "tight", "figure.dpi": 150}
ONE_COLUMN, TWO_COLUMN = 3.4, 7.0  # inches

#: within one panel, unit k is drawn in UNIT_COLORS[k % 8] with UNIT_STYLES[k % 4]: the Okabe-Ito
#: colours ordered so that the two blues and the pale yellow come last, and a line style per unit,
#: so that neighbouring units differ in colour and in dash even where their curves meet
UNIT_COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#000000", "#56B4E9", "#F0E442"]
UNIT_STYLES = ["-", "--", "-.", ":"]

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


def styled(figure_function):
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


def ensure_axes(ax, width=ONE_COLUMN, height=2.4):
    """``ax``, or the axes of a new figure when it is None."""
    return new_figure(width, height)[1] if ax is None else ax


def outside_legend(ax, title=None, **kwargs):
    """A legend to the right of the axes, where it covers no curve."""
    n = len(ax.get_legend_handles_labels()[0])
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False,
                     ncol=1 if n <= 10 else 2, title=title, title_fontsize=7, **kwargs)


def positive(values):
    """Values for a log axis: an exact zero or an undefined value (None) is left out (a gap),
    never replaced by a made-up floor."""
    return [float(v) if v is not None and float(v) > 0 else math.nan for v in values]
