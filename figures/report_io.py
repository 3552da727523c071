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

import json
import os
from pathlib import Path

from eqprop.errors import EqpropError
from eqprop.symbolic.numbers import nonzero_text

from .report_schema import (MAX_NETWORK_UNITS, REPORT_FIGURES, CheckedReport, Reader, check_bias,
                            check_gradient, check_layers, check_params, check_series, check_state,
                            check_times, kind, missing_figures, short, unknown_key_notes)

__all__ = ["check_report", "load_report", "as_dict", "param_names", "require", "CheckedReport",
           "REPORT_FIGURES", "MAX_NETWORK_UNITS"]

#: the largest saved report read (bytes of JSON); a larger one is refused, not drawn
MAX_REPORT_BYTES = 64 * 2**20


def as_dict(report):
    """A Report or its JSON dictionary, as a :class:`CheckedReport` (see :func:`check_report`)."""
    return check_report(report)


def load_report(path):
    """Read and check a saved report (``eqprop verify --json FILE``); see :func:`check_report`."""
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise EqpropError(f"report: expected the path of a JSON file (a string), got {kind(path)}")
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
            raise EqpropError(f"{source}: the key {short(key, 40)} is given twice in one object; "
                              "a report has each key once")
        return d
    return build


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
    The parts are checked in order by :mod:`eqprop.figures.report_schema`.
    """
    if isinstance(report, CheckedReport):
        return report
    if hasattr(report, "to_dict"):
        report = report.to_dict()
    _check_is_report(report, source)
    d = CheckedReport(report)
    d.series_text = {}
    r = Reader(source)
    has_params = report.get("params") is not None  # without them, per-parameter widths are unknown
    check_state(r, d)
    check_params(r, d)
    check_layers(r, d)
    check_times(r, d)
    check_series(r, d, has_params)
    check_gradient(r, d, has_params)
    check_bias(r, d)
    d.missing = missing_figures(d)
    d.notes = unknown_key_notes(report, d)
    return d


def _check_is_report(report, source):
    """Refuse what is not a report's dictionary: not an object, or without 'model' or 'state'."""
    if not isinstance(report, dict):
        raise EqpropError(f"{source}: expected a JSON object (the report of eqprop verify --json), "
                          f"got {kind(report)}")
    absent = [k for k in ("model", "state") if k not in report]
    if absent:
        has = ", ".join(repr(str(k)[:30]) for k in list(report)[:8]) or "no keys"
        raise EqpropError(f"{source}: not a report of eqprop verify --json (no "
                          f"{' or '.join(map(repr, absent))}; it has {has})")


def _amount(nbytes):
    return f"{nbytes / 2**20:.3g} MiB" if nbytes >= 2**20 else f"{nbytes} bytes"


def require(d, figure):
    """Refuse to draw ``figure`` from a checked report that cannot draw it, with the reason."""
    if figure in d.missing:
        raise EqpropError(f"{figure}: {d.missing[figure]}")


def param_names(report):
    """The parameter names in the model's declared order (the order of every per-parameter vector).

    ``params`` is a list of ``{"name": ..., "value": ...}`` (or of ``(name,
    value)`` pairs); reports of older eqprop versions hold a dict, taken in
    its key order.
    """
    return [p["name"] for p in as_dict(report)["params"]]
