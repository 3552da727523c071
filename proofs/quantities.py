"""Each side of each identity: one named function of the problem, one home per equation.

Every function here takes a :class:`~eqprop.proofs.problem.Problem` ``P``
and computes ONE side of an identity along its own route, from its own
ingredients. The theorem modules compare two of them; a test (or a user
running a negative control) can hand a check a side computed from a
corrupted problem (:mod:`eqprop.proofs.mutations`) and watch the row fail.

=================  ==========================================  ==========================
paper              quantity                                    function
=================  ==========================================  ==========================
2.3                dJ/dtheta = C_theta - M H^-1 C_s             :func:`implicit_gradient`
2.3                dJ/dtheta, complex step of J(theta)          :func:`ift_gradient`
3.3                v . Sbar_t, u . Thetabar_t (definition)      :func:`projected_cost_ds`,
                                                               :func:`projected_cost_dtheta`
3.5-3.8            Sbar_t, Thetabar_t, integrated adjoint       :func:`rbp_adjoint`
3.5-3.8            Sbar_t, Thetabar_t, closed form (expm)       :func:`rbp_closed_form`
4.4                d/dbeta E^beta_theta(s^beta) at 0            :func:`ep_gradient`
4.4 (bias)         finite-beta estimators                       :func:`finite_beta_estimates`
5.4, 5.5           Stilde_t, Thetatilde_t                       :func:`ep_temporal_derivatives`
A.3                dL/dt and -dE/ds . dL/ds                     :func:`kbe_chain_rule`,
                                                               :func:`kbe_directional`
=================  ==========================================  ==========================

:data:`ROUTES` (:mod:`.routes`) says, for every report row, which route each side takes.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from eqprop.numeric import linalg
from eqprop.numeric.adjoint import adjoint_closed_forms
from eqprop.numeric.integrate import BudgetExhausted
from eqprop.numeric.highprec import (ComputationBreakdown, adjoint_flow,
                                     newton, richardson_derivative, richardson_levels)
from eqprop.numeric.newton import newton64
from eqprop.symbolic.precision import working

from . import noise
from .noise import term_sizes
from .routes import ROUTES
from .ift import IFT_ALL_COORDINATES, ift_directions, ift_gradient
from .ift import mt as _mt

__all__ = ["RBPSeries", "EPSeries", "ROUTES", "implicit_gradient", "gradient_scale",
           "gradient_terms", "ift_directions", "ift_gradient", "projected_cost_ds", "projected_cost_dtheta", "rbp_adjoint",
           "rbp_closed_form", "ep_gradient", "ep_readout", "finite_beta_estimates",
           "ep_temporal_derivatives", "solve", "term_sizes", "kbe_points", "kbe_chain_rule", "kbe_directional", "BETAS"]

#: Real betas of the finite-beta estimators (bias rows), in units of ``Problem.beta_step``.
BETAS = (1, "3/10", "1/10", "3/100", "1/100", "3/1000", "1/1000")

@dataclass(frozen=True)
class RBPSeries:
    """RBP's error derivatives at ``times`` (and, for the limit, at ``t_infinity``)."""

    times: list
    s_bar: list
    theta_bar: list
    limit: list | None = None
    t_infinity: float | None = None
    evaluations: int = 0


@dataclass(frozen=True)
class EPSeries:
    """EP's temporal derivatives on the nudged phase, and the accumulated deviation u(t)."""

    s_tilde: list
    theta_tilde: list
    u: list


def solve(A, b):
    """A^-1 b at the working precision; a singular A is a :class:`ComputationBreakdown`."""
    try:
        return linalg.solve(A, b)
    except ZeroDivisionError:
        raise ComputationBreakdown("H(s0) is singular: no linear solve with it") from None


# -- 2.3: the gradient --------------------------------------------------------
def _adjoint_state(P):
    """z = H^-T C_s: the one linear solve of the implicit gradient, once per problem."""
    return P.kept("H^-T C_s", lambda: solve(P.H.T, P.C_s))


