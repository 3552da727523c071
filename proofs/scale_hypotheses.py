"""The hypotheses of :func:`eqprop.proofs.scale.scale`, checked per example.

Theorem 3 in discrete time (docs/MATH.md, section 7) compares EP and RBP at
a fixed point s0 of the free dynamics, and its limits (the RBP limit, the
EP limit) equal the implicit-function gradient only where s0 is a strict
local minimum and the Euler iteration ``I - eps H`` contracts. So, for
every example of the batch:

- ``fixed point``: the free phase converged, ``max|dE/ds(s0)| <= 1e-12``;
- ``strict minimum``: the smallest eigenvalue of ``H(s0)`` is positive
  beyond rounding: its smallest Ritz value minus the residual bound exceeds
  ``SINGULAR_TOL * lambda_max`` (1e-13: float64 cannot tell a smaller
  eigenvalue from zero, so such an H counts as singular and the minimum as
  not isolated); a negative Ritz value proves a saddle; an ill-conditioned
  H above that floor passes here, and its lost digits show in the rows;
- ``stable step``: ``eps lambda_max(H) < 2`` (Lanczos' largest Ritz value
  plus its bound), with the largest stable eps;
- ``gradient field``: ``H`` is symmetric, ``|H v - H^T v| / |H v| <= 1e-12``
  for a random v (the dynamics is the gradient of the energy);
- ``finite``: s0, its residual and the eigenvalues are finite numbers.

An example that violates one is named in the report, with its value; the
check passes only if every example satisfies every hypothesis.
"""

from __future__ import annotations

import numpy as np

from eqprop.numeric.batch_solve import SINGULAR_TOL, extreme_eigenvalues

from .outcomes import Finding, Outcome

__all__ = ["FIXED_POINT_TOL", "SINGULAR_TOL", "SYMMETRY_TOL", "check_hypotheses", "hypothesis_findings",
           "hypothesis_lines", "rbp_limit_steps"]

#: the free phase's residual max|dE/ds(s0)| that counts as a fixed point
FIXED_POINT_TOL = 1e-12
#: the relative asymmetry |H v - H^T v| / |H v| that still counts as a gradient field
SYMMETRY_TOL = 1e-12
#: at most this many examples are named per violated hypothesis in the table
SHOWN = 6


def _floats(a):
    return [float(v) for v in np.asarray(a, dtype=float)]


def _asymmetry(lin, seed):
    """|H v - H^T v| / max(|H v|, |H^T v|) per example, for one random v."""
    v = np.random.default_rng(seed + 1).standard_normal(lin.shape)
    a, b = lin.hv(v), lin.hv(v, transpose=True)
    size = np.maximum(np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1))
    return np.linalg.norm(a - b, axis=-1) / np.where(size > 0, size, 1.0)


