"""What ``eqprop estimators`` reports: each estimator's errors over its parameter, the rows,
the radius of beta -> s^beta, and a verdict (:func:`.estimators.estimators`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath

from .report import Verdict

__all__ = ["Series", "EstimatorReport"]


@dataclass(frozen=True)
class Series:
    """One estimator over its parameter: ``(parameter, estimate, Errors)`` triples; ``row``:
    the id of the row that reads it (``EST.N4``, ``EST.break``, ...; None: no row);
    ``fixed``: what it holds fixed, by name (``{"N": 32, "R": ...}``)."""

    name: str
    parameter: str
    points: list
    row: str | None = None
    fixed: dict = field(default_factory=dict)

    def lines(self, fmt=mpmath.nstr):
        """The series as a table, each number written by ``fmt(x, digits)``."""
        out = ["", f"{self.name} ({self.parameter}):",
               f"  {self.parameter:>10} {'max |error|':>12} {'relative':>10} {'1 - cosine':>11} "
               f"{'angle':>9} {'RMSE':>10}"]
        for x, _, e in self.points:
            out.append(f"  {fmt(x, 4):>10} {fmt(e.absolute, 3):>12} {fmt(e.relative, 3):>10} "
                       f"{fmt(1 - e.cosine, 3):>11} {fmt(e.angle, 3):>8}d {fmt(e.rmse, 3):>10}")
        return out

    def to_dict(self):
        return {"name": self.name, "parameter": self.parameter, "row": self.row,
                "fixed": {k: mpmath.nstr(v, 8) for k, v in self.fixed.items()},
                "points": [{"value": mpmath.nstr(x, 6), **e.to_dict()} for x, _, e in self.points]}


@dataclass(frozen=True)
class EstimatorReport:
    """What :func:`estimators` found: the exact gradient, each estimator's errors, the rows."""

    model: str
    dps: int
    exact: list
    series: list
    checks: list
    assumptions: list
    verdict: Verdict
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    radius: object = None   # ep_estimators.Radius: beta -> s^beta's radius (complex nudges)

    @property
    def exit_code(self):
        return self.verdict.exit_code

    def _radius_dict(self):
        r = self.radius
        if r is None:
            return None
        z = r.singularity
        return {"value": mpmath.nstr(r.value, 8), "circle": mpmath.nstr(r.rho, 6),
                "coefficients": [mpmath.nstr(c, 4) for c in r.coefficients],
                "tried": [{"circle": mpmath.nstr(rho, 6), "kept": kept, "points": points}
                          for rho, kept, points in r.tried],
                "singularity": None if z is None else {"re": mpmath.nstr(mpmath.re(z), 8),
                                                       "im": mpmath.nstr(mpmath.im(z), 8)}}

    def to_dict(self):
        return {"model": self.model, "dps": self.dps, "exact": [mpmath.nstr(x, self.dps) for x in self.exact],
                "series": [s.to_dict() for s in self.series],
                "checks": [c.to_dict() for c in self.checks],
                "assumptions": [a.to_dict() for a in self.assumptions],
                "radius": self._radius_dict(), "verdict": self.verdict.short, "notes": self.notes,
                "seconds": round(self.seconds, 3)}

    def table(self):
        """The report as text: per estimator, its errors at each parameter; then the rows."""
        lines = [f"eqprop estimators: {self.model} (dps {self.dps}; {self.seconds:.1f} s)"]
        if self.radius is not None:
            lines.append(f"radius of beta -> s^beta: {mpmath.nstr(self.radius.value, 5)} (from "
                         f"its Taylor coefficients a_0..a_{len(self.radius.coefficients) - 1}, "
                         f"read on |beta| = {mpmath.nstr(self.radius.rho, 3)})")
        lines += [f"  [{a.mark:<4}] {a.id:<20} {a.message}" for a in self.assumptions if not a.holds]
        for s in self.series:
            lines += s.lines()
        lines += ["", "  (against dJ/dtheta; the angle in degrees; RMSE per parameter)", ""]
        for c in self.checks:
            mark = "n/a" if not c.testable else "ok" if c.passed else "FAIL"
            lines.append(f"  {c.id:<10} {mark:<4} {c.limit}")
        lines += ["", f"verdict: {self.verdict.value}"] + [f"note: {n}" for n in self.notes]
        return "\n".join(lines)