def implicit_gradient(P):
    """dJ/dtheta = C_theta - M H^-T C_s (implicit function theorem, paper 2.3); computed once
    per problem and precision (the report, T1.limit and T2 share it)."""
    def compute():
        mz = linalg.matvecs(P.M, [list(_adjoint_state(P))])[0]
        return [c - x for c, x in zip(P.C_theta, mz)]
    return P.kept("implicit_gradient", compute)


def gradient_terms(P):
    """The sizes of dJ/dtheta's terms from the computed values alone, no rounding floors
    (:meth:`Problem.compare`'s ``terms``: where they fall below the floors, no evidence)."""
    return term_sizes(P.M, list(_adjoint_state(P)), P.C_theta)


def gradient_scale(P, flow=False):
    """Size of the terms dJ/dtheta = C_theta - M H^-T C_s is formed from (:func:`term_sizes`),
    each ingredient at least the rounding it carries (:mod:`.noise`); ``flow``: for Thetabar
    read off an integrated flow (:attr:`Problem.flow_level`)."""
    spread_h = P.spreads.get("H")
    z = noise.through_inverse(P.H.T, _adjoint_state(P), P.C_s,
                              (None if spread_h is None else spread_h.T, P.spreads.get("C_s")),
                              P.rounding)
    return term_sizes(P.size("M"), z, P.size("C_theta"), P.flow_level if flow else 0)


# -- 3.3 and 3.5-3.8: RBP -------------------------------------------------------
def rbp_adjoint(P) -> RBPSeries:
    """Sbar_t, Thetabar_t by integrating RBP's adjoint ODEs (3.5-3.8) from (C_s, C_theta).

    Also RBP's side of 5.4 and 5.5 (Theorem 3) and of 3.3 (the definition rows):
    integrated once per problem (:meth:`Problem.kept`).
    """
    return P.kept("rbp_adjoint", lambda: _rbp_adjoint(P))


def _rbp_adjoint(P):
    grid = [mpmath.mpf(t) for t in P.times]
    t_inf, jump = P.t_infinity, None
    if t_inf is not None and t_inf > grid[-1]:
        jump = t_inf  # beyond the grid: by doubling steps (numeric.adjoint._doubling_jump)
    elif t_inf is not None:  # the grid reaches further: its last time serves
        t_inf = float(grid[-1])
    flow = adjoint_flow(P.H, P.M, P.C_s, P.C_theta, grid, tol=P.tol, jump_to=jump)
    states = flow.states[:len(P.times)]
    limit = flow.states[-1][1] if t_inf is not None else None
    return RBPSeries(times=list(P.times), s_bar=[s for s, _ in states],
                     theta_bar=[t for _, t in states], limit=limit, t_infinity=t_inf,
                     evaluations=flow.stats.get("evaluations", 0))


def rbp_closed_form(P) -> RBPSeries:
    """Sbar_t = expm(-t H) C_s, Thetabar_t = C_theta - M H^-1 (I - expm(-t H)) C_s (once per
    problem: Theorem 1 compares it, Theorem 3 takes u(t) from it)."""
    def compute():
        rows = adjoint_closed_forms(P.H, P.M, P.C_s, P.C_theta, [mpmath.mpf(t) for t in P.times])
        return RBPSeries(times=list(P.times), s_bar=[a for a, _ in rows],
                         theta_bar=[b for _, b in rows])
    return P.kept("rbp_closed_form", compute)


def projected_cost_ds(P, v):
    """d/de L(s0 + e v, t) at every t (definition 3.3 along v), on the free flow from s0.

    The complex-step flow starts at rest: it is solved by its propagator
    (:mod:`eqprop.numeric.propagator`) where the arithmetic confirms that it
    applies, else integrated; the same for the two functions below.
    """
    def along(e):
        start = [a + e * b for a, b in zip(P.s0, v)]
        return [P.system.C(s) for s in P.system.flow(start, P.times, tol=P.tol, rest=P.rest).states]
    return P.derivative(along, max(abs(x) for x in v))


