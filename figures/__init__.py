"""eqprop.figures: figures drawn from saved verification reports.

One function per figure (``ax=None`` in, the drawn artists out), in
:mod:`eqprop.figures.paper` (one report) and :mod:`eqprop.figures.summaries`
(several runs), and :func:`regenerate`, which writes every available figure
of a report to a folder, and :func:`paper_set`, which runs the verifications
that ``eqprop figures`` draws:

1. ``network``         the layered network of the paper's Figure 1
2. ``theorem3_states`` Sbar_t (RBP) and Stilde_t (EP), every neuron, a panel per layer
3. ``theorem3_params`` Thetabar_t and Thetatilde_t, a few parameters
4. ``truncation``      |Thetabar_t - dJ/dtheta| against t, with exp(-lambda_min t)
5. ``beta_bias``       EP's gradient error against beta, one-sided and symmetric
6. ``precision``       digits of agreement against dps, per theorem (several reports)
7. ``scale``           the realistic-size check: per-layer error against step,
                       complex step against real beta (a ``ScaleReport``)

The figures of ``eqprop estimators`` (errors against the nudge, truncation,
error against N, the break across the radius, asymmetry, the complex-beta
plane) are :mod:`eqprop.figures.estimators`, with their own ``save``.

A figure plots only numbers its report measured (and, marked as such, the
reference lines of a theory: the precision diagonal, exp(-lambda_min t)).

A saved report is untrusted input: :func:`eqprop.figures.report_io.load_report`
and :func:`~eqprop.figures.report_io.check_report` check its schema (one
:class:`EqpropError` naming the key and what is wrong), and a partial report
(an assumption-violated run, an older eqprop) draws what it has: each figure
it cannot draw is named, with the reason, to ``note``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt

from eqprop.errors import EqpropError

from .gallery import DRAWN_KEY, INPUT_KEY, encode, fingerprint_hash, precision_input, report_input
from .paper import (MAX_DRAWN_STATES, beta_bias, layer_groups, network, theorem3_params,
                    theorem3_states, truncation)
from .report_io import check_report, load_report
from .styling import TWO_COLUMN, new_figure, style
from .summaries import precision, scale

__all__ = ["network", "theorem3_states", "theorem3_params", "truncation", "beta_bias",
           "precision", "scale", "regenerate", "paper_set", "check_formats", "check_report",
           "load_report", "style", "new_figure", "FORMATS"]

FORMATS = ("png", "pdf", "svg")


def regenerate(report, out="eqprop-figures", formats=("png", "pdf"), *, precision_reports=None,
               scale_report=None, note=None):
    """Write every available figure of ``report`` (a Report, its dict, or a JSON path) to ``out``.

    ``precision_reports`` (reports of the same model at several dps) adds
    figure 6, ``scale_report`` (from :func:`eqprop.proofs.scale.scale`)
    figure 7. The report is checked first (:func:`check_report`; a JSON path
    through :func:`load_report`): a malformed one is an :class:`EqpropError`
    before anything is written; a partial one draws what it has, and each
    figure it cannot draw is told to ``note(message)`` (default: a warning).
    Each PNG carries the numbers it was drawn from and a hash of what was
    drawn (:mod:`eqprop.figures.gallery`), which is how the committed gallery
    is checked to be what the current code draws. Returns the list of files written.
    """
    if isinstance(report, (str, Path)):
        d = load_report(report)
    else:
        d = check_report(report)
    check_formats(formats)
    say = note or (lambda msg: warnings.warn(msg, stacklevel=3))
    out = Path(out)
    try:
        _make_folders(out)
    except OSError as exc:
        raise EqpropError(f"out: cannot create the folder {str(out)!r} ({exc.strerror or exc})") from None
    states_height = 1.0 + 0.9 * len(layer_groups(d, min(len(d["state"]), MAX_DRAWN_STATES)))
    jobs = [("theorem3_states", theorem3_states, states_height),
            ("theorem3_params", theorem3_params, 2.4),
            ("truncation", truncation, 2.4),
            ("beta_bias", beta_bias, 2.4)]
    source = report_input(d)
    written = []

    def draw(draw_fn, width, height, stem, drawn_from):
        """A new figure, drawn (each figure function draws inside :func:`style`), saved."""
        fig, ax = new_figure(width, height)
        draw_fn(ax)
        return _save(fig, out / stem, formats, drawn_from)
    if not d.get("layers"):
        say("skipped figure network: the report's model has no layers (the figure draws a "
            "layered network, such as hopfield:2,3,3,2)")
    else:
        if "network" in d.missing:
            say(f"skipped figure network: {d.missing['network']}")
        else:
            written += draw(lambda ax: network(d["layers"], ax=ax), TWO_COLUMN / 2,
                            0.9 * len(d["layers"]) + 0.4, "network", source)
    for name, fn, height in jobs:
        if name in d.missing:
            say(f"skipped figure {name}: {d.missing[name]}")
            continue
        written += draw(lambda ax, fn=fn: fn(d, ax=ax), TWO_COLUMN / 2, height, name, source)
    if precision_reports:
        checked = [check_report(r) for r in precision_reports]
        written += draw(lambda ax: precision(checked, ax=ax), TWO_COLUMN / 2, 2.4, "precision",
                        [precision_input(r) for r in checked])
    if scale_report is not None:
        sd = scale_report.to_dict() if hasattr(scale_report, "to_dict") else scale_report
        written += draw(lambda ax: scale(sd, ax=ax), TWO_COLUMN, 2.6, "scale", sd)
    return written


def check_formats(formats):
    """``formats`` if each is one of :data:`FORMATS`, else an EqpropError naming the first that is not."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise EqpropError(f"format: {bad[0]!r} is not one of {', '.join(FORMATS)}" if bad else
                          f"format: give at least one of {', '.join(FORMATS)}")
    return list(formats)


