"""Theorem 2 (equilibrium propagation), paper 4.4, and the bias of finite beta.

``dJ/dtheta = d/dbeta E^beta_theta(s^beta) at beta = 0``, where s^beta is the
nudged fixed point (paper 4.3). Computed here:

- ``ep_limit``: the derivative in beta by complex step: Newton's method on
  ``dE/ds + i h dC/ds = 0`` from s0, then ``Im E^beta_theta(s^beta) / h``;
- ``finite_difference``: dJ/dtheta without any adjoint or nudging, by a
  complex-step finite difference: J at ``theta + i h e_k`` with the fixed
  point re-solved by Newton, per parameter (real central differences with
  Richardson extrapolation for a non-holomorphic model);
- the one-sided and symmetric finite-beta estimators at several real betas,
  whose errors against the implicit gradient must fall like beta and beta^2:
  the fitted log-log slopes are reported.

Rows: ``T2`` (ep_limit vs implicit), ``IFT.cs`` (complex-step finite
differences of J vs implicit), ``T2.bias1``/``T2.bias2`` (fitted slopes: at least 1 and 2, to
within 10%; their "digits" measure the shortfall of the slope, if any).

For a vector-field model (no energy) the EP side uses the linearization
``M (s^beta - s0) / beta + C_theta``.
"""

from __future__ import annotations

import mpmath

from eqprop.numeric.highprec import newton

from .report import Check, TheoremResult, fmt
from .theorem1 import implicit_gradient

__all__ = ["check", "BETAS", "fit_slope"]

#: Real betas of the finite-beta estimators.
BETAS = ("1e-3", "1e-4", "1e-5", "1e-6")  # small enough for the asymptotic slope


def fit_slope(xs, ys):
    """Least-squares slope of log10(ys) against log10(xs)."""
    lx = [mpmath.log10(x) for x in xs]
    ly = [mpmath.log10(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def ep_side(P, beta, s_beta):
    """E^beta_theta(s^beta) (energy) or its linearization (vector field)."""
    if P.model.has_energy:
        return [a + beta * b for a, b in zip(P.system.dE_dtheta(s_beta), P.system.dC_dtheta(s_beta))]
    du = mpmath.matrix([a - b for a, b in zip(s_beta, P.s0)])
    lin = P.M * du
    return [lin[k] + beta * P.C_theta[k] for k in range(P.p)]


def check(problem) -> TheoremResult:
    P = problem
    rows = []
    with mpmath.workdps(P.working_dps):
        implicit = implicit_gradient(P)

        def nudged(beta):
            s_beta, _, _ = newton(P.system, P.s0, beta=beta, im_floor=P.h ** 2)
            return ep_side(P, beta, s_beta)
        base = ep_side(P, 0, P.s0)
        ep_limit = [d for d in P.derivative(lambda b: [x - y for x, y in zip(nudged(b), base)])]
        rows.append(P.compare("T2", "4.4", None, ep_limit, implicit, limit=P.limit_precision))

        theta = P.system.theta()
        fd = []
        for k in range(P.p):
            def J(e, k=k):
                th = list(theta)
                th[k] = th[k] + e
                s, _, _ = newton(P.system, P.s0, theta=th, im_floor=P.h ** 2)
                return [P.system.cost(s, th)]
            fd.append(P.derivative(J)[0])
        rows.append(P.compare("IFT.cs", "2.3", None, fd, implicit, limit=P.limit_precision))

        norm = mpmath.norm(mpmath.matrix(implicit)) or 1
        betas = [mpmath.mpf(b) for b in BETAS]
        one, sym = [], []
        for b in betas:
            plus, minus = nudged(b), nudged(-b)
            one_sided = [(x - y) / b for x, y in zip(plus, base)]
            symmetric = [(x - y) / (2 * b) for x, y in zip(plus, minus)]
            one.append(max(abs(x - y) for x, y in zip(one_sided, implicit)) / norm)
            sym.append(max(abs(x - y) for x, y in zip(symmetric, implicit)) / norm)
        for name, errs, order in (("T2.bias1", one, 1), ("T2.bias2", sym, 2)):
            # rounding floor of each estimate: |E_theta| 10^-wdps / beta, relative to |dJ/dtheta|
            e_scale = max([mpmath.mpf(1)] + [abs(v) for v in base])
            points = [(b, e) for b, e in zip(betas, errs)
                      if e > 1000 * mpmath.mpf(10) ** -P.working_dps * e_scale / (b * norm)]
            if len(points) < 2:  # the bias is below the precision at (almost) every beta
                slope, dev, digits = mpmath.mpf(order), mpmath.mpf(0), float(P.dps)
                note = "bias below the working precision at these betas"
            else:
                # O(beta^order) is an upper bound: a vanishing leading coefficient
                # (a symmetric model, say) gives a steeper slope, never a shallower one
                slope = fit_slope(*zip(*points))
                dev = max(mpmath.mpf(0), order - slope)
                digits = float(min(P.dps, -mpmath.log10(dev / order))) if dev else float(P.dps)
                note = (f"fitted slope {mpmath.nstr(slope, 4)} (at least {order} expected), "
                        f"betas {BETAS[0]}..{BETAS[-1]}")
            rows.append(Check(
                id=name, equation="4.4", t=None, max_abs_error=fmt(dev, 4), scale=str(order),
                digits=digits, required=1.0,
                limit=note,
                lhs=fmt(slope, 8), rhs=str(order)))
        return TheoremResult(
            checks=rows,
            extra={"implicit": implicit, "ep_limit": ep_limit, "finite_difference": fd,
                   "bias": {"betas": list(BETAS), "one_sided": fmt(one, 6), "symmetric": fmt(sym, 6)}})