def projected_cost_dtheta(P, u):
    """d/de L(s0, t) with theta + e u (definition 3.3, s held at s0 at t = 0)."""
    theta = P.system.theta()

    def along(e):
        th = [a + e * b for a, b in zip(theta, u)]
        return [P.system.C(s, th) for s in P.system.flow(P.s0, P.times, tol=P.tol, theta=th,
                                                                 rest=P.rest).states]
    return P.derivative(along, P.response(_mt(P, u)))


# -- 4.4: EP ---------------------------------------------------------------------
def ep_readout(P, s, beta):
    """E^beta_theta(s) (energy), or its linearization M (s - s0) + beta C_theta (vector field)."""
    if P.model.has_energy:
        return P.system.dEbeta_dtheta(s, beta)
    lin = linalg.matvecs(P.M, [[a - b for a, b in zip(s, P.s0)]])[0]
    return [lin[k] + beta * P.C_theta[k] for k in range(P.p)]


def nudged_fixed_point(P, beta, near=None, *, float64=False):
    """s^beta: Newton on dE^beta/ds = 0, started at s0.

    ``near = (beta', s^beta')``, a solution at another beta of the same sign:
    Newton starts on the line from s0 through it, at ``s0 + (s^beta' - s0)
    beta / beta'``, which is O(beta^2) from s^beta where s0 is O(beta) (two
    Newton steps fewer on the Richardson ladder); from s0 again if that start
    fails. ``float64``: Newton's first steps in complex128 on the compiled
    kernels from that start (:func:`~eqprop.numeric.newton.newton64`), the
    rest at the working precision; as without it where they do not converge
    (or the system is perturbed: the kernels lack the perturbation). The fixed
    point is the same: a start decides how fast Newton gets there, not where.
    """
    if float64:
        start = _float64_start(P, beta, near)
        if start is not None:
            try:
                return newton(P.system, start, beta=beta, im_unit=P.h)[0]
            except BudgetExhausted:
                raise
            except ComputationBreakdown:
                pass
    if near is not None:
        try:
            return newton(P.system, _on_line(P, beta, near), beta=beta, im_unit=P.h)[0]
        except BudgetExhausted:
            raise
        except ComputationBreakdown:
            pass
    return newton(P.system, P.s0, beta=beta, im_unit=P.h)[0]


def _on_line(P, beta, near):
    b0, s_b0 = near
    return [a + (x - a) * (beta / b0) for a, x in zip(P.s0, s_b0)]


def _float64_start(P, beta, near):
    """s^beta to float64's digits by Newton in complex128 from s0 (or the line through
    ``near``), as mpmath numbers (real for a real beta); None where that does not converge."""
    if P.system.perturbation:
        return None
    c, b = P.compiled, complex(beta)
    theta = np.array([float(x) for x in P.system.theta()])
    data = np.array([float(x) for x in P.system.data()])
    start = P.s0 if near is None else _on_line(P, beta, near)
    s = newton64(lambda s: c.dEbeta_ds(s, theta, data, [b]),
                 lambda s: c.d2E_ds2(s, theta, data) + b * c.d2C_ds2(s, theta, data),
                 [complex(x) for x in start])
    if s is None:
        return None
    if isinstance(beta, mpmath.mpc):
        return [mpmath.mpc(x.real, x.imag) for x in s]
    return [mpmath.mpf(x.real) for x in s]


class _NudgedPath:
    """beta -> s^beta for a sequence of real betas, each Newton started from the last solution
    of the same sign (:func:`nudged_fixed_point`'s ``near``)."""

    def __init__(self, P):
        self.P, self.last = P, {}

    def __call__(self, beta):
        side = beta > 0
        s = nudged_fixed_point(self.P, beta, self.last.get(side))
        self.last[side] = (beta, s)
        return s


