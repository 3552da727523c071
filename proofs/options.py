"""The options of a verification, validated once for every entry point.

The CLI, a model file's ``[verify]`` table and the Python API all pass
through :func:`resolve`, so a bad value gets the same one-line
:class:`~eqprop.EqpropError` wherever it came from, naming where it came
from and how to fix it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from eqprop.errors import EqpropError
from eqprop.symbolic.model import VERIFY_KEYS

__all__ = ["Options", "resolve", "finite_number", "ENGINES", "MIN_DPS", "MAX_DPS", "MAX_TIMES", "MAX_TIME"]

#: Integrators for the high-precision path: "gbs" (built in, adaptive
#: Gragg-Bulirsch-Stoer), "heyoka" (optional Taylor integrator, eqprop[heyoka]);
#: "auto" takes heyoka when it is installed and can compile the model.
ENGINES = ("auto", "gbs", "heyoka")
MIN_DPS, MAX_DPS = 8, 120
#: Most points in a time grid, and the largest time.
MAX_TIMES, MAX_TIME = 200, 1e6
#: Default and largest wall-time budget of one run, in seconds.
TIME_LIMIT, MAX_TIME_LIMIT = 600.0, 86400.0
#: What a [verify] table may hold: the one list, kept on the symbolic side (model files check it too).
KNOWN_KEYS = VERIFY_KEYS


@dataclass(frozen=True)
class Options:
    """Validated options (see :func:`eqprop.verify` for their meaning)."""

    dps: int
    times: tuple | None          # None: the default grid, chosen from the model's dynamics
    required_digits: float
    initial_state: tuple | None  # None: zeros
    engine: str
    seed: int
    time_limit: float = TIME_LIMIT  # seconds of wall time for the whole run


def finite_number(value, what):
    """``value`` as a finite float, or a one-line :class:`EqpropError` naming ``what``."""
    if isinstance(value, bool):
        raise EqpropError(f"{what}: got a boolean {value!r}; give a number")
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise EqpropError(f"{what}: cannot read {value!r} as a number") from None
    if not math.isfinite(x):
        raise EqpropError(f"{what}: got {value!r}; it must be a finite number")
    return x


def _integer(value, what, lo, hi):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)  # a NumPy integer, np.int64(15), is an integer
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise EqpropError(f"{what}: expected an integer, got {value!r}")
    if not lo <= value <= hi:
        raise EqpropError(f"{what}: {value} is outside [{lo}, {hi}]")
    return value


def _times(value, what):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise EqpropError(f"{what}: expected a list of times such as [0, 1, 5], got {value!r}")
    ts = list(value)
    if not ts:
        raise EqpropError(f"{what}: empty; give at least one time > 0, e.g. 0,1,5")
    if len(ts) > MAX_TIMES:
        raise EqpropError(f"{what}: {len(ts)} times; at most {MAX_TIMES} are allowed")
    ts = tuple(finite_number(t, what) for t in ts)
    if any(t < 0 for t in ts):
        raise EqpropError(f"{what}: times must be >= 0 (t = 0 is the start of each phase), got "
                          f"{min(ts):g}")
    if any(t > MAX_TIME for t in ts):
        raise EqpropError(f"{what}: {max(ts):g} is beyond the largest time {MAX_TIME:g}; the "
                          "error signals have long decayed by then")
    if any(b <= a for a, b in zip(ts, ts[1:])):
        raise EqpropError(f"{what}: times must be strictly increasing, got "
                          f"{', '.join(f'{t:g}' for t in ts)}")
    return ts


def _initial_state(value, what, n, names):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise EqpropError(f"{what}: expected a list of {n} numbers, got {value!r}")
    vals = list(value)
    if len(vals) != n:
        raise EqpropError(f"{what}: has {len(vals)} values but the state has {n} variables "
                          f"({', '.join(names)})")
    out = []
    for v in vals:
        if isinstance(v, complex):
            raise EqpropError(f"{what}: {v!r} is complex; the initial state must be real")
        out.append(finite_number(v, what))
    return tuple(out)


def resolve(model, *, dps=None, times=None, required_digits=None, initial_state=None,
            engine="auto", seed=0, time_limit=None) -> Options:
    """Merge the call's options with the model file's ``[verify]`` table and validate them.

    A value given in the call wins over the file's. Raises
    :class:`~eqprop.EqpropError` naming the option (and its source).
    """
    table = dict(model.verify or {})
    unknown = sorted(set(table) - set(KNOWN_KEYS))
    if unknown:
        raise EqpropError(f"[verify]: unknown key '{unknown[0]}'; known keys: {', '.join(KNOWN_KEYS)}")

    def pick(name, value):
        if value is not None:
            return value, name
        return table.get(name), f"[verify] {name}"
    dps, where = pick("dps", dps)
    dps = _integer(50 if dps is None else dps, f"{where} (decimal digits)", MIN_DPS, MAX_DPS)
    times, where = pick("times", times)
    times = None if times is None else _times(times, where)
    req, where = pick("required_digits", required_digits)
    if req is None:
        req = dps - 5
    req = finite_number(req, where)
    if not 1 <= req <= dps:
        raise EqpropError(f"{where}: {req:g} must lie between 1 and dps = {dps}; digits are "
                          "capped at dps, and fewer than 1 would accept anything")
    state, where = pick("initial_state", initial_state)
    names = [s.name for s in model.state]
    state = None if state is None else _initial_state(state, where, len(names), names)
    engine, where = pick("engine", None if engine == "auto" else engine)
    engine = engine or "auto"
    if engine not in ENGINES:
        raise EqpropError(f"{where}: unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    seed, where = pick("seed", None if seed == 0 else seed)
    seed = _integer(seed or 0, where, 0, 2**63 - 1)
    limit, where = pick("time_limit", time_limit)
    limit = TIME_LIMIT if limit is None else finite_number(limit, f"{where} (seconds)")
    if not 0 < limit <= MAX_TIME_LIMIT:
        raise EqpropError(f"{where} (seconds): {limit:g} is outside (0, {MAX_TIME_LIMIT:g}]; "
                          f"the default is {TIME_LIMIT:g}")
    return Options(dps=dps, times=times, required_digits=req, initial_state=state, engine=engine,
                   seed=seed, time_limit=limit)
