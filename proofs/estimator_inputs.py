"""What ``eqprop estimators`` checks of its input before any work: the numbers of points of
the holomorphic estimators, and an asymmetry study the model can have (each refusal an
:class:`~eqprop.errors.EqpropError` of one line)."""

from __future__ import annotations

import mpmath

from eqprop.errors import EqpropError

from . import ep_estimators as est

__all__ = ["checked_points", "asymmetry_input"]


def checked_points(points):
    """The numbers of points, validated (bad input is an EqpropError, one line)."""
    try:
        out = sorted({int(n) for n in points})
    except (TypeError, ValueError):
        raise EqpropError(f"points: expected whole numbers of points such as 4,8,16,32, got "
                          f"{points!r}") from None
    bad = [n for n in out if not 3 <= n <= est.MAX_POINTS]
    if bad:
        raise EqpropError(f"points: {bad[0]} is outside 3..{est.MAX_POINTS} (N = 1 and 2, the "
                          "one-sided and centered estimators, always run)")
    return tuple(out)


def asymmetry_input(model, name, alpha_max):
    """Refuse (one line) an asymmetry study the model cannot have, before any work."""
    if model.has_energy:
        raise EqpropError("asymmetry: the model is an energy, always a gradient field; write "
                          "its dynamics as a vector_field with the strength as a data value")
    if name not in [s.name for s in model.data]:
        known = ", ".join(s.name for s in model.data) or "none"
        raise EqpropError(f"asymmetry: '{name}' is not a data value of the model (its data: "
                          f"{known}); name the data value that sets the asymmetry (0: a "
                          "gradient field)")
    try:
        value = mpmath.mpf(str(alpha_max))
    except (TypeError, ValueError):
        value = mpmath.nan
    if not (mpmath.isfinite(value) and mpmath.mpf("1e-12") <= value <= 1):
        raise EqpropError(f"alpha_max: expected a number in [1e-12, 1] (three decades below it "
                          f"must stay above the rounding), got {alpha_max!r}")