#: Most digits EP's route may carry (its readouts can dwarf the gradient it differences out).
EP_MAX_DIGITS = 2000


def ep_gradient(P):
    """d/dbeta E^beta_theta(s^beta) at beta = 0 (paper 4.4) from real betas only.

    Central differences ``(g(b) - g(-b)) / 2b`` of the EP readout
    ``g(b) = E^b_theta(s^b)``, each s^b solved from scratch by Newton at
    ``b = beta_step / 2^k`` (``beta_step`` well inside the radius of
    convergence of b -> s^b, see :func:`~eqprop.proofs.problem.prepare`),
    extrapolated by Richardson in b^2 to b -> 0, with extra digits for the
    cancellation when |E_theta| is much larger than dJ/dtheta. No
    complex step and no linear solve with H(s0): the route shares no
    factorization with the implicit gradient. Returns ``(value, error
    estimate, sizes)`` (see :func:`~eqprop.numeric.highprec.richardson_derivative`).
    """
    # each entry must come out accurate to dps digits of its size (its terms, or the row's
    # largest times 10^-dps where they vanish) from readouts of size |E_theta(s0)|: carry the
    # digits that ratio and the 1/beta of the differences would cost (beta down to
    # beta_step / 2^10 over the Richardson levels: 3 decades below beta_step)
    scale = gradient_scale(P)
    floor = max(scale) * mpmath.mpf(10) ** -P.dps
    ratio = max([abs(g) / max(c, floor) for g, c in zip(ep_readout(P, P.s0, 0), scale)
                 if max(c, floor) > 0] + [mpmath.mpf(1)])
    inverse_beta = max(0, int(mpmath.ceil(-mpmath.log10(P.beta_step)))) + 3
    # s^b - s0 ~ b ds/db: the states carry digits relative to |s0|, and the readout
    # differences see s^b - s0 only, log10(|s0| / |ds/db|) digits below (a vector field in
    # fast units: s^b moves by b / k); ds/db from one nudged solve, never from H
    path = _path_rate(P)
    top = max([abs(x) for x in P.s0] + [mpmath.mpf(0)])
    moved = max(0, int(mpmath.ceil(mpmath.log10(top / path)))) if path and top else 0
    need = P.dps + 3 + inverse_beta + moved + max(0, int(mpmath.ceil(mpmath.log10(ratio))))
    if need > EP_MAX_DIGITS:  # the readouts dwarf the gradient: no answer, not a wrong one
        raise ComputationBreakdown(
            f"EP's readouts E_theta are about 10^{int(mpmath.log10(ratio))} times dJ/dtheta: "
            f"the route needs {need} digits, more than {EP_MAX_DIGITS}; rescale E or C")
    # (it was capped at 3 x the working digits, and then returned noise: E x 1e250 was 'not
    # verified'; the time limit bounds what carrying them costs)
    with working(max(P.working_dps, need)):
        # the radius of beta -> s^beta is only estimated (a domain edge or a nearby barrier
        # can make it smaller): shrink the step until two steps agree, or Newton succeeds
        step, last = P.beta_step, None
        for _ in range(6):
            levels = richardson_levels(mpmath.mp.dps, step / P.beta_radius)
            try:
                ladder = _NudgedPath(P)
                value = richardson_derivative(lambda b, ladder=ladder: ep_readout(P, ladder(b), b),
                                              step=step, levels=levels)
            except BudgetExhausted:
                raise
            except ComputationBreakdown:
                step, last = step / 16, None
                continue
            if last is not None and _agree(value[0], last[0], scale, P.dps):
                return value
            step, last = step / 16, value
        if last is None:
            raise ComputationBreakdown("EP's nudged fixed points could not be solved at any "
                                       f"beta down to {mpmath.nstr(step * 16, 3)}")
        return last


