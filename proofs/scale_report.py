"""The report of :func:`eqprop.proofs.scale.scale`: what passed, what did not, and why.

:class:`ScaleReport` passes only if every hypothesis held for every example
(:mod:`eqprop.proofs.scale_hypotheses`), every number it holds is finite,
every complex-step row is within 1e-12, the EP and RBP limits are within
1e-10 of the implicit-function gradient, and (with ``--continuous``) every
continuous row is within 1e-9. Each criterion is a typed
:class:`~eqprop.proofs.outcomes.Finding` (:attr:`ScaleReport.findings`): a
failed one outranks a comparison that had nothing to compare (MISSING:
'incomplete'), and the verdict is the worst outcome, never read from the
text; :attr:`ScaleReport.failures` and :attr:`ScaleReport.incomplete` are
their sentences. A NaN never passes a comparison.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from .outcomes import Finding, Outcome, worst
from .scale_hypotheses import hypothesis_findings, hypothesis_lines

__all__ = ["ScaleReport", "ROW_TOL", "LIMIT_TOL", "CONTINUOUS_TOL", "json_safe"]

#: complex-step rows (Ernoult et al.'s normalized error), the gradient limits, continuous rows
ROW_TOL, LIMIT_TOL, CONTINUOUS_TOL = 1e-12, 1e-10, 1e-9

#: what a run reports when nothing at all was compared, or when the model learns nothing
NOTHING_TO_COMPARE = ("nothing to compare: every row and dJ/dtheta are exactly zero at s0 (a cost "
                      "that does not depend on the state, or no parameter that reaches it); change "
                      "the cost, the data or the target")
NO_PARAMETERS = ("the model has no parameters: dJ/dtheta, what EP and RBP compute, has nothing to "
                 "compare; declare the learned arrays in [params]")


def _numbers(obj):
    """Every number inside a nested structure of dicts and lists."""
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj


def _within(value, tol):
    """value <= tol for a finite value; False for NaN, infinity or a missing value."""
    return value is not None and math.isfinite(value) and value <= tol


def json_safe(obj):
    """Non-finite floats as null, so that the file is strict JSON (the table shows them)."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _rate(rho):
    """RBP's contraction factor, legible near 1 (``1 - 1.2e-04``, not ``1``)."""
    return f"1 - {1 - rho:.1e}" if 0.99 < rho < 1 else f"{rho:.3g}"


def advice(failed, hyp):
    """What to try when hypotheses fail."""
    tips = []
    if "stable step" in failed and hyp.get("largest_stable_eps"):
        tips.append(f"an --eps below {hyp['largest_stable_eps']:.3g} (the largest stable step)")
    if "strict minimum" in failed:
        tips.append("another --seed, --init random or a smaller --eps (the free phase then "
                    "finds another fixed point)")
    if "fixed point" in failed:
        tips.append("another --seed or --init random")
    if "gradient field" in failed:
        tips.append("no --asymmetry: a non-gradient vector field is outside Theorem 3")
    return "; ".join(tips) or "see the values above"


