"""The schema of a saved report, part by part: what :func:`~eqprop.figures.report_io.check_report` composes.

Each ``check_*`` function checks one part of a report (its parameters,
layers, time grid, series, gradient, bias) through one :class:`Reader`,
which knows the report's source for the messages and counts every number
against :data:`MAX_VALUES`; :func:`missing_figures` then says which figure
of :data:`REPORT_FIGURES` the checked report cannot draw, and why.
"""

from __future__ import annotations

import difflib
import math
import re
from fractions import Fraction

from eqprop.errors import EqpropError
from eqprop.symbolic.numbers import DECIMAL, nonzero_text

__all__ = ["CheckedReport", "Reader", "REPORT_FIGURES", "MAX_NETWORK_UNITS", "KNOWN_KEYS",
           "check_params", "check_layers", "check_times", "check_series", "check_gradient",
           "check_bias", "missing_figures", "unknown_key_notes", "gradient_errors", "kind", "short"]

#: what a saved report may hold (larger ones are refused, not drawn): points in time, state
#: variables, parameters, numbers in all
MAX_TIMES = 10_000
MAX_STATE = 10_000
MAX_PARAMS = 1_000_000
MAX_VALUES = 20_000_000
#: the network figure draws layers of at most this many units (a wider report misses that figure)
MAX_NETWORK_UNITS = 64

#: the figures drawn from one report, in order
REPORT_FIGURES = ("network", "theorem3_states", "theorem3_params", "truncation", "beta_bias")

#: The keys a report of eqprop verify --json has, at the top and in 'series' and 'bias': any other
#: is named in a note (a misspelt 'seires' would otherwise only leave figures undrawn).
KNOWN_KEYS = ("assumptions", "bias", "checks", "dJ_dtheta", "dps", "engine", "hessian_min_eigenvalue",
              "kind", "layers", "model", "notes", "params", "s_free", "seconds", "series", "state",
              "times", "verdict", "verdict_message", "working_dps")
SERIES_KEYS = ("s_bar", "s_tilde", "theta_bar", "theta_tilde")
BIAS_KEYS = ("betas", "one_sided", "symmetric")
#: A report's numbers lie within this in absolute value (drawing near float64's largest, about
#: 1.8e308, overflowed matplotlib's axis limits: an internal error)
MAX_MAGNITUDE = 1e300
#: A number given as text: ASCII decimal or fraction (float() alone takes '1_0' and other digits)
_NUMBER_TEXT = re.compile(rf"\s*(?:{DECIMAL}(?:\s*/\s*[+-]?[0-9]+)?|[+-]?(?:nan|inf|infinity))\s*",
                          re.ASCII | re.IGNORECASE)


class CheckedReport(dict):
    """A report's dictionary after :func:`~eqprop.figures.report_io.check_report`: numbers as
    floats, shapes consistent.

    ``missing`` maps each figure of :data:`REPORT_FIGURES` that the report
    cannot draw to the reason (a partial report: an early-stopped run, an
    older eqprop, a hand-made file). ``notes`` names each key that is not
    one of a report's (:data:`KNOWN_KEYS`, and those of ``series`` and
    ``bias``): it is ignored, and said so.
    """

    missing: dict
    notes: list
    #: the state series 's_bar' and 's_tilde' as their decimal text (every digit the report
    #: wrote; numbers given as JSON floats as their repr): the two sides agree beyond float64
    series_text: dict