def _path_rate(P):
    """|ds^beta/dbeta| from the nudged solves at +-beta_step (0 where they break down),
    measured between the two (s0 carries its own rounding, larger than s^beta - s0 for a
    stiff energy). Where s^beta does not move at the working precision (c (a - w)^2 / 2 with
    c = 1e30: by 1e-34 of itself), the solves are repeated with twice the digits until it
    does (up to :data:`EP_MAX_DIGITS`): a zero rate would leave EP's route without the
    digits it needs, and its row failing on rounding."""
    digits = P.working_dps
    while True:
        with working(digits):
            try:
                plus = nudged_fixed_point(P, P.beta_step)
                minus = nudged_fixed_point(P, -P.beta_step)
            except ComputationBreakdown:
                return mpmath.mpf(0)
            rate = max(abs(a - b) for a, b in zip(plus, minus)) / (2 * P.beta_step)
        if rate or digits * 2 > EP_MAX_DIGITS or not any(P.C_s):
            return rate
        digits *= 2


def finite_beta_estimates(P):
    """The one-sided and symmetric estimators at seven betas: ``(one_sided, symmetric, betas)``.

    The betas are ``P.betas``, shrunk by 16 (up to five times) where a nudged fixed point
    cannot be solved (a domain edge or a barrier closer than the radius estimate).
    """
    base = ep_readout(P, P.s0, 0)
    for shrink in range(6):
        betas = [b / 16 ** shrink for b in P.betas]
        one, sym, ladder = [], [], _NudgedPath(P)
        try:
            for b in betas:
                plus = ep_readout(P, ladder(b), b)
                minus = ep_readout(P, ladder(-b), -b)
                one.append([(x - y) / b for x, y in zip(plus, base)])
                sym.append([(x - y) / (2 * b) for x, y in zip(plus, minus)])
        except BudgetExhausted:
            raise
        except ComputationBreakdown:
            if shrink == 5:
                raise
            continue
        return one, sym, betas


def _agree(a, b, scale, digits):
    """Two estimates equal to ``digits`` digits of each entry's size (or the row's largest)."""
    top = max(scale + [mpmath.mpf(0)])
    return all(abs(x - y) <= mpmath.mpf(10) ** -digits * max(c, top * mpmath.mpf(10) ** -digits)
               for x, y, c in zip(a, b, scale))


# -- 5.4, 5.5: EP's temporal derivatives ---------------------------------------------
def ep_temporal_derivatives(P) -> EPSeries:
    """Stilde_t, Thetatilde_t (paper 5.4, 5.5) and u(t) from ONE nudged trajectory.

    The nudged phase starts at s0 with beta = i h; its complex step gives
    ``Stilde_t = d/dbeta dE^beta/ds(S^beta_t)`` (= -(1/beta) dS/dt),
    ``Thetatilde_t = d/dbeta E^beta_theta(S^beta_t)`` and
    ``u(t) = d/dbeta S^beta_t`` at once, with no second trajectory to subtract.
    """
    n, p = P.n, P.p

    def phase(beta):
        out = []
        for s in P.system.flow(P.s0, P.times, tol=P.tol, beta=beta, rest=P.rest).states:
            out += P.system.dEbeta_ds(s, beta=beta)
            out += ep_readout(P, s, beta)
            out += [a - b for a, b in zip(s, P.s0)]
        return out
    flat = P.derivative(phase, P.response(P.C_s))
    w = n + p + n
    rows = [flat[k * w:(k + 1) * w] for k in range(len(P.times))]
    return EPSeries(s_tilde=[r[:n] for r in rows], theta_tilde=[r[n:n + p] for r in rows],
                    u=[r[n + p:] for r in rows])


from .kbe_sides import kbe_chain_rule, kbe_directional, kbe_points  # noqa: E402  (A.3's sides)
