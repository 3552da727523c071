"""Theorem 2 (equilibrium propagation), paper 4.4, and the bias of finite beta.

``dJ/dtheta = d/dbeta E^beta_theta(s^beta) at beta = 0``, where s^beta is the
nudged fixed point (paper 4.3). Sides (:mod:`eqprop.proofs.quantities`):

- :func:`ep_gradient`: EP's side from real betas only -- each nudged fixed
  point solved by Newton from s0, the readout's central differences
  Richardson-extrapolated to beta -> 0. It never solves with H(s0), so it
  shares no factorization with the implicit gradient;
- :func:`ift_gradient`: dJ/dtheta without any adjoint or nudging, along
  the directions u of :func:`ift_directions` (every coordinate for small p,
  random and coordinate directions beyond): J at ``theta + i h u`` with the
  fixed point re-solved, one solve per direction; compared with u . dJ/dtheta;
- :func:`implicit_gradient`: ``C_theta - M H^-1 C_s``;
- :func:`finite_beta_estimates`: the one-sided and symmetric estimators at
  several real betas, whose errors against the implicit gradient must fall
  like beta and beta^2: the fitted log-log slopes are reported.

Rows: ``T2`` (EP vs implicit), ``IFT.cs`` (complex-step J vs implicit), each
entry measured against the size of the terms dJ/dtheta is formed from,
|C_theta| + |M| |H^-1 C_s| (a gradient that vanishes by symmetry is formed
from non-zero terms), plus for T2 the size |E_theta(s0)| of the readouts
EP differentiates; ``T2.bias1``/``T2.bias2`` (kind
"slope": at least 1 and 2, to within 10%).

For a vector-field model (no energy) the EP readout is the linearization
``M (s^beta - s0) + beta C_theta``.
"""

from __future__ import annotations

import dataclasses

import mpmath

from eqprop.numeric.highprec import ComputationBreakdown

from . import quantities as q
from .report import Check, TheoremResult

__all__ = ["check", "fit_slope"]


def fit_slope(xs, ys):
    """Least-squares slope of log10(ys) against log10(xs)."""
    lx = [mpmath.log10(x) for x in xs]
    ly = [mpmath.log10(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def check(P, *, ep=q.ep_gradient, ift=q.ift_gradient, implicit=q.implicit_gradient,
          estimates=q.finite_beta_estimates) -> TheoremResult:
    """Rows T2, IFT.cs, T2.bias1, T2.bias2."""
    R = q.ROUTES
    missing = []

    def attempt(ids, fn):
        """fn(P), or None with ``ids`` recorded as missing if it breaks down (the other rows
        of the theorem are kept: a failed one among them still fails the run)."""
        try:
            return fn(P)
        except ComputationBreakdown as exc:
            missing.append((ids, str(exc)))
            return None
    with P.precision.working():
        scale, terms = q.gradient_scale(P), q.gradient_terms(P)
        exact = implicit(P)
        rows, extra = [], {"ep_limit": None, "finite_difference": None, "bias": {}}
        ep_side = attempt(("T2",), ep)
        if ep_side is not None:
            ep_limit, ep_err, _ = ep_side
            limit = (f"Richardson error estimate {mpmath.nstr(ep_err, 2)}" if ep_err else
                     P.limit_precision)
            row = P.compare("T2", "4.4", None, ep_limit, exact, scale=scale, terms=terms,
                            limit=limit, sides=R["T2"])
            if not row.passed and ep_err and 3 * ep_err >= row.max_abs_error:
                # the extrapolation did not converge as far as the disagreement (rounding of a
                # force that cancels, cosh^2 - sinh^2 at 10, amplified by 1/beta): the row cannot
                # tell a wrong identity from its own error; a wrong EP side converges to a
                # wrong value, its estimate far below the disagreement, and still fails
                row = dataclasses.replace(row, testable=False, limit=(
                    f"undecided: the EP route's own Richardson error estimate "
                    f"{mpmath.nstr(ep_err, 2)} is as large as the disagreement; raise --dps"))
            rows.append(row)
            extra["ep_limit"] = ep_limit
        dirs = q.ift_directions(P)
        fd = attempt(("IFT.cs",), ift)
        if fd is not None:
            along = [mpmath.fdot(u, exact) for u in dirs]
            dir_scale = [mpmath.fsum(abs(a) * c for a, c in zip(u, scale)) for u in dirs]
            dir_terms = [mpmath.fsum(abs(a) * c for a, c in zip(u, terms)) for u in dirs]
            rows.append(P.compare("IFT.cs", "2.3", None, fd, along, scale=dir_scale, terms=dir_terms,
                                  limit=P.limit_precision, sides=R["IFT.cs"]))
            if len(dirs) == P.p and all(sum(1 for x in u if x) == 1 for u in dirs):
                extra["finite_difference"] = fd  # a gradient to report, not directions
        est = attempt(("T2.bias1", "T2.bias2"), estimates)
        if est is not None:
            slopes, (one, sym) = _bias_rows(P, est, exact, scale)
            rows += slopes
            extra["bias"] = {"betas": [mpmath.nstr(b, 3) for b in est[2]],
                             "one_sided": [mpmath.nstr(e, 6) for e in one],
                             "symmetric": [mpmath.nstr(e, 6) for e in sym]}
        return TheoremResult(checks=rows, extra=extra, missing=missing)


def _bias_rows(P, est, exact, scale):
    """Fitted orders of the finite-beta bias, above the rounding floor: ``(rows, errors)``."""
    one_sided, symmetric, betas = est
    norm = max(scale + [mpmath.mpf(10) ** -P.working_dps])
    base = q.ep_readout(P, P.s0, 0)
    # rounding floor of each estimate: 10^-wdps / beta times the readout's terms, relative to
    # the gradient's scale; the readout's terms are |E_theta| and |M| |s| (the state carries
    # its rounding relative to |s0| into E_theta(s^beta), and into a vector field's M(s - s0))
    state_terms = max([abs(x) for x in P.M] + [mpmath.mpf(0)]) * \
        max([abs(x) for x in P.s0] + [mpmath.mpf(0)])
    # in the model's own units (an absolute 1 here dropped every point of E x 1e-30, and a
    # wrong estimator passed both rows as 'bias below the working precision')
    e_scale = max([state_terms] + [abs(v) for v in base]) or norm
    out, errors = [], []
    for name, values, order in (("T2.bias1", one_sided, 1), ("T2.bias2", symmetric, 2)):
        errs = [max(abs(x - y) for x, y in zip(v, exact)) / norm for v in values]
        errors.append(errs)
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
                    f"betas {mpmath.nstr(betas[0], 2)}..{mpmath.nstr(betas[-1], 2)}")
        out.append(Check(id=name, equation="4.4", t=None, max_abs_error=dev, scale=order,
                         digits=digits, required=1.0, limit=note, lhs=slope, rhs=order,
                         kind="slope", sides=q.ROUTES[name]))
    return out, errors