def kind(v):
    """What a JSON value is, in words ('an object', 'null', ...)."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number", type(None): "null"}
    return names.get(type(v), type(v).__name__)


def short(v, n=60):
    """``repr(v)``, cut to ``n`` characters for a message."""
    text = repr(v)
    return text if len(text) <= n else text[:n - 3] + "..."


class Reader:
    """Reads a report's values for the checks: each refusal one :class:`EqpropError` naming
    ``source`` and the key, and every number counted against :data:`MAX_VALUES`."""

    def __init__(self, source):
        self.source = source
        self.count = 0

    def fail(self, where, what):
        raise EqpropError(f"{self.source}: {where} {what}")

    def number(self, v, where):
        """A finite float of plain size, from a JSON number or its ASCII text ("3/10" too)."""
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            self.fail(where, f"should be a number, not {kind(v)}")
        if isinstance(v, str) and not _NUMBER_TEXT.fullmatch(v):
            self.fail(where, f"should be a number in ASCII digits, not {short(v)}")
        x = _as_float(v)
        if x is None:
            self.fail(where, f"should be a number, not {short(v)}")
        if isinstance(v, str) and x == 0 and nonzero_text(v):
            self.fail(where, f"is {short(v)}, below float64's smallest number: it would be read as 0")
        if not math.isfinite(x):
            self.fail(where, f"is not finite ({short(v)}); a report holds finite numbers")
        if abs(x) > MAX_MAGNITUDE:
            self.fail(where, f"is {x:.3g}, beyond {MAX_MAGNITUDE:g} in absolute value; a report's "
                             "numbers are far smaller")
        return x

    def vector(self, v, where, limit=None):
        """A list of numbers (at most ``limit``), each read by :meth:`number`."""
        if not isinstance(v, list):
            self.fail(where, f"should be a list, not {kind(v)}")
        if limit is not None and len(v) > limit:
            self.fail(where, f"has {len(v)} entries, more than the {limit} a report may have")
        self.count += len(v)
        if self.count > MAX_VALUES:
            self.fail(where, f"takes the report past {MAX_VALUES} numbers, more than can be drawn")
        return [self.number(x, f"{where}[{i}]") for i, x in enumerate(v)]

    def names(self, v, where, limit):
        """A list of at most ``limit`` strings."""
        if not isinstance(v, list):
            self.fail(where, f"should be a list of names, not {kind(v)}")
        if len(v) > limit:
            self.fail(where, f"has {len(v)} names, more than the {limit} a report may have")
        for i, n in enumerate(v):
            if not isinstance(n, str):
                self.fail(f"{where}[{i}]", f"should be a name (a string), not {kind(n)}")
        return list(v)


def _as_float(v):
    """``float(v)``, or for a fraction's text its value; None when it is neither."""
    try:
        return float(v)
    except (ValueError, OverflowError):
        if isinstance(v, str) and "/" in v and len(v) < 1000:
            try:
                return float(Fraction(v))
            except (ValueError, ZeroDivisionError, OverflowError):
                pass
    return None


def check_state(r, d):
    """The model's name and the state's names (both required)."""
    if not isinstance(d["model"], str):
        r.fail("'model'", f"should be the model's name (a string), not {kind(d['model'])}")
    d["state"] = r.names(d["state"], "'state'", MAX_STATE)


def check_params(r, d):
    """``params`` as a list of ``{"name", "value"}``, from that, ``[name, value]`` pairs or the
    dict of an older eqprop; each value checked and kept as written ("3/10" stays exact)."""
    params = d.get("params")
    if params is None:
        params = []
    elif isinstance(params, dict):  # older eqprop: a dict in declared order
        params = [{"name": k, "value": v} for k, v in params.items()]
    elif isinstance(params, list):
        if len(params) > MAX_PARAMS:
            r.fail("'params'", f"has {len(params)} entries, more than the {MAX_PARAMS} a report may have")
        params = [_param(r, i, p) for i, p in enumerate(params)]
    else:
        r.fail("'params'", f"should be a list of {{name, value}}, not {kind(params)}")
    for i, p in enumerate(params):
        if p["value"] is not None:
            r.number(p["value"], f"'params'[{i}].'value'")
    d["params"] = params


def _param(r, i, p):
    """One entry of ``params`` as ``{"name", "value"}``."""
    if isinstance(p, dict) and "name" in p:
        out = {"name": p["name"], "value": p.get("value")}
    elif isinstance(p, list) and len(p) == 2:
        out = {"name": p[0], "value": p[1]}
    else:
        r.fail(f"'params'[{i}]", 'should be {"name": ..., "value": ...} or a [name, value] '
                                 f"pair, not {kind(p)}")
    if not isinstance(out["name"], str):
        r.fail(f"'params'[{i}]", f"has a name that is not a string ({kind(out['name'])})")
    return out


