"""One function per figure, drawn from a verification report (or its JSON).

Each takes the data and ``ax=None`` (a new figure when None) and returns the
artists it drew, so that a caller can restyle or test them. Inputs are a
:class:`eqprop.Report` or the dictionary of its JSON (``Report.to_dict()``,
or ``json.load`` of ``eqprop verify --json``): figures never recompute.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import matplotlib.pyplot as plt

from eqprop.errors import EqpropError

__all__ = ["PALETTE", "network", "theorem3_states", "theorem3_params", "truncation",
           "beta_bias", "precision", "scale", "as_dict", "param_names", "check_report", "load_report",
           "CheckedReport", "legend_label", "REPORT_FIGURES"]

#: Okabe-Ito colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

STYLE = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
         "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.2,
         "savefig.bbox": "tight", "figure.dpi": 150}
ONE_COLUMN, TWO_COLUMN = 3.4, 7.0  # inches


#: what a saved report may hold (larger ones are refused, not drawn): bytes of JSON, points in
#: time, state variables, parameters, numbers in all
MAX_REPORT_BYTES = 64 * 2**20
MAX_TIMES = 10_000
MAX_STATE = 10_000
MAX_PARAMS = 1_000_000
MAX_VALUES = 20_000_000
#: the network figure draws layers of at most this many units, theorem3_states this many neurons
MAX_NETWORK_UNITS = 64
MAX_DRAWN_STATES = 32

#: the figures drawn from one report, in order
REPORT_FIGURES = ("network", "theorem3_states", "theorem3_params", "truncation", "beta_bias")


class CheckedReport(dict):
    """A report's dictionary after :func:`check_report`: numbers as floats, shapes consistent.

    ``missing`` maps each figure of :data:`REPORT_FIGURES` that the report
    cannot draw to the reason (a partial report: an early-stopped run, an
    older eqprop, a hand-made file).
    """

    missing: dict


def as_dict(report):
    """A Report or its JSON dictionary, as a :class:`CheckedReport` (see :func:`check_report`)."""
    return check_report(report)


def load_report(path):
    """Read and check a saved report (``eqprop verify --json FILE``); see :func:`check_report`."""
    path = Path(path)
    source = f"report {str(path)!r}"
    if "\x00" in str(path):
        raise EqpropError(f"{source}: the file name contains a NUL character")
    try:
        if not path.exists():
            raise EqpropError(f"{source}: no such file; give a file written by eqprop verify --json FILE")
        if path.is_dir():
            raise EqpropError(f"{source} is a folder; give the JSON file written by eqprop verify --json")
        if not path.is_file():
            raise EqpropError(f"{source} is not a regular file; give the JSON file written by "
                              "eqprop verify --json")
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise EqpropError(f"{source} is {_amount(size)}, more than the {_amount(MAX_REPORT_BYTES)} "
                              "a report may have; reports of eqprop verify are far smaller")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        raise EqpropError(f"{source}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_REPORT_BYTES:
        raise EqpropError(f"{source} is larger than the {_amount(MAX_REPORT_BYTES)} a report may have")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EqpropError(f"{source} is not UTF-8 text (byte {exc.start}); give the JSON file "
                          "written by eqprop verify --json") from None
    try:
        d = json.loads(text)
    except RecursionError:
        raise EqpropError(f"{source}: JSON nested too deeply to be a report") from None
    except ValueError as exc:
        why = " ".join(str(exc).split())[:160]
        raise EqpropError(f"{source} is not valid JSON ({why}); give the file written by "
                          "eqprop verify --json") from None
    return check_report(d, source)


def check_report(report, source="report"):
    """Check a report's schema; returns a :class:`CheckedReport`.

    ``report``: a :class:`eqprop.Report` or the dictionary of its JSON. What
    is there must have the types and shapes that ``eqprop verify --json``
    writes (else an :class:`EqpropError` naming the key and what is wrong);
    what is absent (or null or empty) only leaves the figures that need it
    undrawn: they are listed, with the reason, in ``missing``. Numbers may be
    JSON numbers or strings (``"1.5e-31"``, ``"3/10"``) and must be finite.
    """
    if isinstance(report, CheckedReport):
        return report
    if hasattr(report, "to_dict"):
        report = report.to_dict()
    if not isinstance(report, dict):
        raise EqpropError(f"{source}: expected a JSON object (the report of eqprop verify --json), "
                          f"got {_kind(report)}")
    absent = [k for k in ("model", "state") if k not in report]
    if absent:
        has = ", ".join(repr(str(k)[:30]) for k in list(report)[:8]) or "no keys"
        raise EqpropError(f"{source}: not a report of eqprop verify --json (no "
                          f"{' or '.join(map(repr, absent))}; it has {has})")
    d = CheckedReport(report)
    count = [0]

    def fail(where, what):
        raise EqpropError(f"{source}: {where} {what}")

    def num(v, where):
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            fail(where, f"should be a number, not {_kind(v)}")
        try:
            x = float(v)
        except (ValueError, OverflowError):
            x = None
            if isinstance(v, str) and "/" in v and len(v) < 1000:
                from fractions import Fraction
                try:
                    x = float(Fraction(v))
                except (ValueError, ZeroDivisionError, OverflowError):
                    pass
            if x is None:
                fail(where, f"should be a number, not {_short(v)}")
        if not math.isfinite(x):
            fail(where, f"is not finite ({_short(v)}); a report holds finite numbers")
        return x

    def vector(v, where, limit=None):
        if not isinstance(v, list):
            fail(where, f"should be a list, not {_kind(v)}")
        if limit is not None and len(v) > limit:
            fail(where, f"has {len(v)} entries, more than the {limit} a report may have")
        count[0] += len(v)
        if count[0] > MAX_VALUES:
            fail(where, f"takes the report past {MAX_VALUES} numbers, more than can be drawn")
        return [num(x, f"{where}[{i}]") for i, x in enumerate(v)]

    def names(v, where, limit):
        if not isinstance(v, list):
            fail(where, f"should be a list of names, not {_kind(v)}")
        if len(v) > limit:
            fail(where, f"has {len(v)} names, more than the {limit} a report may have")
        for i, n in enumerate(v):
            if not isinstance(n, str):
                fail(f"{where}[{i}]", f"should be a name (a string), not {_kind(n)}")
        return list(v)

    if not isinstance(d["model"], str):
        fail("'model'", f"should be the model's name (a string), not {_kind(d['model'])}")
    state = d["state"] = names(d["state"], "'state'", MAX_STATE)
    params = d.get("params")
    if params is None:
        params = []
    elif isinstance(params, dict):  # older eqprop: a dict in declared order
        params = [{"name": k, "value": v} for k, v in params.items()]
    elif isinstance(params, list):
        if len(params) > MAX_PARAMS:
            fail("'params'", f"has {len(params)} entries, more than the {MAX_PARAMS} a report may have")
        out = []
        for i, p in enumerate(params):
            if isinstance(p, dict) and "name" in p:
                out.append({"name": p["name"], "value": p.get("value")})
            elif isinstance(p, list) and len(p) == 2:
                out.append({"name": p[0], "value": p[1]})
            else:
                fail(f"'params'[{i}]", 'should be {"name": ..., "value": ...} or a [name, value] '
                                       f"pair, not {_kind(p)}")
            if not isinstance(out[-1]["name"], str):
                fail(f"'params'[{i}]", f"has a name that is not a string ({_kind(out[-1]['name'])})")
        params = out
    else:
        fail("'params'", f"should be a list of {{name, value}}, not {_kind(params)}")
    d["params"] = params
    n_params = len(params)
    has_params = report.get("params") is not None  # without them, per-parameter widths are unknown

    layers = d.get("layers")
    if layers is not None:
        if not isinstance(layers, list) or not all(isinstance(n, int) and not isinstance(n, bool)
                                                    for n in layers):
            fail("'layers'", f"should be a list of layer sizes (integers) or null, not {_short(layers)}")
        if len(layers) < 2 or min(layers) < 1:
            fail("'layers'", f"should hold two or more positive sizes, output first, not {_short(layers)}")
        if sum(layers[:-1]) != len(state):
            fail("'layers'", f"{_short(layers)} do not match the {len(state)} state variables "
                             f"(the layers but the input should add up to {len(state)})")

    times = d.get("times")
    if times is not None:
        times = d["times"] = vector(times, "'times'", limit=MAX_TIMES)
    series = d.get("series")
    if series is not None:
        if not isinstance(series, dict):
            fail("'series'", f"should be an object of time series, not {_kind(series)}")
        series = d["series"] = dict(series)
        widths = {"s_bar": len(state), "s_tilde": len(state),
                  "theta_bar": n_params if has_params else None,
                  "theta_tilde": n_params if has_params else None}
        for key, width in widths.items():
            rows = series.get(key)
            if rows is None:
                continue
            where = f"'series'.'{key}'"
            if times is None:
                fail(where, "is given without 'times'")
            if not isinstance(rows, list):
                fail(where, f"should be a list of rows, one per time, not {_kind(rows)}")
            if len(rows) != len(times):
                fail(where, f"has {len(rows)} rows for {len(times)} times")
            what = "state variables" if key.startswith("s_") else "parameters"
            checked = []
            for i, row in enumerate(rows):
                if isinstance(row, list) and width is not None and len(row) != width:
                    fail(f"{where}[{i}]", f"has {len(row)} values for {width} {what}")
                checked.append(vector(row, f"{where}[{i}]"))
            series[key] = checked
    grads = d.get("dJ_dtheta")
    if grads is not None:
        if not isinstance(grads, dict):
            fail("'dJ_dtheta'", f"should be an object of gradients, not {_kind(grads)}")
        grads = d["dJ_dtheta"] = dict(grads)
        if grads.get("implicit") is not None:
            if isinstance(grads["implicit"], list) and has_params and len(grads["implicit"]) != n_params:
                fail("'dJ_dtheta'.'implicit'", f"has {len(grads['implicit'])} values for {n_params} "
                                               "parameters")
            grads["implicit"] = vector(grads["implicit"], "'dJ_dtheta'.'implicit'")
    if d.get("hessian_min_eigenvalue") is not None:
        d["hessian_min_eigenvalue"] = num(d["hessian_min_eigenvalue"], "'hessian_min_eigenvalue'")
    bias = d.get("bias")
    if bias is not None:
        if not isinstance(bias, dict):
            fail("'bias'", f"should be an object with betas, one_sided and symmetric, not {_kind(bias)}")
        bias = d["bias"] = dict(bias)
        if any(bias.get(k) is not None for k in ("betas", "one_sided", "symmetric")):
            for k in ("betas", "one_sided", "symmetric"):
                if bias.get(k) is None:
                    fail("'bias'", f"has no {k!r} beside the others")
            bias["betas"] = vector(bias["betas"], "'bias'.'betas'", limit=MAX_TIMES)
            for k in ("one_sided", "symmetric"):
                if isinstance(bias[k], list) and len(bias[k]) != len(bias["betas"]):
                    fail(f"'bias'.'{k}'", f"has {len(bias[k])} values for {len(bias['betas'])} betas")
                bias[k] = vector(bias[k], f"'bias'.'{k}'")
            if any(b <= 0 for b in bias["betas"]):
                fail("'bias'.'betas'", "should be positive (they are plotted on a log axis)")

    # what each figure needs, and what is absent
    verdict = d.get("verdict")
    why = (" (the run's verdict: assumption violated; it stopped before computing this)"
           if verdict == "assumption violated" else "")
    missing = {}
    ser = d.get("series") or {}

    def need(figure, *parts):
        lacking = [label for label, ok in parts if not ok]
        if lacking:
            missing[figure] = f"the report has no {', no '.join(lacking)}{why}"

    if layers is not None:
        if max(layers) > MAX_NETWORK_UNITS:
            missing["network"] = (f"layers {_short(layers)} are too wide to draw (the figure shows "
                                  f"at most {MAX_NETWORK_UNITS} units per layer)")
    need("theorem3_states", ("time grid 'times'", bool(times)), ("state variables", bool(state)),
         ("series 's_bar'", bool(ser.get("s_bar"))), ("series 's_tilde'", bool(ser.get("s_tilde"))))
    need("theorem3_params", ("time grid 'times'", bool(times)), ("parameters", bool(params)),
         ("series 'theta_bar'", bool(ser.get("theta_bar"))),
         ("series 'theta_tilde'", bool(ser.get("theta_tilde"))))
    need("truncation", ("time grid 'times'", bool(times)), ("parameters", bool(params)),
         ("series 'theta_bar'", bool(ser.get("theta_bar"))),
         ("gradient 'dJ_dtheta'.'implicit'", bool((grads or {}).get("implicit"))),
         ("'hessian_min_eigenvalue'", d.get("hessian_min_eigenvalue") is not None))
    if "truncation" not in missing and not any(e > 0 for e in _gradient_errors(d)):
        missing["truncation"] = ("the gradient error |Thetabar_t - dJ/dtheta| is zero at every time: "
                                 "nothing to show on its log axis")
    need("beta_bias", ("bias data 'bias'", bool((bias or {}).get("betas"))))
    if "beta_bias" not in missing and not any(v > 0 for v in bias["one_sided"] + bias["symmetric"]):
        missing["beta_bias"] = ("the bias errors are zero at every beta: nothing to show on a "
                                "log axis")
    d.missing = missing
    return d


def _amount(nbytes):
    return f"{nbytes / 2**20:.3g} MiB" if nbytes >= 2**20 else f"{nbytes} bytes"


def _gradient_errors(d):
    """max_k |Thetabar_t - dJ/dtheta|_k at each time of a checked report."""
    grad = d["dJ_dtheta"]["implicit"]
    return [max(abs(a - b) for a, b in zip(row, grad)) for row in d["series"]["theta_bar"]]


def _need(d, figure):
    if figure in d.missing:
        raise EqpropError(f"{figure}: {d.missing[figure]}")


def _kind(v):
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number", type(None): "null"}
    return names.get(type(v), type(v).__name__)


def _short(v, n=60):
    text = repr(v)
    return text if len(text) <= n else text[:n - 3] + "..."


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


def param_names(report):
    """The parameter names in the model's declared order (the order of every per-parameter vector).

    ``params`` is a list of ``{"name": ..., "value": ...}`` (or of ``(name,
    value)`` pairs); reports of older eqprop versions hold a dict, taken in
    its key order.
    """
    return [p["name"] for p in as_dict(report)["params"]]


def _ax(ax, width=ONE_COLUMN, height=2.4):
    if ax is None:
        with plt.rc_context(STYLE):
            _, ax = plt.subplots(figsize=(width, height))
    return ax


def _floats(rows):
    return [[float(v) for v in row] for row in rows]


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


def _series_panel(d, key_rbp, key_ep, names, ax, ylabel, select=None, title="lines: RBP, circles: EP"):
    t = [float(v) for v in d["times"]]
    rbp, ep = _floats(d["series"][key_rbp]), _floats(d["series"][key_ep])
    idx = list(range(len(names))) if select is None else select
    artists = []
    for c, i in enumerate(idx):
        color = PALETTE[c % len(PALETTE)]
        artists += ax.plot(t, [row[i] for row in rbp], color=color, label=names[i])
        artists.append(ax.scatter(t, [row[i] for row in ep], s=14, facecolor="none",
                                  edgecolor=color, zorder=3))
    ax.set_xlabel("time $t$ in the nudged phase")
    ax.set_ylabel(ylabel)
    ax.legend(ncol=2, frameon=False, title=title, title_fontsize=7)
    return artists


def theorem3_states(report, ax=None):
    """Sbar_t (RBP, lines) and Stilde_t (EP, circles) for every neuron (paper 5.4).

    A report of more than :data:`MAX_DRAWN_STATES` neurons: the first that many, said in
    the legend's title.
    """
    d = as_dict(report)
    _need(d, "theorem3_states")
    ax = _ax(ax)
    n = len(d["state"])
    shown = min(n, MAX_DRAWN_STATES)
    title = "lines: RBP, circles: EP" + (f"\n(the first {shown} of {n} neurons)" if shown < n else "")
    return _series_panel(d, "s_bar", "s_tilde", [legend_label(s) for s in d["state"]],
                         ax, r"$\bar S_t$ (lines), $\tilde S_t$ (circles)", select=list(range(shown)),
                         title=title)


def theorem3_params(report, ax=None, params=None):
    """Thetabar_t (RBP, lines) and Thetatilde_t (EP, circles) for a few parameters (paper 5.5).

    ``params``: names to show (default: the first four).
    """
    d = as_dict(report)
    _need(d, "theorem3_params")
    names = param_names(d)
    chosen = params or names[:4]
    unknown = [p for p in chosen if p not in names]
    if unknown:
        raise EqpropError(f"theorem3_params: unknown parameter {_short(unknown[0])}")
    ax = _ax(ax)
    labels = [legend_label(n) for n in names]  # mathtext for identifiers, underscores kept
    return _series_panel(d, "theta_bar", "theta_tilde", labels, ax,
                         r"$\bar\Theta_t$ (lines), $\tilde\Theta_t$ (circles)",
                         select=[names.index(p) for p in chosen])


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


def beta_bias(report, ax=None):
    """The measured error of EP's finite-beta gradient estimates against beta (log-log, paper 4.4).

    One-sided ``(dE/dtheta(s_beta) - dE/dtheta(s_0)) / beta``, whose error
    falls like beta, and symmetric ``(dE/dtheta(s_beta) - dE/dtheta(s_-beta))
    / 2 beta``, like beta^2: the report's ``bias`` errors at its ``bias``
    betas, and nothing else (the complex-step estimate, row T2, has no beta to
    plot against: its digits are in the report's table).
    """
    d = as_dict(report)
    _need(d, "beta_bias")
    ax = _ax(ax)
    betas = [float(b) for b in d["bias"]["betas"]]
    one = [float(v) for v in d["bias"]["one_sided"]]
    sym = [float(v) for v in d["bias"]["symmetric"]]
    artists = ax.loglog(betas, one, "o-", color=PALETTE[0], ms=3,
                        label=r"one-sided, $O(\beta)$ expected")
    artists += ax.loglog(betas, sym, "s-", color=PALETTE[1], ms=3,
                         label=r"symmetric $\pm\beta$, $O(\beta^2)$ expected")
    ax.set_title(r"Theorem 2 (4.4): bias of EP's gradient at finite $\beta$")
    ax.set_xlabel(r"nudging strength $\beta$")
    ax.set_ylabel(r"relative error of the EP gradient")
    ax.legend(frameon=False)
    return artists


def precision(reports, ax=None):
    """Digits of agreement against dps, one line per theorem: agreement tracks precision.

    ``reports``: verification reports of one model at several dps. For each
    theorem the fewest digits over its rows is plotted; the dotted diagonal
    is the precision itself.
    """
    ds = sorted((as_dict(r) for r in reports), key=lambda d: d["dps"])
    if len(ds) < 2:
        raise EqpropError("precision: give reports at two or more dps")
    groups = {"KBE (A.3)": ("KBE",), "Theorem 1 (3.3-3.8)": ("T1.",),
              "Theorem 2 (4.4)": ("T2", "IFT"), "Theorem 3 (5.4-5.5)": ("T3.",)}
    ax = _ax(ax)
    dps = [d["dps"] for d in ds]
    artists = ax.plot(dps, dps, ":", color="0.5", label="working precision (dps)")
    for c, (label, prefixes) in enumerate(groups.items()):
        ys = [min((ch["digits"] for ch in d["checks"] if ch["id"].startswith(prefixes)
                   and ch.get("kind", "identity") == "identity"), default=float("nan"))
              for d in ds]
        artists += ax.plot(dps, ys, "o-", color=PALETTE[c], ms=3, label=label)
    ax.set_xlabel("working digits reported (dps)")
    ax.set_ylabel("fewest digits of agreement")
    ax.legend(frameon=False)
    return artists


def _positive(values):
    """Values for a log axis: an exact zero is left out (a gap), never replaced by a made-up floor."""
    return [float(v) if float(v) > 0 else math.nan for v in values]


def scale(scale_report, ax=None):
    """Per layer, EP-RBP relative error against the step: complex step (solid) vs real beta (dashed).

    Ernoult et al.'s figure made exact: with beta = i h the error sits at
    float64 rounding until the physical floor (Sbar_k far below u_k) sets in.
    """
    d = scale_report.to_dict() if hasattr(scale_report, "to_dict") else scale_report
    rows = [r for r in d["rows"] if r["quantity"].startswith("s") and "per_step" in r]
    if not rows:
        raise EqpropError("scale: the report has no per-step data (made by an older eqprop?)")
    ax = _ax(ax)
    artists = []
    for c, r in enumerate(rows):
        color = PALETTE[c % len(PALETTE)]
        steps = list(range(len(r["per_step"]["complex_step"])))
        artists += ax.semilogy(steps, _positive(r["per_step"]["complex_step"]), "-",
                               color=color, label=f"layer {r['quantity']}: complex step")
        if "real_beta" in r["per_step"]:
            artists += ax.semilogy(steps, _positive(r["per_step"]["real_beta"]), "--", color=color,
                                   label=rf"layer {r['quantity']}: $\beta$ = {d['beta']:g}")
    ax.set_xlabel("step $k$ of the nudged phase / RBP")
    ax.set_ylabel("relative error, EP vs RBP")
    ax.set_ylim(1e-17, 1e2)
    ax.legend(frameon=False, ncol=2, fontsize=6)
    return artists
