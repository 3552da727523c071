"""Results of a verification: checks, assumptions, verdict, time series."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field

import mpmath

from eqprop.errors import EqpropError

__all__ = ["Verdict", "Check", "Assumption", "Report", "TheoremResult", "VerificationFailed", "fmt"]


class Verdict(enum.Enum):
    """The outcome; its value is the sentence a user reads."""

    VERIFIED = "verified: every identity holds to the required digits"
    NOT_VERIFIED = "not verified: at least one identity fails (see the rows marked FAIL)"
    ASSUMPTION_VIOLATED = ("assumption violated: the theorems' hypotheses do not hold, so "
                           "agreement cannot be called a verification")

    @property
    def short(self):
        return self.value.split(":")[0]

    @property
    def exit_code(self):
        return 0 if self is Verdict.VERIFIED else 1


class VerificationFailed(EqpropError):
    """Raised by ``verify(..., throw=True)`` when the verdict is not 'verified'."""


def fmt(x, digits=None):
    """An mpmath number as a decimal string with every working digit (or ``digits``)."""
    if isinstance(x, (list, tuple)):
        return [fmt(v, digits) for v in x]
    d = digits or mpmath.mp.dps
    if isinstance(x, mpmath.mpc):
        x = x.real
    return mpmath.nstr(mpmath.mpf(x), d)


@dataclass(frozen=True)
class Check:
    """One identity at one time: two independently computed sides compared.

    ``digits`` = -log10(max_abs_error / scale), capped at the reported
    precision; ``limit`` names what bounds the agreement.
    """

    id: str
    equation: str
    t: float | None
    max_abs_error: str
    scale: str
    digits: float
    required: float
    limit: str
    lhs: str
    rhs: str

    @property
    def passed(self):
        return self.digits >= self.required

    def to_dict(self):
        return {"id": self.id, "equation": self.equation, "t": self.t,
                "max_abs_error": self.max_abs_error, "scale": self.scale,
                "digits": round(self.digits, 2), "required_digits": self.required,
                "limit": self.limit, "lhs": self.lhs, "rhs": self.rhs, "passed": self.passed}


@dataclass(frozen=True)
class Assumption:
    """A hypothesis of the theorems, checked on the model."""

    id: str
    holds: bool
    value: str
    message: str
    fatal: bool = True   # a violated fatal assumption forbids the verdict 'verified'

    def to_dict(self):
        return {"id": self.id, "holds": self.holds, "value": self.value,
                "message": self.message, "fatal": self.fatal}


@dataclass(frozen=True)
class Report:
    """What :func:`eqprop.verify` found. ``verdict.value`` is the message to read."""

    model: str
    dps: int
    working_dps: int
    state: list
    params: dict
    s_free: list
    hessian_min_eigenvalue: str
    dJ_dtheta: dict
    times: list
    series: dict
    checks: list
    assumptions: list
    verdict: Verdict
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    engine: str = "gbs"
    kind: str = "energy"
    bias: dict = field(default_factory=dict)
    layers: list | None = None

    @property
    def exit_code(self):
        return self.verdict.exit_code

    @property
    def min_digits(self):
        """Fewest digits among the identity rows (the bias-slope rows have their own scale)."""
        return min((c.digits for c in self.checks if "bias" not in c.id), default=0.0)

    def to_dict(self):
        return {
            "model": self.model, "kind": self.kind, "dps": self.dps, "working_dps": self.working_dps,
            "engine": self.engine, "state": self.state, "params": self.params,
            "s_free": self.s_free, "hessian_min_eigenvalue": self.hessian_min_eigenvalue,
            "dJ_dtheta": self.dJ_dtheta, "times": self.times, "series": self.series,
            "checks": [c.to_dict() for c in self.checks],
            "assumptions": [a.to_dict() for a in self.assumptions],
            "verdict": self.verdict.short, "verdict_message": self.verdict.value,
            "notes": self.notes, "seconds": round(self.seconds, 3), "bias": self.bias,
            "layers": self.layers,
        }

    def to_json(self, **kwargs):
        return json.dumps(self.to_dict(), sort_keys=True, indent=kwargs.pop("indent", 1), **kwargs)

    def table(self):
        """The report as text: assumptions, one row per check, the verdict."""
        lines = [f"eqprop verify: {self.model}",
                 f"  {len(self.state)} state variables, {len(self.params)} parameters; "
                 f"reported at {self.dps} digits, computed at {self.working_dps} "
                 f"({self.engine} integrator); {self.seconds:.1f} s", "",
                 "assumptions:"]
        for a in self.assumptions:
            mark = "ok  " if a.holds else ("FAIL" if a.fatal else "note")
            lines.append(f"  [{mark}] {a.id:<20} {a.value:<12} {a.message}")
        lines += ["", f"  {'check':<12} {'paper':<9} {'t':>8} {'max |error|':>12} "
                      f"{'digits':>7}  {'':4}  limited by"]
        for c in self.checks:
            t = "" if c.t is None else f"{c.t:.4g}"
            err = mpmath.nstr(mpmath.mpf(c.max_abs_error), 3) if c.max_abs_error != "0" else "0"
            mark = "ok" if c.passed else "FAIL"
            lines.append(f"  {c.id:<12} {c.equation:<9} {t:>8} {err:>12} {c.digits:>7.1f}  "
                         f"{mark:<4}  {c.limit}")
        if self.checks:
            lines.append(f"\n  fewest digits of agreement: {self.min_digits:.1f} "
                         f"(required: {self.checks[0].required:g}; bias rows: fitted slopes "
                         "of at least 1 and 2, to 10%)")
        for note in self.notes:
            lines.append(f"  note: {note}")
        lines += ["", f"verdict: {self.verdict.value}"]
        return "\n".join(lines)


@dataclass(frozen=True)
class TheoremResult:
    """What one theorem module's ``check`` returns: rows, series, extras."""

    checks: list
    series: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