def check_layers(r, d):
    """``layers``, when given: two or more positive sizes whose all but the input add up to the state."""
    layers, state = d.get("layers"), d["state"]
    if layers is None:
        return
    if not isinstance(layers, list) or not all(isinstance(n, int) and not isinstance(n, bool)
                                                for n in layers):
        r.fail("'layers'", f"should be a list of layer sizes (integers) or null, not {short(layers)}")
    if len(layers) < 2 or min(layers) < 1:
        r.fail("'layers'", f"should hold two or more positive sizes, output first, not {short(layers)}")
    if sum(layers[:-1]) != len(state):
        r.fail("'layers'", f"{short(layers)} do not match the {len(state)} state variables "
                           f"(the layers but the input should add up to {len(state)})")


def check_times(r, d):
    """``times``, when given: non-negative and strictly increasing."""
    if d.get("times") is None:
        return
    times = d["times"] = r.vector(d["times"], "'times'", limit=MAX_TIMES)
    if times and min(times) < 0:
        r.fail("'times'", f"has a negative time ({min(times):g}); times start at 0")
    if any(b <= a for a, b in zip(times, times[1:])):
        k = next(i for i, (a, b) in enumerate(zip(times, times[1:])) if b <= a)
        r.fail("'times'", f"should increase strictly, but {times[k]:g} is followed by {times[k + 1]:g}")


def check_series(r, d, has_params):
    """``series``, when given: one row per time, one value per state variable (``s_bar``,
    ``s_tilde``) or parameter (``theta_bar``, ``theta_tilde``; their width is known only
    when the report gave ``params``). The state series keep their decimal text too."""
    series = d.get("series")
    if series is None:
        return
    if not isinstance(series, dict):
        r.fail("'series'", f"should be an object of time series, not {kind(series)}")
    series = d["series"] = dict(series)
    n_state, n_params = len(d["state"]), len(d["params"]) if has_params else None
    widths = {"s_bar": n_state, "s_tilde": n_state, "theta_bar": n_params, "theta_tilde": n_params}
    for key, width in widths.items():
        rows = series.get(key)
        if rows is None:
            continue
        where = f"'series'.'{key}'"
        _series_shape(r, where, rows, d.get("times"))
        what = "state variables" if key.startswith("s_") else "parameters"
        checked = []
        for i, row in enumerate(rows):
            if isinstance(row, list) and width is not None and len(row) != width:
                r.fail(f"{where}[{i}]", f"has {len(row)} values for {width} {what}")
            checked.append(r.vector(row, f"{where}[{i}]"))
        if key in ("s_bar", "s_tilde"):  # checked above, number by number
            d.series_text[key] = [[v.strip() if isinstance(v, str) else repr(float(v))
                                   for v in row] for row in rows]
        series[key] = checked


def _series_shape(r, where, rows, times):
    """A series is a list of rows, one per time of the grid."""
    if times is None:
        r.fail(where, "is given without 'times'")
    if not isinstance(rows, list):
        r.fail(where, f"should be a list of rows, one per time, not {kind(rows)}")
    if len(rows) != len(times):
        r.fail(where, f"has {len(rows)} rows for {len(times)} times")


def check_gradient(r, d, has_params):
    """``dJ_dtheta``, when given, and its ``implicit`` gradient (one value per parameter);
    ``hessian_min_eigenvalue``, when given, a number."""
    grads = d.get("dJ_dtheta")
    if grads is not None:
        if not isinstance(grads, dict):
            r.fail("'dJ_dtheta'", f"should be an object of gradients, not {kind(grads)}")
        grads = d["dJ_dtheta"] = dict(grads)
        implicit = grads.get("implicit")
        if implicit is not None:
            n_params = len(d["params"])
            if isinstance(implicit, list) and has_params and len(implicit) != n_params:
                r.fail("'dJ_dtheta'.'implicit'", f"has {len(implicit)} values for {n_params} "
                                                 "parameters")
            grads["implicit"] = r.vector(implicit, "'dJ_dtheta'.'implicit'")
    if d.get("hessian_min_eigenvalue") is not None:
        d["hessian_min_eigenvalue"] = r.number(d["hessian_min_eigenvalue"], "'hessian_min_eigenvalue'")


