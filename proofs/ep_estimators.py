"""EP's estimators of dJ/dtheta, each against the exact gradient (paper 2.3, 4.4, 5.5).

Every estimator here reads the EP readout ``g(beta) = E^beta_theta(s^beta)``
(:func:`~.quantities.ep_readout` at the nudged fixed point s^beta, paper 4.3),
whose derivative at beta = 0 is dJ/dtheta (Theorem 2, 4.4):

``holomorphic(P, r, N)``
    the discrete Cauchy integral over N nudges on the circle |beta| = r,
    ``D_N(r) = (1 / (N r)) sum_k w^-k (g(r w^k) - g(0))``, ``w = exp(2 pi i / N)``.
    With ``g(beta) = sum_m a_m beta^m`` (g is analytic in beta for |beta| below
    the radius of beta -> s^beta), ``sum_k w^(k (m - 1)) = N`` when N divides
    m - 1 and 0 otherwise, so ``D_N(r) = a_1 + a_{N+1} r^N + a_{2N+1} r^2N + ...``:
    the error falls like r^N. N = 1 is the one-sided estimator
    ``(g(beta) - g(0)) / beta`` (``r = beta``, either sign; error O(beta)),
    N = 2 the centered one ``(g(beta) - g(-beta)) / (2 beta)`` (error O(beta^2)).
    Subtracting g(0) changes nothing for N >= 2 (the weights sum to zero).
``complex_step(P)``
    ``Im g(i h) / h`` at the complex step h of the run: the limit beta -> 0,
    error O(h^2), below the working precision.
``truncated(P, t)``
    RBP stopped at time t, equal by Theorem 3 to EP's temporal derivative at t:
    ``Thetabar_t = C_theta - M H^-1 (I - expm(-t H)) C_s`` (3.6-3.8), whose
    error ``-M H^-1 expm(-t H) C_s`` decays like exp(-lambda t) with lambda the
    smallest eigenvalue of H whose eigenvector both C_s and M reach.

:func:`errors` measures an estimate against the exact dJ/dtheta (the implicit
gradient, one linear solve): absolute, relative, the cosine between the two
vectors, and the per-unit RMSE the EP-versus-BPTT literature reports. The radius of
beta -> s^beta, inside which the holomorphic estimators converge, is :mod:`.ep_radius`'s.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mpmath

from eqprop.numeric.highprec import ComputationBreakdown
from eqprop.numeric.integrate import BudgetExhausted

from . import quantities as q
from .ep_radius import COEFFICIENT_POINTS, MEAN_VALUE_TOLERANCE, Radius, radius, taylor_coefficients

__all__ = ["Errors", "errors", "holomorphic", "Nudges", "one_sided", "centered", "complex_step",
           "truncated", "truncation_rate", "MAX_POINTS", "Radius", "radius",
           "taylor_coefficients", "COEFFICIENT_POINTS", "MEAN_VALUE_TOLERANCE"]

#: Most nudges on one circle (each is a Newton solve at the working precision).
MAX_POINTS = 64


@dataclass(frozen=True)
class Errors:
    """An estimate of dJ/dtheta against the exact one. ``absolute``: max_i |est_i - g_i|;
    ``relative``: |est - g| / |g| (2-norms); ``cosine``: est . g / (|est| |g|); ``rmse``:
    sqrt(mean_i (est_i - g_i)^2)."""

    absolute: object
    relative: object
    cosine: object
    rmse: object

    @property
    def angle(self):
        """The angle between the estimate and the exact gradient, in degrees."""
        if not mpmath.isfinite(self.cosine):
            return mpmath.nan
        return mpmath.degrees(mpmath.acos(max(mpmath.mpf(-1), min(mpmath.mpf(1), self.cosine))))

    def to_dict(self, digits=6):
        return {k: mpmath.nstr(getattr(self, k), digits)
                for k in ("absolute", "relative", "cosine", "angle", "rmse")}


def errors(estimate, exact) -> Errors:
    """:class:`Errors` of ``estimate`` (real parts) against ``exact``."""
    est = [mpmath.re(x) for x in estimate]
    diff = [a - b for a, b in zip(est, exact)]
    norm = lambda v: mpmath.sqrt(mpmath.fsum(x * x for x in v))  # noqa: E731
    n_exact, n_est = norm(exact), norm(est)
    relative = norm(diff) / n_exact if n_exact else mpmath.inf if norm(diff) else mpmath.mpf(0)
    cosine = mpmath.fdot(est, exact) / (n_est * n_exact) if n_est and n_exact else mpmath.nan
    rmse = mpmath.sqrt(mpmath.fsum(x * x for x in diff) / len(diff)) if diff else mpmath.mpf(0)
    return Errors(absolute=max([abs(x) for x in diff] + [mpmath.mpf(0)]), relative=relative,
                  cosine=cosine, rmse=rmse)


def _readout(P, beta, near=None):
    """g(beta) and s^beta (Newton from s0, or along the line through ``near``; its first
    steps in complex128)."""
    s = q.nudged_fixed_point(P, beta, near, float64=True)
    return q.ep_readout(P, s, beta), s


class Nudges:
    """``(g(beta), s^beta)`` of one problem, each nudge solved once at each precision and kept
    (:func:`_readout`): the rows' circles share points, N = 4's being N = 32's on the same
    radius, and the N series at R / 2 the break row's. ``nudges(beta, near)``."""

    def __init__(self, P):
        self.P, self.known = P, {}

    def __call__(self, beta, near=None):
        key = (mpmath.mp.prec, mpmath.re(beta), mpmath.im(beta))
        if key not in self.known:
            self.known[key] = _readout(self.P, beta, near)
        return self.known[key]


