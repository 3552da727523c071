"""The options of a verification, validated once for every entry point.

The CLI, a model file's ``[verify]`` table and the Python API all pass
through :func:`resolve`, so a bad value gets the same one-line
:class:`~eqprop.EqpropError` wherever it came from, naming where it came
from and how to fix it.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
import sys
from decimal import Decimal
from dataclasses import dataclass

from eqprop.errors import EqpropError
from eqprop.symbolic.model import VERIFY_KEYS
from eqprop.symbolic.numbers import DECIMAL_OR_NONFINITE

__all__ = ["flag", "Options", "resolve", "finite_number", "check_dps", "ENGINES", "MIN_DPS", "MAX_DPS", "MAX_TIMES", "MAX_TIME"]

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
    parallel: bool = True        # KBE's trajectories may integrate in a forked child process


#: A number given as text, between ASCII spaces; nan and inf are read, then refused as not finite.
_DECIMAL = re.compile(rf"\s*{DECIMAL_OR_NONFINITE}\s*", re.ASCII | re.IGNORECASE)


def flag(value, what):
    """``value`` as a bool, or a one-line :class:`EqpropError`: the text "False" (or "no", or
    0.0) is not read as a truth value, which would be True."""
    if not isinstance(value, bool):
        raise EqpropError(f"{what}: expected True or False, got {type(value).__name__} "
                          f"{_shown(value)}")
    return value


def finite_number(value, what):
    """``value`` as a finite float, or a one-line :class:`EqpropError` naming ``what``.

    A number that float64 cannot hold is refused, never rounded silently: 1e-400 (as text, a
    TOML float, a Fraction, a Decimal or an mpf) would be 0, and 10**400 infinite.
    """
    if isinstance(value, bool):
        raise EqpropError(f"{what}: got a boolean {value!r}; give a number")
    if isinstance(value, complex) or (isinstance(value, numbers.Complex) and
                                      not isinstance(value, numbers.Real)) or \
            type(value).__name__.startswith("complex"):
        raise EqpropError(f"{what}: {_shown(value)} is complex; give a real number")
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise EqpropError(f"{what}: cannot read {_shown(value)} as a number; write a decimal number "
                          "in ASCII digits, such as 0.5 or 1e-3")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    except (TypeError, ValueError):
        raise EqpropError(f"{what}: cannot read {_shown(value)} as a number") from None
    exact = _exact(value)
    if not math.isfinite(x) and exact is not None and exact.is_finite():
        raise EqpropError(f"{what}: {_shown(value)} is beyond the range of float64 (about 1e308)")
    if not math.isfinite(x):
        raise EqpropError(f"{what}: got {_shown(value)}; it must be a finite number")
    if (x == 0 and exact is not None and exact != 0) or 0 < abs(x) < sys.float_info.min:
        raise EqpropError(f"{what}: {_shown(value)} is below float64's smallest normal number "
                          "(about 2.2e-308): it would be read as 0, or with fewer digits; give 0, "
                          "or a number within range")
    return x


_HUGE_EXPONENT = re.compile(r"\s*[+-]?([0-9.]*)[eE]([+-]?[0-9]+)\s*", re.ASCII)


def _exact(value):
    """``value`` as an exact Decimal where it has one (text, ints, Fractions, mpf; other number
    types through their text), else None. An exponent beyond Decimal's range (1e-99999999999)
    becomes 1e-999999 or 1e+999999: far out of float64's range either way."""
    try:
        if isinstance(value, str):
            m = _HUGE_EXPONENT.fullmatch(value)
            if m and abs(int(m.group(2))) > 999_999:
                if not any(c in "123456789" for c in m.group(1)):
                    return Decimal(0)
                return Decimal("1e-999999") if int(m.group(2)) < 0 else Decimal("1e999999")
            return Decimal(value.strip())
        if isinstance(value, Decimal):
            return value
        if isinstance(value, numbers.Rational):
            num, den = int(value.numerator), int(value.denominator)  # gmpy2's mpz too
            return Decimal(num) / Decimal(den) if den != 1 else Decimal(num)
        if type(value).__name__ == "mpf":
            import mpmath
            return Decimal(mpmath.nstr(value, 20)) if mpmath.isfinite(value) else None
        text = str(value).strip()  # numpy's longdouble, SymPy's Float, gmpy2's mpfr and mpq
        if "/" in text:
            from fractions import Fraction
            f = Fraction(text)
            return Decimal(f.numerator) / Decimal(f.denominator)
        return Decimal(text)
    except (ArithmeticError, ValueError, TypeError):
        return None


