"""Results of a verification: checks, assumptions, verdict, time series.

Numbers stay numbers here (mpmath, at the working precision); they are
formatted only by ``to_dict`` and ``table``.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field

import mpmath

from .outcomes import Outcome

__all__ = ["Verdict", "Check", "Assumption", "Report", "TheoremResult", "VerificationFailed",
           "REQUIRED_ROWS", "fmt"]

#: Every row id a verification must produce before it may say 'verified'.
REQUIRED_ROWS = ("KBE", "T1.S", "T1.Theta", "T1.S.def", "T1.Theta.def", "T1.limit", "IFT.cs",
                 "T2", "T2.bias1", "T2.bias2", "T3.S", "T3.Theta")


class Verdict(enum.Enum):
    """The outcome; its value is the sentence a user reads."""

    VERIFIED = "verified: every identity holds to the required digits"
    NOT_VERIFIED = "not verified: at least one identity fails (see the rows marked FAIL)"
    INCOMPLETE = ("incomplete: no identity failed, but not every identity could be tested "
                  "(see the notes)")
    ASSUMPTION_VIOLATED = ("assumption violated: the theorems' hypotheses do not hold, so "
                           "agreement cannot be called a verification")

    @property
    def short(self):
        return self.value.split(":")[0]

    @property
    def exit_code(self):
        return 0 if self is Verdict.VERIFIED else 1


class VerificationFailed(RuntimeError):
    """Raised by ``verify(..., throw=True)`` when the verdict is not 'verified'.

    Not an :class:`~eqprop.EqpropError`: a failed verification is a result,
    not bad input.
    """


def fmt(x, digits=None):
    """An mpmath number (or nested lists of them) as a decimal string."""
    if isinstance(x, (list, tuple)):
        return [fmt(v, digits) for v in x]
    if x is None:
        return None
    d = digits or mpmath.mp.dps
    if isinstance(x, mpmath.mpc):
        x = x.real
    if not isinstance(x, mpmath.mpf):  # an mpf keeps its own precision; others are read at d
        with mpmath.workdps(d):
            x = mpmath.mpf(x)
    return mpmath.nstr(x, d)


@dataclass(frozen=True)
class Check:
    """One identity at one time: two independently computed sides compared.

    ``digits`` = the fewest agreeing digits over the entries, each entry's
    error measured against the size of the terms it is formed from
    (``scale``), capped at the reported precision. ``kind`` is "identity"
    (digits against ``required``) or "slope" (a fitted convergence order:
    ``digits`` then measure the shortfall of the slope). ``sides`` names the
    route each side took; ``limit`` what bounds the agreement.
    """

    id: str
    equation: str
    t: float | None
    max_abs_error: object
    scale: object
    digits: float
    required: float
    limit: str
    lhs: object = None
    rhs: object = None
    kind: str = "identity"
    sides: tuple = ("", "")
    testable: bool = True   # False: every term of the quantity is zero, nothing to compare

    @property
    def passed(self):
        """Reached the required digits; an untestable row (every term of the quantity is zero,
        or rounding) neither passes nor fails: 'n/a', and the run is incomplete."""
        return not self.testable or self.digits >= self.required

    @property
    def outcome(self):
        """:attr:`~.outcomes.Outcome.FAILED` below the required digits, else ``PASSED`` (an
        untestable row's absence of evidence is judged with the required rows, in verify)."""
        return Outcome.PASSED if self.passed else Outcome.FAILED

    def to_dict(self):
        return {"id": self.id, "equation": self.equation, "t": self.t, "kind": self.kind,
                "max_abs_error": fmt(self.max_abs_error, 6), "scale": fmt(self.scale, 6),
                "digits": round(self.digits, 2), "required_digits": self.required,
                "limit": self.limit, "lhs": fmt(self.lhs, 20), "rhs": fmt(self.rhs, 20),
                "sides": list(self.sides), "testable": self.testable, "passed": self.passed}


@dataclass(frozen=True)
class Assumption:
    """A hypothesis of the theorems, checked on the model."""

    id: str
    holds: bool
    value: str
    message: str
    fatal: bool = True   # a violated fatal assumption forbids the verdict 'verified'
    tool_limit: bool = False  # not a hypothesis of the theorems: a limit of this tool

    @property
    def mark(self):
        """How the report marks it: ``ok``, ``FAIL`` (violated, fatal) or ``note`` (violated,
        reported without being fatal, such as a vector field's asymmetry)."""
        return "ok" if self.holds else ("FAIL" if self.fatal else "note")

    @classmethod
    def limit(cls, id, holds, value, message):
        """A requirement of this tool (not of the theorems): violated, the verdict is 'incomplete'."""
        return cls(id, holds, value, message, fatal=True, tool_limit=True)

    def to_dict(self):
        return {"id": self.id, "holds": self.holds, "value": self.value,
                "message": self.message, "fatal": self.fatal, "tool_limit": self.tool_limit}


@dataclass(frozen=True)
class Report:
    """What :func:`eqprop.verify` found. ``verdict.value`` is the message to read.

    ``params`` is a list of ``(name, value)`` in the model's declared order,
    the order of every per-parameter vector (``dJ_dtheta``, ``theta_bar``).
    """

    model: str
    dps: int
    working_dps: int
    state: list
    params: list
    s_free: list
    hessian_min_eigenvalue: object
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
    def param_names(self):
        return [name for name, _ in self.params]

    @property
    def min_digits(self):
        """Fewest digits among the identity rows (slope rows have their own scale)."""
        return min((c.digits for c in self.checks if c.kind == "identity" and c.testable),
                   default=0.0)

    def to_dict(self):
        d = self.working_dps
        return {
            "model": self.model, "kind": self.kind, "dps": self.dps, "working_dps": self.working_dps,
            "engine": self.engine, "state": self.state,
            "params": [{"name": k, "value": str(v)} for k, v in self.params],
            "s_free": fmt(self.s_free, d), "hessian_min_eigenvalue": fmt(self.hessian_min_eigenvalue, d),
            "dJ_dtheta": {k: fmt(v, d) for k, v in self.dJ_dtheta.items()}, "times": self.times,
            "series": {k: fmt(v, d) for k, v in self.series.items()},
            "checks": [c.to_dict() for c in self.checks],
            "assumptions": [a.to_dict() for a in self.assumptions],
            "verdict": self.verdict.short, "verdict_message": self.verdict.value,
            "notes": self.notes, "seconds": round(self.seconds, 3), "bias": self.bias,
            "layers": self.layers,
        }

    def to_json(self, **kwargs):
        return json.dumps(self.to_dict(), sort_keys=True, indent=kwargs.pop("indent", 1), **kwargs)

    def _values(self, shown=8):
        """s0 and dJ/dtheta: every entry for small models, the largest ones for large models."""
        lines = []
        grad = self.dJ_dtheta.get("implicit") if self.dJ_dtheta else None
        for title, names, values in (("free fixed point s0", self.state, self.s_free),
                                     ("dJ/dtheta (implicit function theorem)", self.param_names,
                                      grad)):
            if not values:
                continue
            pairs = list(zip(names, values))
            if len(pairs) > shown:
                pairs = sorted(pairs, key=lambda nv: -abs(mpmath.mpf(nv[1])))[:shown]
                title += f", the {shown} largest of {len(values)} in magnitude"
            digits = min(self.dps, 12)
            lines += ["", f"{title}:"]
            lines += [f"  {name:<12} {mpmath.nstr(mpmath.mpf(v), digits)}" for name, v in pairs]
        return lines

    def table(self):
        """The report as text: assumptions, s0 and dJ/dtheta, one row per check, the sides,
        the verdict."""
        lines = [f"eqprop verify: {self.model}",
                 f"  {len(self.state)} state variables, {len(self.params)} parameters; "
                 f"reported at {self.dps} digits, computed at {self.working_dps} "
                 f"({self.engine} integrator); {self.seconds:.1f} s", "",
                 "assumptions:"]
        for a in self.assumptions:
            lines.append(f"  [{a.mark:<4}] {a.id:<20} {a.value:<12} {a.message}")
        lines += self._values()
        lines += ["", f"  {'check':<12} {'paper':<9} {'t':>8} {'max |error|':>12} "
                      f"{'digits':>7}  {'':4}  limited by"]
        for c in self.checks:
            t = "" if c.t is None else f"{c.t:.4g}"
            err = mpmath.nstr(mpmath.mpf(c.max_abs_error), 3) if c.max_abs_error else "0"
            mark = "n/a" if not c.testable else "ok" if c.passed else "FAIL"
            value = f"{c.digits:>7.1f}" if c.kind == "identity" else f"{'slope':>7}"
            lines.append(f"  {c.id:<12} {c.equation:<9} {t:>8} {err:>12} {value}  "
                         f"{mark:<4}  {c.limit}")
        if self.checks:
            required = next((c.required for c in self.checks if c.kind == "identity"), 0)
            lines.append(f"\n  fewest digits of agreement: {self.min_digits:.1f} "
                         f"(required: {required:g}); slope rows: fitted orders of the "
                         "finite-beta bias, at least 1 and 2 to within 10% (their max |error| "
                         "is how far the fitted order falls short)")
            lines += ["", "sides compared (left / right):"]
            seen = set()
            for c in self.checks:
                if c.id not in seen and any(c.sides):
                    seen.add(c.id)
                    lines.append(f"  {c.id:<12} {c.sides[0]}")
                    lines.append(f"  {'':<12} {c.sides[1]}")
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
    #: ``(row ids, why)`` of rows whose sides could not be computed (a Newton that did not
    #: converge, say): they are missing, which makes the verdict incomplete
    missing: list = field(default_factory=list)