def holomorphic(P, r, N, *, orientation=-1, nudges=None):
    """``D_N(r)``: the N-point discrete Cauchy integral of g'(0) on |beta| = |r|.

    ``r`` may be negative for N = 1 (the one-sided estimator with beta < 0).
    ``orientation`` +1 weights the points by w^+k instead of w^-k: a wrong
    combination (it picks a_{N-1} r^(N-2), not a_1), kept for the negative
    control that its order row must fail. Complex nudges need a holomorphic
    model (every function analytic; :attr:`Problem.holomorphic`). A real model
    has g(conj beta) = conj g(beta): the terms k and N - k are conjugate, their
    sum twice the real part of one, and floor(N/2) + 1 nudges are solved, each
    by Newton from s0 (the points on the real axis in real arithmetic). ``nudges``:
    a :class:`Nudges` of P to take them from (default: each solved here).
    """
    if not 1 <= N <= MAX_POINTS:
        raise ValueError(f"N: expected 1 to {MAX_POINTS} points, got {N}")
    if N > 2 and not P.holomorphic:
        raise ComputationBreakdown("complex nudges need a holomorphic model (its functions "
                                   "are not analytic: use N = 1 or 2)")
    if nudges is None:
        nudges = functools.partial(_readout, P)
    elif nudges.P is not P:
        raise ValueError("holomorphic: the nudges are another problem's")
    r = mpmath.mpf(r)
    base = q.ep_readout(P, P.s0, 0)
    total = [mpmath.mpf(0)] * P.p
    if N <= 2:  # beta = r, then -r from the line through s^r
        near = None
        for beta, weight in ((r, 1), (-r, -1))[:N]:
            g, s = nudges(beta, near)
            total = [a + weight * mpmath.re(x - y) for a, x, y in zip(total, g, base)]
            near = (beta, s)
        return [x / (N * r) for x in total]
    for k in range(N // 2 + 1):
        w = mpmath.expjpi(2 * mpmath.mpf(k) / N)
        twice = 1 if k == 0 or 2 * k == N else 2
        g, _ = nudges(r if k == 0 else -r if 2 * k == N else r * w)
        total = [a + twice * mpmath.re(w ** orientation * (x - y)) for a, x, y in zip(total, g, base)]
    return [x / (N * r) for x in total]


def one_sided(P, beta):
    """``(g(beta) - g(0)) / beta``, beta of either sign (:func:`holomorphic` with N = 1)."""
    return holomorphic(P, beta, 1)


def centered(P, beta):
    """``(g(beta) - g(-beta)) / (2 beta)`` (:func:`holomorphic` with N = 2)."""
    return holomorphic(P, beta, 2)


def complex_step(P):
    """``Im g(i h) / h`` at the run's complex step h (the limit beta -> 0, error O(h^2))."""
    if not P.holomorphic:
        raise ComputationBreakdown("the complex step needs a holomorphic model")
    beta = mpmath.mpc(0, P.h)
    g, _ = _readout(P, beta)
    return [mpmath.im(x) / P.h for x in g]


def truncated(P, times):
    """Thetabar_t at each of ``times``: RBP (3.6, 3.8) truncated at t, which Theorem 3
    equates with EP's temporal derivative at t; from the closed form in expm(-t H)."""
    from eqprop.numeric.adjoint import adjoint_closed_forms
    rows = adjoint_closed_forms(P.H, P.M, P.C_s, P.C_theta, [mpmath.mpf(t) for t in times])
    return [theta for _, theta in rows]


def truncation_rate(P, exact_tol=None):
    """The predicted decay rate of truncation's error: the smallest eigenvalue lambda of H
    (energy) whose eigenspace carries a term, |M P_lambda C_s| (P_lambda the projector on
    the eigenspace: in a repeated eigenvalue, the eigenvectors are any basis, and their terms
    may cancel) above the rounding of the largest such term. None for a vector field."""
    if not P.model.has_energy:
        return None
    E, V = mpmath.eigsy((P.H + P.H.T) / 2)
    n, groups = P.n, []
    spread = mpmath.mpf(10) ** -(P.dps // 2) * max([abs(e) for e in E] + [mpmath.mpf(1)])
    for j in sorted(range(n), key=lambda j: E[j]):  # eigenvalues within rounding: one group
        if groups and abs(E[j] - E[groups[-1][0]]) <= spread:
            groups[-1].append(j)
        else:
            groups.append([j])
    terms = []
    for g in groups:
        projected = [mpmath.fsum(V[i, j] * mpmath.fdot([V[k, j] for k in range(n)], P.C_s)
                                 for j in g) for i in range(n)]
        reach = max([abs(x) for x in mpmath.matrix(P.M) * mpmath.matrix(projected)] +
                    [mpmath.mpf(0)])
        terms.append((E[g[0]], reach))
    top = max([t for _, t in terms] + [mpmath.mpf(0)])
    floor = (exact_tol or mpmath.mpf(10) ** -(P.dps // 2)) * top
    excited = sorted(lam for lam, t in terms if t > floor)
    return excited[0] if excited else None