def check_bias(r, d):
    """``bias``, when given: positive betas, and per beta a non-negative error of each estimate
    (one-sided and symmetric; paper 4.4)."""
    bias = d.get("bias")
    if bias is None:
        return
    if not isinstance(bias, dict):
        r.fail("'bias'", f"should be an object with betas, one_sided and symmetric, not {kind(bias)}")
    bias = d["bias"] = dict(bias)
    if all(bias.get(k) is None for k in BIAS_KEYS):
        return
    for k in BIAS_KEYS:
        if bias.get(k) is None:
            r.fail("'bias'", f"has no {k!r} beside the others")
    bias["betas"] = r.vector(bias["betas"], "'bias'.'betas'", limit=MAX_TIMES)
    for k in ("one_sided", "symmetric"):
        if isinstance(bias[k], list) and len(bias[k]) != len(bias["betas"]):
            r.fail(f"'bias'.'{k}'", f"has {len(bias[k])} values for {len(bias['betas'])} betas")
        bias[k] = r.vector(bias[k], f"'bias'.'{k}'")
    if any(b <= 0 for b in bias["betas"]):
        r.fail("'bias'.'betas'", "should be positive (they are plotted on a log axis)")
    for k in ("one_sided", "symmetric"):
        if any(v < 0 for v in bias[k]):
            r.fail(f"'bias'.'{k}'", f"has a negative error ({min(bias[k]):g}); the errors are "
                                    "magnitudes, >= 0")


def gradient_errors(d):
    """max_k |Thetabar_t - dJ/dtheta|_k at each time of a checked report."""
    grad = d["dJ_dtheta"]["implicit"]
    return [max(abs(a - b) for a, b in zip(row, grad)) for row in d["series"]["theta_bar"]]


def missing_figures(d):
    """``{figure: reason}`` for each figure of :data:`REPORT_FIGURES` a checked report cannot draw."""
    why = (" (the run's verdict: assumption violated; it stopped before computing this)"
           if d.get("verdict") == "assumption violated" else "")
    ser, times, params = d.get("series") or {}, d.get("times"), d["params"]
    missing = {}

    def need(figure, *parts):
        lacking = [label for label, ok in parts if not ok]
        if lacking:
            missing[figure] = f"the report has no {', no '.join(lacking)}{why}"

    layers = d.get("layers")
    if layers is not None and max(layers) > MAX_NETWORK_UNITS:
        missing["network"] = (f"layers {short(layers)} are too wide to draw (the figure shows "
                              f"at most {MAX_NETWORK_UNITS} units per layer)")
    need("theorem3_states", ("time grid 'times'", bool(times)), ("state variables", bool(d["state"])),
         ("series 's_bar'", bool(ser.get("s_bar"))), ("series 's_tilde'", bool(ser.get("s_tilde"))))
    need("theorem3_params", ("time grid 'times'", bool(times)), ("parameters", bool(params)),
         ("series 'theta_bar'", bool(ser.get("theta_bar"))),
         ("series 'theta_tilde'", bool(ser.get("theta_tilde"))))
    need("truncation", ("time grid 'times'", bool(times)), ("parameters", bool(params)),
         ("series 'theta_bar'", bool(ser.get("theta_bar"))),
         ("gradient 'dJ_dtheta'.'implicit'", bool((d.get("dJ_dtheta") or {}).get("implicit"))),
         ("'hessian_min_eigenvalue'", d.get("hessian_min_eigenvalue") is not None))
    if "truncation" not in missing and not any(e > 0 for e in gradient_errors(d)):
        missing["truncation"] = ("the gradient error |Thetabar_t - dJ/dtheta| is zero at every time: "
                                 "nothing to show on its log axis")
    bias = d.get("bias") or {}
    need("beta_bias", ("bias data 'bias'", bool(bias.get("betas"))))
    if "beta_bias" not in missing and not any(v > 0 for v in bias["one_sided"] + bias["symmetric"]):
        missing["beta_bias"] = "the bias errors are zero at every beta: nothing to show on a log axis"
    return missing


def unknown_key_notes(report, d):
    """A note for each key of a report (top level, ``series``, ``bias``) that no report has."""
    return (_unknown_keys(report, "", KNOWN_KEYS)
            + _unknown_keys(d.get("series") or {}, "'series': ", SERIES_KEYS)
            + _unknown_keys(d.get("bias") or {}, "'bias': ", BIAS_KEYS))


def _unknown_keys(d, where, known):
    """A note for each key of ``d`` not in ``known``, with the nearest known one."""
    notes = []
    for key in d:
        if key not in known:
            near = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            notes.append(f"{where}unknown key {short(key, 40)}{hint} ignored")
    return notes
