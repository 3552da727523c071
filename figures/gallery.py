"""What a PNG written by :func:`eqprop.figures.regenerate` says about itself.

Each PNG carries two text chunks:

- ``eqprop-input``: the numbers it was drawn from (the parts of the report,
  reports or scale report that its figure reads), as zlib-compressed,
  base64-encoded JSON;
- ``eqprop-drawn``: a SHA-256 of what was drawn (:func:`fingerprint`): for
  every axes its scales, labels and title, for every line and marker set its
  data (to 12 significant digits), colour, style, marker and z-order, and the
  legend's entries. These are values the figure code sets, not pixels, so
  they do not change with the matplotlib version or the fonts.

:func:`read_png` reads them back; the committed gallery (``docs/figures``) is
checked against a fresh drawing of its own inputs by ``tests/figures``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib

import numpy as np

INPUT_KEY, DRAWN_KEY = "eqprop-input", "eqprop-drawn"

#: the keys of a report that the report figures read (the rest is left out of the PNG)
REPORT_KEYS = ("model", "dps", "state", "params", "layers", "times", "series", "dJ_dtheta",
               "hessian_min_eigenvalue", "bias", "verdict")


def report_input(d):
    """The parts of a (checked) report dictionary that the report figures read (the state
    series with every digit the report wrote: the difference panel reads beyond float64)."""
    out = {k: d[k] for k in REPORT_KEYS if d.get(k) is not None}
    if "dJ_dtheta" in out:
        out["dJ_dtheta"] = {"implicit": out["dJ_dtheta"].get("implicit")}
    text = getattr(d, "series_text", {})
    if text and "series" in out:
        out["series"] = {**out["series"], **text}
    return out


def precision_input(d):
    """The parts of a report that the precision figure reads."""
    return {"model": d["model"], "state": d["state"], "dps": d["dps"],
            "checks": [{k: ch[k] for k in ("id", "digits", "kind", "max_abs_error", "scale", "testable")
                        if k in ch} for ch in d["checks"]]}


def encode(data):
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return base64.b64encode(zlib.compress(text.encode(), 9)).decode("ascii")


def decode(text):
    return json.loads(zlib.decompress(base64.b64decode(text)).decode())


def _num(v):
    return float(f"{float(v):.12g}") if np.isfinite(v) else repr(float(v))


def _array(values):
    a = np.asarray(values, dtype=float).ravel()
    return [_num(v) for v in a]


def fingerprint(fig):
    """A JSON-able description of what ``fig`` draws: the data and the styles the code sets."""
    from matplotlib.colors import to_hex

    def hexes(colors):
        return [to_hex(c, keep_alpha=True) for c in np.atleast_2d(colors)] if len(colors) else []

    axes = []
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison and not ax.get_lines() and not ax.collections:
            continue
        legend = ax.get_legend()
        axes.append({
            "scales": [ax.get_xscale(), ax.get_yscale()], "axis_on": ax.axison,
            "labels": [ax.get_xlabel(), ax.get_ylabel(), ax.get_title()],
            "lines": [{"x": _array(ln.get_xdata()), "y": _array(ln.get_ydata()),
                       "color": to_hex(ln.get_color(), keep_alpha=True), "style": ln.get_linestyle(),
                       "width": _num(ln.get_linewidth()), "marker": str(ln.get_marker()),
                       "size": _num(ln.get_markersize()), "face": str(ln.get_markerfacecolor()),
                       "z": _num(ln.get_zorder()), "label": ln.get_label()} for ln in ax.get_lines()],
            "markers": [{"xy": _array(c.get_offsets()), "edge": hexes(c.get_edgecolor()),
                         "face": hexes(c.get_facecolor()), "z": _num(c.get_zorder())}
                        for c in ax.collections],
            "texts": [t.get_text() for t in ax.texts],
            "legend": None if legend is None else {
                "entries": [t.get_text() for t in legend.get_texts()],
                "title": legend.get_title().get_text(), "loc": str(legend._loc)},
        })
    return {"size": _array(fig.get_size_inches()), "axes": axes}


def fingerprint_hash(fig):
    text = json.dumps(fingerprint(fig), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def read_png(path):
    """``(input data or None, drawn hash or None, (width, height) in pixels)`` of a PNG."""
    from PIL import Image
    with Image.open(path) as im:
        text = dict(getattr(im, "text", {}) or {})
        size = im.size
    data = decode(text[INPUT_KEY]) if INPUT_KEY in text else None
    return data, text.get(DRAWN_KEY), size
