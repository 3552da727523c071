"""Reading and checking saved reports: the untrusted input of :mod:`eqprop.figures`.

A report (``eqprop verify --json FILE``, a :class:`eqprop.Report` or its
dictionary) is checked once, by :func:`check_report` (:func:`load_report`
reads a file first, within :data:`MAX_REPORT_BYTES`), into a
:class:`CheckedReport`: numbers as floats, shapes consistent, and for each
figure of :data:`REPORT_FIGURES` that the report cannot draw the reason, in
``missing``. The figures of :mod:`eqprop.figures.paper` draw only checked
reports.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from pathlib import Path

from eqprop.errors import EqpropError
from eqprop.symbolic.numbers import DECIMAL, nonzero_text

__all__ = ["check_report", "load_report", "as_dict", "param_names", "CheckedReport", "REPORT_FIGURES"]

#: what a saved report may hold (larger ones are refused, not drawn): bytes of JSON, points in
#: time, state variables, parameters, numbers in all
MAX_REPORT_BYTES = 64 * 2**20
MAX_TIMES = 10_000
MAX_STATE = 10_000
MAX_PARAMS = 1_000_000
MAX_VALUES = 20_000_000
#: the network figure draws layers of at most this many units (a wider report misses that figure)
MAX_NETWORK_UNITS = 64

#: the figures drawn from one report, in order
REPORT_FIGURES = ("network", "theorem3_states", "theorem3_params", "truncation", "beta_bias")


class CheckedReport(dict):
    """A report's dictionary after :func:`check_report`: numbers as floats, shapes consistent.

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


def as_dict(report):
    """A Report or its JSON dictionary, as a :class:`CheckedReport` (see :func:`check_report`)."""
    return check_report(report)


def load_report(path):
    """Read and check a saved report (``eqprop verify --json FILE``); see :func:`check_report`."""
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise EqpropError(f"report: expected the path of a JSON file (a string), got {_kind(path)}")
    if not os.fspath(path).strip():  # Path('') is the current folder
        raise EqpropError("report: the file name is empty; give the JSON file written by eqprop "
                          "verify --json FILE")
    path = Path(path)
    source = f"report {str(path)!r}"
    if "\x00" in str(path):
        raise EqpropError(f"{source}: the file name contains a NUL character")
    try:
        try:
            path.stat()  # not path.exists(): it says False for a symbolic link loop too
        except FileNotFoundError:
            what = ("a symbolic link to a missing file" if path.is_symlink() else "no such file")
            raise EqpropError(f"{source}: {what}; give a file written by eqprop verify --json "
                              "FILE") from None
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
        text = raw.decode("utf-8-sig")  # a byte order mark is not part of the text
    except UnicodeDecodeError as exc:
        raise EqpropError(f"{source} is not UTF-8 text (byte {exc.start}); give the JSON file "
                          "written by eqprop verify --json") from None
    try:
        d = json.loads(text, parse_int=_integer, parse_float=_float(source),
                       object_pairs_hook=_object(source))
    except EqpropError:
        raise
    except RecursionError:
        raise EqpropError(f"{source}: JSON nested too deeply to be a report") from None
    except ValueError as exc:
        why = " ".join(str(exc).split())[:160]
        raise EqpropError(f"{source} is not valid JSON ({why}); give the file written by "
                          "eqprop verify --json") from None
    return check_report(d, source)


def _object(source):
    """A JSON object as a dict, refusing a key given twice (json keeps the last silently)."""
    def build(pairs):
        d = dict(pairs)
        if len(d) != len(pairs):
            seen = set()
            key = next(k for k, _ in pairs if k in seen or seen.add(k))
            raise EqpropError(f"{source}: the key {_short(key, 40)} is given twice in one object; "
                              "a report has each key once")
        return d
    return build


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


def _unknown_keys(d, where, known):
    """A note for each key of ``d`` not in ``known``, with the nearest known one."""
    notes = []
    for key in d:
        if key not in known:
            near = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            notes.append(f"{where}unknown key {_short(key, 40)}{hint} ignored")
    return notes


def _integer(text):
    """A JSON integer; one too long for Python's conversion limit (4,300 digits) is read as a
    float, infinite, which is then refused as not finite, like 1e400."""
    return int(text) if len(text) <= 400 else float(text)


def _float(source):
    """A JSON float; one that float64 reads as 0 (1e-400: a time of the grid) is refused."""
    def read(text):
        x = float(text)
        if x == 0 and nonzero_text(text):
            raise EqpropError(f"{source}: the number {text[:40]} is below float64's smallest "
                              "number and would be read as 0; a report's numbers are far larger")
        return x
    return read


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
    d.series_text = {}
    count = [0]

    def fail(where, what):
        raise EqpropError(f"{source}: {where} {what}")

    def num(v, where):
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            fail(where, f"should be a number, not {_kind(v)}")
        if isinstance(v, str) and not _NUMBER_TEXT.fullmatch(v):
            fail(where, f"should be a number in ASCII digits, not {_short(v)}")
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
        if isinstance(v, str) and x == 0 and nonzero_text(v):
            fail(where, f"is {_short(v)}, below float64's smallest number: it would be read as 0")
        if not math.isfinite(x):
            fail(where, f"is not finite ({_short(v)}); a report holds finite numbers")
        if abs(x) > MAX_MAGNITUDE:
            fail(where, f"is {x:.3g}, beyond {MAX_MAGNITUDE:g} in absolute value; a report's numbers "
                        "are far smaller")
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
    for i, p in enumerate(params):
        if p["value"] is not None:  # checked, kept as written ("3/10" stays exact)
            num(p["value"], f"'params'[{i}].'value'")
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
        if times and min(times) < 0:
            fail("'times'", f"has a negative time ({min(times):g}); times start at 0")
        if any(b <= a for a, b in zip(times, times[1:])):
            k = next(i for i, (a, b) in enumerate(zip(times, times[1:])) if b <= a)
            fail("'times'", f"should increase strictly, but {times[k]:g} is followed by "
                            f"{times[k + 1]:g}")
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
            if key in ("s_bar", "s_tilde"):  # checked above, number by number
                d.series_text[key] = [[v.strip() if isinstance(v, str) else repr(float(v))
                                       for v in row] for row in rows]
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
            for k in ("one_sided", "symmetric"):
                if any(v < 0 for v in bias[k]):
                    fail(f"'bias'.'{k}'", f"has a negative error ({min(bias[k]):g}); the errors are "
                                          "magnitudes, >= 0")

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
    d.notes = _unknown_keys(report, "", KNOWN_KEYS) \
        + _unknown_keys(ser, "'series': ", SERIES_KEYS) + _unknown_keys(bias or {}, "'bias': ", BIAS_KEYS)
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


def param_names(report):
    """The parameter names in the model's declared order (the order of every per-parameter vector).

    ``params`` is a list of ``{"name": ..., "value": ...}`` (or of ``(name,
    value)`` pairs); reports of older eqprop versions hold a dict, taken in
    its key order.
    """
    return [p["name"] for p in as_dict(report)["params"]]
