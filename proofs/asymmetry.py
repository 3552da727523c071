"""Where the equivalence breaks: EP's gradient against the true one as a field turns asymmetric.

A vector field ``ds/dt = F(s)`` with a fixed point s0 has the true gradient
(RBP with the transposed Jacobian; Theorem 1 holds for any field)
``dJ/dtheta = C_theta - M H^-T C_s``, where ``H = -dF/ds`` at s0, while EP's
nudged fixed points give ``C_theta - M H^-1 C_s`` (:func:`~.quantities.ep_gradient`,
from the readout's linearization). The two agree when H is symmetric (a
gradient field). With a strength alpha that makes the field asymmetric (a data
value of the model: alpha = 0 a gradient field), their difference
``Delta(alpha) = EP - true = -M (H^-1 - H^-T) C_s`` is, to first order
(docs/MATH.md, section 10),

    Delta'(0) = M0 H0^-1 (A - A^T) H0^-1 C_s0,     A = dH/dalpha at s0 (s held fixed),

the motion of s0, M and C_s with alpha entering only at second order (the
factor H^-1 - H^-T is already O(alpha), and at alpha = 0 the derivative of H
along s is symmetric: third derivatives of an energy).

Rows: ``ASYM.order`` (the fitted order of |Delta| in alpha, at least 1) and
``ASYM.first`` (Delta'(0), Richardson-extrapolated from EP and RBP at +-alpha,
against the formula, evaluated at alpha = 0 alone).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import mpmath

from eqprop.numeric.highprec import ComputationBreakdown, System, richardson_derivative
from eqprop.symbolic.precision import working

from . import ep_estimators as est
from . import quantities as q
from .problem import prepare
from .report import Check

__all__ = ["Asymmetry", "check", "delta", "first_order", "ALPHAS"]

#: The strengths the order is fitted over, in units of the largest (``alpha_max``).
ALPHAS = (1, "1/3", "1/10", "1/30", "1/100", "1/300", "1/1000")


@dataclass(frozen=True)
class Asymmetry:
    """EP's gradient against the true one at each strength: ``(alpha, EP, Errors)`` (the
    Errors of EP against the true gradient, the angle between them included), and Delta'(0)
    both ways."""

    parameter: str
    points: list
    slope_limit: object
    formula: list


def _problem(model, parameter, alpha, options):
    """The problem of ``model`` with its asymmetry ``parameter`` set to ``alpha``."""
    m = model.with_data(**{parameter: mpmath.nstr(mpmath.mpf(alpha), options.dps + 20)})
    P, assumptions, _ = prepare(m, options)
    if P is None:
        failed = next((a for a in assumptions if not a.holds), None)
        raise ComputationBreakdown(f"at {parameter} = {mpmath.nstr(alpha, 3)} the field has no "
                                   f"usable fixed point ({failed.message if failed else '?'})")
    return P


def delta(model, parameter, alpha, options):
    """``(EP, true)`` gradients at strength ``alpha``: EP from its nudged fixed points
    (4.4's route, no solve with H), the true one by the implicit function theorem (2.3,
    H^-T)."""
    P = _problem(model, parameter, alpha, options)
    with P.precision.working():
        return q.ep_gradient(P)[0], q.implicit_gradient(P)


def first_order(P0, parameter):
    """``Delta'(0) = M0 H0^-1 (A - A^T) H0^-1 C_s0`` at the alpha = 0 problem, with
    ``A = dH/dalpha`` at s0 by the five-point central difference in alpha (H is evaluated at
    the same s0; a step of 10^-(w/5) leaves a truncation error of 10^-(4w/5) and a rounding
    of 10^-(4w/5), both well below the reported digits)."""
    names = [s.name for s in P0.model.data]
    k = names.index(parameter)
    with P0.precision.working():
        eps = mpmath.mpf(10) ** -(P0.working_dps // 5)
        data = P0.system.data()

        def H_at(a):
            moved = list(data)
            moved[k] = data[k] + a
            return System(P0.compiled, P0.system.theta(), moved,
                          has_energy=False).d2Ebeta_ds2(P0.s0)
        A = (8 * (H_at(eps) - H_at(-eps)) - (H_at(2 * eps) - H_at(-2 * eps))) / (12 * eps)
        x = q.solve(P0.H, P0.C_s)
        y = q.solve(P0.H, (A - A.T) * mpmath.matrix(list(x)))
        return list(P0.M * y)


def check(model, parameter, options, *, alpha_max="1e-2", formula=first_order,
          estimate=delta):
    """Rows ASYM.order and ASYM.first, and the :class:`Asymmetry` series.

    ``formula(P0, parameter)`` and ``estimate(model, parameter, alpha, options)`` are the
    two sides (replaceable, for the mutation tests)."""
    P0 = _problem(model, parameter, 0, options)
    with P0.precision.working():
        top = mpmath.mpf(alpha_max)
        d1 = formula(P0, parameter)
        alphas = [top * mpmath.mpf(a) for a in ALPHAS]
        points = []
        for a in alphas:
            ep, true = estimate(model, parameter, a, options)
            points.append((a, ep, est.errors(ep, true)))
        floor = mpmath.mpf(10) ** -(P0.working_dps - 5) * max(
            [abs(x) for x in q.implicit_gradient(P0)] + [mpmath.mpf(10) ** -P0.working_dps])

        def gap(a):
            ep, true = estimate(model, parameter, a, options)
            return [x - y for x, y in zip(ep, true)]
        limit, err, _ = richardson_derivative(gap, step=top / 10)
    scale = [max(abs(x), abs(y)) for x, y in zip(d1, limit)]
    first = P0.compare(
        "ASYM.first", "10.1", None, limit, d1, scale=[max(scale)] * len(scale),
        limit=f"Richardson error estimate {mpmath.nstr(err, 2)}",
        sides=("(EP - true)(alpha) / alpha as alpha -> 0, Richardson",
               "M0 H0^-1 (A - A^T) H0^-1 C_s0 at alpha = 0"))
    if not first.passed and err and 3 * err >= first.max_abs_error:
        # the extrapolation's own error explains the disagreement (strengths so small that
        # the gaps are rounding): the row cannot tell a wrong formula from its own noise
        first = dataclasses.replace(first, testable=False, limit=(
            f"undecided: the Richardson error estimate {mpmath.nstr(err, 2)} is as large as "
            "the disagreement; raise alpha_max or --dps"))
    rows = [_order_row(P0, points, floor), first]
    return Asymmetry(parameter=parameter, points=points, slope_limit=limit, formula=d1), rows


def _order_row(P0, points, floor):
    """The fitted order of max |EP - true| in alpha: at least 1 (to 10%), over the strengths
    whose gap lies above the rounding ``floor``."""
    from .theorem2 import fit_slope
    pts = [(a, e.absolute) for a, _, e in points if e.absolute > 100 * floor]
    if len(pts) < 3:
        return Check(id="ASYM.order", equation="10.1", t=None, max_abs_error=0, scale=1,
                     digits=0.0, required=1.0, kind="slope", testable=False,
                     limit="EP and the true gradient agree to the rounding at almost every "
                           "strength: nothing to fit (raise alpha_max)")
    slope = fit_slope(*zip(*pts))
    dev = max(mpmath.mpf(0), 1 - slope)
    digits = float(min(P0.dps, -mpmath.log10(dev))) if dev else float(P0.dps)
    return Check(id="ASYM.order", equation="10.1", t=None, max_abs_error=dev, scale=1,
                 digits=digits, required=1.0, lhs=slope, rhs=1, kind="slope",
                 limit=f"fitted order {mpmath.nstr(slope, 4)} of |EP - true| in alpha (at least 1)")