def paper_set(model="paper", dps=30, *, points=25, precisions=(15, 20, 25),
              scale_layers=(10, 128, 128, 784), progress=None):
    """Run what ``eqprop figures`` draws, for ``model`` (a Model, file or built-in name).

    - verifications at each of ``precisions`` other than ``dps``, on the
      default time grid, for figure 6;
    - a verification at ``dps`` on ``points`` evenly spaced times from 0 to
      the end of that default grid (where Sbar_t has decayed by 1e-6), for
      figures 2-5;
    - the realistic-size check on ``scale_layers``, batch 32, 60 steps, for figure 7.

    Returns the keyword arguments of :func:`regenerate`: a dict with
    ``report``, ``precision_reports`` and ``scale_report``. ``progress(msg)``
    is told of each stage.
    """
    from eqprop.proofs import verify
    from eqprop.proofs.scale import scale as scale_check
    from eqprop.symbolic.builtins import load_model

    say = progress or (lambda msg: None)
    model = load_model(model)
    others = [p for p in precisions if p != dps]
    say(f"verifying {model.name} at {', '.join(map(str, others or [dps]))} digits "
        "on the default times (the precision figure)")
    precision_reports = [verify(model, dps=p) for p in others] or [verify(model, dps=dps)]
    t_max = max([float(t) for t in precision_reports[0].times] + [0.0]) or 10.0
    times = [round(t_max * k / (points - 1), 4) for k in range(points)]
    say(f"verifying at {dps} digits on {points} times up to {t_max:g}")
    report = verify(model, dps=dps, times=times)
    precision_reports = [r for r in precision_reports if r.dps != dps] + [report]
    say(f"the realistic-size check (layers {'-'.join(map(str, scale_layers))}, batch 32)")
    return {"report": report, "precision_reports": precision_reports,
            "scale_report": scale_check(list(scale_layers), batch=32, steps=60)}


def _save(fig, stem, formats, source=None):
    files = []
    try:
        for f in formats:
            path = stem.with_suffix("." + f)
            extra = {}
            if f == "png" and source is not None:  # what it was drawn from, and what was drawn
                extra["metadata"] = {INPUT_KEY: encode(source), DRAWN_KEY: fingerprint_hash(fig)}
            try:
                fig.savefig(path, bbox_inches="tight", **extra)
            except OSError as exc:
                raise EqpropError(f"out: cannot write {str(path)!r} ({exc.strerror or exc})") from None
            files.append(path)
    finally:
        plt.close(fig)
    return files


def _make_folders(out):
    """``out`` and its missing parents, made in a loop (Path.mkdir(parents=True) recurses once
    per level: a 2,000-level --out was a RecursionError)."""
    missing = []
    while not out.exists() and out != out.parent:
        missing.append(out)
        out = out.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