def check_hypotheses(net, s0, free, *, eps, seed=0):
    """The per-example hypotheses at s0 (``free``: the :class:`~eqprop.numeric.batch_solve.FreePhase`).

    Returns a JSON-ready dict: ``checks`` (one entry per hypothesis: id,
    holds, value, what, the violating examples) and ``per_example`` (the
    measured values).
    """
    lin = net.linearize(s0)
    spec = extreme_eigenvalues(lin, eps=eps, seed=seed)
    asym = _asymmetry(lin, seed)
    residual = np.asarray(free.residual, dtype=float)
    finite = (np.all(np.isfinite(s0), axis=-1) & np.isfinite(residual) & np.isfinite(spec.lmin)
              & np.isfinite(spec.lmax) & np.isfinite(asym))
    lo = spec.lmin - spec.lmin_bound
    hi = spec.lmax + spec.lmax_bound
    per = {"residual": _floats(residual), "status": list(free.status),
           "lambda_min": _floats(spec.lmin), "lambda_min_bound": _floats(spec.lmin_bound),
           "lambda_max": _floats(spec.lmax), "lambda_max_bound": _floats(spec.lmax_bound),
           "asymmetry": _floats(asym), "finite": [bool(v) for v in finite]}
    top = float(np.max(np.where(np.isfinite(hi), hi, np.inf)))
    largest = 2 / top if np.isfinite(top) and top > 0 else None

    def check(id_, ok, value, what, detail):
        bad = [int(i) for i in np.flatnonzero(~ok)]
        return {"id": id_, "holds": not bad, "value": value, "what": what,
                "examples": bad, "detail": [detail(i) for i in bad]}

    floor = SINGULAR_TOL * np.maximum(np.abs(spec.lmax), np.finfo(float).tiny)

    def saddle(i):
        if spec.lmin[i] < -floor[i]:  # a Ritz value is never below the smallest eigenvalue
            kind = "saddle"
        elif spec.lmin[i] + spec.lmin_bound[i] <= floor[i]:
            kind = "singular H: an eigenvalue zero to rounding, the minimum is not isolated"
        else:
            kind = "undecided: Lanczos did not resolve the smallest eigenvalue"
        return f"{i} ({kind}: {spec.lmin[i]:.3g} +- {spec.lmin_bound[i]:.1g})"
    checks = [
        check("fixed point", residual <= FIXED_POINT_TOL, float(np.max(residual)),
              f"max |dE/ds(s0)| (tolerance {FIXED_POINT_TOL:g}; relaxation {free.relax_steps} "
              f"steps, Newton-CG {free.newton_steps} iterations)",
              lambda i: f"{i} ({residual[i]:.1e}, {free.status[i]})"),
        check("strict minimum", lo > floor, float(np.min(spec.lmin)),
              f"smallest eigenvalue of H(s0), above {SINGULAR_TOL:g} lambda_max (Lanczos, "
              f"{spec.iterations} products; bound "
              f"{float(spec.lmin_bound[np.argmin(spec.lmin)]) if spec.lmin.size else 0:.1g} there)",
              saddle),
        check("stable step", eps * hi < 2, float(eps * np.max(spec.lmax)),
              f"eps * lambda_max(H) < 2 (lambda_max {float(np.max(spec.lmax)):.4g}"
              + (f"; largest stable eps {largest:.3g})" if largest else ")"),
              lambda i: f"{i} (eps lambda_max = {eps * spec.lmax[i]:.3g})"),
        check("gradient field", asym <= SYMMETRY_TOL, float(np.max(asym)),
              f"|H v - H^T v| / |H v| (tolerance {SYMMETRY_TOL:g}): the dynamics is the gradient "
              "of the energy", lambda i: f"{i} ({asym[i]:.1e})"),
        check("finite", finite, int(np.sum(~finite)), "examples with a number that is not finite",
              lambda i: f"{i}"),
    ]
    return {"checks": checks, "per_example": per, "lanczos_products": spec.iterations,
            "largest_stable_eps": largest, "eps": eps}


def hypothesis_findings(hyp):
    """The hypotheses as typed findings: VIOLATED for each that does not hold for every example,
    UNDECIDED when none were checked (an empty ``hyp``)."""
    out = [Finding(Outcome.VIOLATED, f"hypothesis violated: {c['id']}")
           for c in hyp.get("checks", []) if not c["holds"]]
    if not hyp:
        out.append(Finding(Outcome.UNDECIDED, "hypotheses not checked"))
    return out


def rbp_limit_steps(hyp, eps, cap):
    """Steps after which RBP's remaining tail ``rho^K / (1 - rho)`` is below 1e-14.

    ``rho = max |1 - eps lambda|`` over the measured extreme eigenvalues of
    every example (bounds included); ``ceil(40 / eps)`` when RBP does not
    contract (the limit then fails, as it should), and at most ``cap``.
    Returns ``(K, rho, cut)``, ``cut`` True when RBP contracts but needs more
    than ``cap`` steps.
    """
    per = hyp["per_example"]
    lo = np.subtract(per["lambda_min"], per["lambda_min_bound"])
    hi = np.add(per["lambda_max"], per["lambda_max_bound"])
    rho = float(np.max(np.maximum(np.abs(1 - eps * lo), np.abs(1 - eps * hi)))) if lo.size else 0.0
    if not np.isfinite(rho) or rho >= 1:
        return min(int(np.ceil(40 / eps)), cap), rho, False
    if rho == 0:
        return 1, rho, False
    k = max(np.ceil(np.log(1e-14 * (1 - rho)) / np.log(rho)), 1)
    return int(min(k, cap)), rho, bool(k > cap)


def hypothesis_lines(hyp, advice):
    """The table's lines for the hypotheses; ``advice`` is what to try when one fails."""
    lines = [f"  hypotheses, per example ({len(hyp['per_example']['residual'])} examples):"]
    for c in hyp["checks"]:
        v = c["value"]
        shown = f"{v:.4g}" if isinstance(v, float) and c["id"] in ("strict minimum", "stable step") \
            else (f"{v:.1e}" if isinstance(v, float) else str(v))
        lines.append(f"    [{'ok  ' if c['holds'] else 'FAIL'}] {c['id']:<15} {shown:>10}   {c['what']}")
        if c["examples"]:
            n = len(c["examples"])
            more = f", ... ({n - SHOWN} more)" if n > SHOWN else ""
            lines.append(f"           {n} of {len(hyp['per_example']['residual'])} examples: "
                         + ", ".join(c["detail"][:SHOWN]) + more)
    failed = [c["id"] for c in hyp["checks"] if not c["holds"]]
    if failed:
        lines.append(f"    what to try: {advice(failed, hyp)}")
    return lines