@dataclass(frozen=True)
class ScaleReport:
    """Per-block agreement of EP and RBP at realistic size; ``table()`` to read it.

    ``layers`` is the layer sizes of a layered network (None for another
    array model); ``model``, ``dims``, ``n_state`` and ``n_params`` say what
    was checked, ``backend`` on which arrays.
    """

    layers: list
    batch: int
    data: str
    eps: float
    steps: int
    h: float
    beta: float
    residual: float
    rows: list
    gradient: dict
    continuous: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    hypotheses: dict = field(default_factory=dict)
    init: str = "zeros"
    model: str = ""
    dims: dict = field(default_factory=dict)
    n_state: int = 0
    n_params: int = 0
    backend: str = "numpy"

    @property
    def worst_complex(self):
        """The largest complex-step row; NaN if any row is NaN (never hidden by max())."""
        values = [r["complex_step"] for r in self.rows]
        return math.nan if any(not math.isfinite(v) for v in values) else max(values, default=0.0)

    @property
    def findings(self):
        """Every criterion that failed and every comparison that had nothing to compare, as
        typed :class:`~eqprop.proofs.outcomes.Finding` values, in the order the report lists
        them; empty when the check passed. The verdict is their worst outcome."""
        return (hypothesis_findings(self.hypotheses) + self._row_findings()
                + self._finite_findings() + self._missing_findings())

    @property
    def failures(self):
        """Every criterion that failed, in words; empty when the check passed."""
        return [f.reason for f in self.findings if f.outcome > Outcome.MISSING]

    @property
    def incomplete(self):
        """What compared nothing (both sides exactly zero); empty when every comparison had content.

        Agreement of zero with zero is not a check, so such a run does not pass
        (``eqprop verify`` says "incomplete" for the same reason).
        """
        return [f.reason for f in self.findings if f.outcome == Outcome.MISSING]

    @property
    def passed(self):
        return worst(self.findings) is None

    def _row_findings(self):
        """The complex-step rows (5.4, 5.5) within ROW_TOL, the EP and RBP limits within LIMIT_TOL
        of the implicit gradient (2.3), the continuous rows within CONTINUOUS_TOL."""
        out = []
        bad = [r["quantity"] for r in self.rows if not _within(r["complex_step"], ROW_TOL)]
        if bad or not self.rows:
            out.append(Finding(Outcome.FAILED, f"complex-step rows above {ROW_TOL:g} or not finite: "
                                               f"{', '.join(bad) or 'none run'}"))
        for key, what in (("ep_vs_implicit", "EP limit"), ("rbp_vs_implicit", "RBP limit")):
            if self.gradient.get("testable", True) and not _within(self.gradient.get(key), LIMIT_TOL):
                out.append(Finding(Outcome.FAILED,
                                   f"{what} not within {LIMIT_TOL:g} of the implicit gradient"))
        bad = [r["quantity"] for r in self.continuous if not _within(r["complex_step"], CONTINUOUS_TOL)]
        if bad:
            out.append(Finding(Outcome.FAILED,
                               f"continuous rows above {CONTINUOUS_TOL:g}: {', '.join(bad)}"))
        return out

    def _finite_findings(self):
        """Every number of the report finite: a NaN never passes."""
        numbers = [self.residual, *_numbers(self.rows), *_numbers(self.gradient),
                   *_numbers(self.continuous), *_numbers(self.hypotheses.get("per_example", {}))]
        if all(math.isfinite(v) for v in numbers):
            return []
        return [Finding(Outcome.FAILED, "a number of the report is not finite")]

    def _missing_findings(self):
        """Rows and gradients whose two sides are exactly zero: MISSING, with what to change."""
        out = [r["quantity"] for r in self.rows if not r.get("testable", True)]
        gradient = [] if self.gradient.get("testable", True) else ["dJ/dtheta"]
        if self.rows and len(out) == len(self.rows) and gradient:
            return [Finding(Outcome.MISSING, NOTHING_TO_COMPARE)]
        lines = []
        if gradient and self.n_params == 0 and self.model:
            gradient = []
            lines.append(NO_PARAMETERS)
        reached = set(self.gradient.get("reached", ()))
        short = [q for q in out if q in reached]
        never = [q for q in out if q not in reached] + gradient
        if short:
            lines.append(f"{', '.join(short)} had nothing to compare in {self.steps} steps: RBP's "
                         "error derivatives reach them later (one coupling per Euler step); "
                         "raise --steps")
        if never:
            lines.append(f"{', '.join(never)} had nothing to compare: exactly zero at s0 (a cost "
                         "stationary there, a parameter that does not reach it, or units "
                         "saturated in float64); change the data or the target")
        return [Finding(Outcome.MISSING, line) for line in lines]

    def to_dict(self):
        return {"layers": self.layers, "model": self.model, "dims": self.dims,
                "n_state": self.n_state, "n_params": self.n_params, "backend": self.backend,
                "batch": self.batch, "data": self.data, "eps": self.eps,
                "steps": self.steps, "h": self.h, "beta": self.beta, "init": self.init,
                "free_phase_residual": self.residual, "rows": self.rows,
                "gradient": self.gradient, "continuous": self.continuous,
                "hypotheses": self.hypotheses, "seconds": self.seconds, "notes": self.notes,
                "failures": self.failures, "incomplete": self.incomplete, "passed": self.passed}

    def to_json(self):
        return json.dumps(json_safe(self.to_dict()), sort_keys=True, indent=1, allow_nan=False)

    def table(self):
        what = (f"layers {'-'.join(map(str, self.layers))}" if self.layers else
                f"{self.model} ({', '.join(f'{k} = {v}' for k, v in self.dims.items())})")
        lines = [f"eqprop scale: {what}, batch {self.batch}, data {self.data}",
                 f"  {self.n_state:,} state units, {self.n_params:,} parameters; float64 on "
                 f"{self.backend}",
                 f"  free phase from {self.init}: max|dE/ds(s0)| = {self.residual:.1e}; then "
                 f"{self.steps} Euler steps of eps = {self.eps:g}; complex step h = {self.h:g}, "
                 f"real beta = {self.beta:g}", ""]
        if self.hypotheses:
            lines += hypothesis_lines(self.hypotheses, advice) + [""]
        w = max([10] + [len(r["quantity"]) for r in self.rows + self.continuous])
        lines += ["  Theorem 3 in discrete time, Ernoult et al.'s normalized error per state block and "
                  "parameter:",
                  f"  {'quantity':<{w}} {'complex-step':>13} {'real beta':>11} {'symmetric':>11}   "
                  f"{'per-step rel. error (min / median / max)':<42} digits lost (max)"]

        def num(v, width):
            return f"{v:>{width}.2e}" if v is not None else f"{'-':>{width}}"
        for r in self.rows:
            if not r.get("testable", True):
                lines.append(f"  {r['quantity']:<{w}} {'-':>13} {'-':>11} {'-':>11}   both sides "
                             "exactly zero at every step: nothing to compare")
                continue
            lines.append(f"  {r['quantity']:<{w}} {num(r['complex_step'], 13)} {num(r['real_beta'], 11)} "
                         f"{num(r['symmetric_beta'], 11)}   {r['step_min']:>9.1e} / {r['step_median']:>8.1e}"
                         f" / {r['step_max']:>8.1e}{'':12} {r['digits_lost']:>5.1f}")
        lines += ["  The per-step error has a floor that is physics, not a bug: EP reads Stilde_k as",
                  "  H u_k + C_s, a small difference of large terms once Sbar_k has decayed below the",
                  "  deviation u_k, so a float64 step keeps about 16 - (digits lost) digits; past 16",
                  "  nothing is left of that step. The normalized measure weighs steps by their size."]
        if self.continuous:
            lines += ["", "  continuous time (DOP853), normalized error per state block:"]
            for r in self.continuous:
                lines.append(f"  {r['quantity']:<{w}} {r['complex_step']:>13.2e}")
        g = self.gradient
        lines += ["", "  dJ/dtheta (all parameters): relative difference to the implicit-function gradient",
                  f"    EP limit (complex-step nudged fixed point) {num(g['ep_vs_implicit'], 8)}",
                  f"    RBP limit ({g['rbp_limit_steps']} steps, rho = {_rate(g.get('rbp_rate', math.nan))})"
                  .ljust(47) + num(g['rbp_vs_implicit'], 8),
                  f"    EP with real beta = {self.beta:g}".ljust(47)
                  + (f"{g['real_beta_vs_implicit']:.2e}" if g["real_beta_vs_implicit"] is not None else "-")]
        lines += [f"  note: {n}" for n in self.notes]
        lines += ["", "  timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items()), ""]
        decisive = worst(self.findings)
        if decisive is not None and decisive.outcome == Outcome.MISSING:
            lines.append("verdict: incomplete: " + "; ".join(self.incomplete))
        elif decisive is None:
            lines.append("verdict: agreement at float64 rounding (complex-step <= 1e-12), every "
                         "hypothesis held for every example")
        else:
            lines.append("verdict: NOT passed: " + "; ".join(self.failures))
        return "\n".join(lines)