def _shown(value):
    """A value for a message: a TOML float (a Decimal) as its text, anything else as its repr
    (an integer of thousands of digits by its size: repr would refuse past 4,300)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1000:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_dps(value, what):
    """``value`` as decimal digits of precision, an integer in [MIN_DPS, MAX_DPS]; else a one-line
    :class:`EqpropError` naming ``what`` (an option, or a ``[verify]`` key)."""
    return _integer(value, f"{what} (decimal digits)", MIN_DPS, MAX_DPS)


def _integer(value, what, lo, hi):
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,40}\s*", value, re.ASCII):
        value = int(value)  # text, as times and required_digits take it ('10', not '1_0' or '１０')
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > 30:
        raise EqpropError(f"{what}: {_shown(value)} is outside [{lo}, {hi}]")
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)  # a TOML float such as 15.0, read exactly
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)  # a NumPy integer, np.int64(15), is an integer
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise EqpropError(f"{what}: expected an integer, got {_shown(value)}")
    if not lo <= value <= hi:
        raise EqpropError(f"{what}: {_shown(value)} is outside [{lo}, {hi}]")
    return value


def _times(value, what):
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise EqpropError(f"{what}: expected a list of times such as [0, 1, 5], got "
                          f"{_shown(value)}")
    if isinstance(value, (set, frozenset)):
        raise EqpropError(f"{what}: got a set, which has no order; give a list such as [0, 1, 5]")
    ts = list(itertools.islice(iter(value), MAX_TIMES + 1))  # an endless iterator ends here
    if not ts:
        raise EqpropError(f"{what}: empty; give at least one time > 0, e.g. 0,1,5")
    if len(ts) > MAX_TIMES:
        raise EqpropError(f"{what}: more than {MAX_TIMES} times; at most {MAX_TIMES} are allowed")
    ts = tuple(finite_number(t, what) for t in ts)
    if any(t < 0 for t in ts):
        raise EqpropError(f"{what}: times must be >= 0 (t = 0 is the start of each phase), got "
                          f"{min(ts):g}")
    if any(t > MAX_TIME for t in ts):
        raise EqpropError(f"{what}: {max(ts):.10g} is beyond the largest time {MAX_TIME:g}; the "
                          "error signals have long decayed by then")
    if any(b <= a for a, b in zip(ts, ts[1:])):
        raise EqpropError(f"{what}: times must be strictly increasing, got "
                          f"{', '.join(f'{t:g}' for t in ts)}")
    return ts


def _initial_state(value, what, n, names):
    if isinstance(value, (str, bytes, dict, set, frozenset)) or not hasattr(value, "__iter__"):
        raise EqpropError(f"{what}: expected a list of {n} numbers, got {_shown(value)}")
    vals = list(itertools.islice(iter(value), n + 1))  # an endless iterator ends here
    if len(vals) != n:
        count = (len(value) if hasattr(value, "__len__") else f"more than {n}") if len(vals) > n \
            else len(vals)
        shown = ", ".join(names[:20]) + (", ..." if n > 20 else "")
        raise EqpropError(f"{what}: has {count} values but the state has {n} variables ({shown})")
    out = []
    for v in vals:
        if isinstance(v, complex):
            raise EqpropError(f"{what}: {v!r} is complex; the initial state must be real")
        out.append(finite_number(v, what))
    return tuple(out)


def resolve(model, *, dps=None, times=None, required_digits=None, initial_state=None,
            engine=None, seed=None, time_limit=None, parallel=True) -> Options:
    """Merge the call's options with the model file's ``[verify]`` table and validate them.

    A value given in the call wins over the file's. Raises
    :class:`~eqprop.EqpropError` naming the option (and its source).
    """
    table = dict(model.verify or {})
    unknown = sorted(set(table) - set(KNOWN_KEYS))
    if unknown:
        raise EqpropError(f"[verify]: unknown key '{unknown[0]}'; known keys: {', '.join(KNOWN_KEYS)}")

    def pick(name, value, check=lambda v, where: v):
        """The call's value, else the file's; the file's is checked even when the call's wins
        (a wrong ``[verify] engine = 5`` is not hidden by ``--engine gbs``)."""
        where = f"[verify] {name}"
        mine = None if table.get(name) is None else check(table[name], where)
        if value is not None:
            return check(value, name), name
        return mine, where
    dps, where = pick("dps", dps, check_dps)
    dps = 50 if dps is None else dps
    times, where = pick("times", times, _times)
    req, where = pick("required_digits", required_digits, finite_number)
    if req is None:
        req = dps - 5
    if not 1 <= req <= dps:
        raise EqpropError(f"{where}: {req:.15g} must lie between 1 and dps = {dps}; digits are "
                          "capped at dps, and fewer than 1 would accept anything")
    names = [s.name for s in model.state]
    state, where = pick("initial_state", initial_state,
                        lambda v, w: _initial_state(v, w, len(names), names))

    def known_engine(value, where):
        if not isinstance(value, str) or value not in ENGINES:
            raise EqpropError(f"{where}: unknown engine {_shown(value)}; choose one of "
                              f"{', '.join(ENGINES)}")
        return value
    # None is 'not given': an explicit "auto" or 0 wins over the file's value like any other
    engine, where = pick("engine", engine, known_engine)
    engine = engine or "auto"
    seed, where = pick("seed", seed, lambda v, w: _integer(v, w, 0, 2**63 - 1))
    seed = seed or 0

    def seconds(value, where):
        limit = finite_number(value, f"{where} (seconds)")
        if not 0 < limit <= MAX_TIME_LIMIT:
            raise EqpropError(f"{where} (seconds): {limit:.15g} is outside (0, {MAX_TIME_LIMIT:g}]; "
                              f"the default is {TIME_LIMIT:g}")
        return limit
    limit, where = pick("time_limit", time_limit, seconds)
    limit = TIME_LIMIT if limit is None else limit
    return Options(dps=dps, times=times, required_digits=req, initial_state=state, engine=engine,
                   seed=seed, time_limit=limit, parallel=flag(parallel, "parallel"))
