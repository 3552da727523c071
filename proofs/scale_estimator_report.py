"""What ``eqprop scale --estimators`` reports: per estimator its errors over its parameter,
the rows, the radius of beta -> s^beta per example, the hypotheses, and a verdict computed
from typed findings (:mod:`.outcomes`)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from .outcomes import Finding, Outcome, worst
from .scale_hypotheses import hypothesis_findings, hypothesis_lines
from .scale_report import json_safe

__all__ = ["ScaleEstimatorReport", "AsymmetryReport"]


def _advice(failed, hyp):
    return ("another --seed or --init random (a saddle), a smaller --eps (an unstable step); the "
            "estimators are measured all the same")


@dataclass(frozen=True)
class ScaleEstimatorReport:
    """What :func:`~.scale_estimators.scale_estimators` found. ``solved``: nudged fixed
    points solved (each a batched Newton solve, about a free phase's cost or less)."""

    model: str
    dims: dict
    batch: int
    data: str
    eps: float
    n_state: int
    n_params: int
    series: list
    checks: list
    radius: object
    hypotheses: dict
    solved: int = 0
    seconds: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def findings(self):
        """Hypotheses, failed rows, and rows that could not be decided (MISSING)."""
        out = hypothesis_findings(self.hypotheses)
        out += [Finding(Outcome.FAILED, c.id) for c in self.checks if c.testable and not c.passed]
        out += [Finding(Outcome.MISSING, f"{c.id}: {c.limit}") for c in self.checks
                if not c.testable]
        return out

    @property
    def verdict(self):
        decisive = worst(self.findings)
        if decisive is None:
            return "every row holds"
        if decisive.outcome == Outcome.MISSING:
            return "incomplete: " + "; ".join(f.reason for f in self.findings
                                              if f.outcome == Outcome.MISSING)
        return "NOT passed: " + "; ".join(f.reason for f in self.findings
                                          if f.outcome > Outcome.MISSING)

    @property
    def passed(self):
        return worst(self.findings) is None

    @property
    def exit_code(self):
        return 0 if self.passed else 1

    def to_dict(self):
        return {"model": self.model, "dims": self.dims, "batch": self.batch, "data": self.data,
                "eps": self.eps, "n_state": self.n_state, "n_params": self.n_params,
                "series": [s.to_dict() for s in self.series],
                "checks": [c.to_dict() for c in self.checks],
                "radius": self.radius.to_dict() if self.radius is not None else None,
                "hypotheses": {"checks": self.hypotheses.get("checks", [])},
                "solved": self.solved, "verdict": self.verdict, "passed": self.passed,
                "notes": self.notes, "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}

    def to_json(self):
        return json.dumps(json_safe(self.to_dict()), indent=1, sort_keys=True, allow_nan=False)

    def table(self):
        """The report as text: the radius, per estimator its errors, the rows, the verdict."""
        sizes = ", ".join(f"{k} = {v}" for k, v in self.dims.items())
        lines = [f"eqprop scale --estimators: {self.model} ({sizes}; {self.n_state} states, "
                 f"{self.n_params} parameters), batch {self.batch}, float64; "
                 f"{self.seconds.get('total', 0):.1f} s, {self.solved} nudged fixed points"]
        if self.hypotheses:
            lines += hypothesis_lines(self.hypotheses, _advice)
        if self.radius is not None:
            r = self.radius.to_dict()
            if r["value"] is not None and math.isfinite(r["value"]):
                where = complex(r["singularity"]["re"], r["singularity"]["im"])
                lines.append(f"radius of beta -> s^beta: {r['value']:.5g} (example {r['example']}, "
                             f"singularity near beta = {where.real:.4g} +- {abs(where.imag):.4g}i;"
                             f" median over {r['finite']} examples {r['median']:.4g})")
            else:
                lines.append("radius of beta -> s^beta: no singularity within reach of the "
                             "circles tried")
        for s in self.series:
            lines += s.lines(lambda x, digits: f"{x:.{digits}g}")
        lines += ["", "  (against dJ/dtheta, the implicit gradient; the angle in degrees; RMSE "
                      "per parameter entry)", ""]
        for c in self.checks:
            mark = "n/a" if not c.testable else "ok" if c.passed else "FAIL"
            lines.append(f"  {c.id:<10} {mark:<4} {c.limit}")
        lines += ["", f"verdict: {self.verdict}"] + [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class AsymmetryReport:
    """What ``eqprop scale --estimators --asymmetry ALPHA`` reports: EP's gradient against
    the true one at each strength (:class:`~.scale_asymmetry.AsymmetryAtScale`), the rows
    ASYM.order and ASYM.first, and a verdict from them."""

    study: object
    checks: list
    seconds: float = 0.0

    @property
    def findings(self):
        return [Finding(Outcome.FAILED, c.id) for c in self.checks if c.testable and not c.passed] \
            + [Finding(Outcome.MISSING, f"{c.id}: {c.limit}") for c in self.checks
               if not c.testable]

    verdict = ScaleEstimatorReport.verdict
    passed = ScaleEstimatorReport.passed
    exit_code = ScaleEstimatorReport.exit_code

    def to_dict(self):
        gaps = [g.to_dict() for g in self.study.gaps]
        series = [{"name": "EP against the true gradient, backward weights W^T + alpha A",
                   "parameter": "alpha", "row": "ASYM.order", "fixed": {},
                   "points": [{"value": g["alpha"], **g} for g in gaps]}]
        return {"asymmetry": self.study.to_dict(), "checks": [c.to_dict() for c in self.checks],
                "series": series, "verdict": self.verdict, "passed": self.passed,
                "seconds": round(self.seconds, 3)}

    def to_json(self):
        return json.dumps(json_safe(self.to_dict()), indent=1, sort_keys=True, allow_nan=False)

    def table(self):
        a = self.study
        lines = [f"eqprop scale --estimators --asymmetry {a.alpha_max:g}: layered "
                 f"{'-'.join(str(n) for n in a.layers)}, batch {a.batch}, float64; "
                 f"{self.seconds:.1f} s",
                 "EP's gradient against the true one (RBP with the transposed Jacobian), the "
                 "backward weights W^T + alpha A:",
                 f"  {'alpha':>10} {'relative':>10} {'angle':>10} {'RMSE':>10} {'max |gap|':>10}"]
        for g in a.gaps:
            lines.append(f"  {g.alpha:>10.3g} {g.relative:>10.3g} {g.angle:>9.3g}d {g.rmse:>10.3g}"
                         f" {g.absolute:>10.3g}")
        lines += ["", "  (the angle in degrees; RMSE per parameter entry)", ""]
        for c in self.checks:
            mark = "n/a" if not c.testable else "ok" if c.passed else "FAIL"
            agree = f" ({c.digits:.1f} digits)" if c.kind == "identity" else ""
            lines.append(f"  {c.id:<10} {mark:<4} {c.limit}{agree}")
        return "\n".join(lines + ["", f"verdict: {self.verdict}"])
