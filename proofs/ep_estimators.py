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
vectors, and the per-unit RMSE the EP-versus-BPTT literature reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath

from eqprop.numeric.highprec import ComputationBreakdown
from eqprop.numeric.integrate import BudgetExhausted

from . import quantities as q

__all__ = ["Errors", "errors", "holomorphic", "one_sided", "centered", "complex_step",
           "truncated", "truncation_rate", "MAX_POINTS"]

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
    """g(beta) and s^beta (Newton from s0, or along the line through ``near``)."""
    s = q.nudged_fixed_point(P, beta, near)
    return q.ep_readout(P, s, beta), s


def holomorphic(P, r, N, *, orientation=-1):
    """``D_N(r)``: the N-point discrete Cauchy integral of g'(0) on |beta| = |r|.

    ``r`` may be negative for N = 1 (the one-sided estimator with beta < 0).
    ``orientation`` +1 weights the points by w^+k instead of w^-k: a wrong
    combination (it picks a_{N-1} r^(N-2), not a_1), kept for the negative
    control that its order row must fail. Complex nudges need a holomorphic
    model (every function analytic; :attr:`Problem.holomorphic`).
    """
    if not 1 <= N <= MAX_POINTS:
        raise ValueError(f"N: expected 1 to {MAX_POINTS} points, got {N}")
    if N > 2 and not P.holomorphic:
        raise ComputationBreakdown("complex nudges need a holomorphic model (its functions "
                                   "are not analytic: use N = 1 or 2)")
    r = mpmath.mpf(r)
    base = q.ep_readout(P, P.s0, 0)
    total = [mpmath.mpc(0)] * P.p
    near = None
    for k in range(N):
        w = mpmath.expjpi(2 * mpmath.mpf(k) / N) if N > 2 else (1 if k == 0 else -1)
        beta = r * w
        g, s = _readout(P, beta, near if N <= 2 else None)
        weight = (w ** orientation) if N > 1 else 1
        total = [a + weight * (x - y) for a, x, y in zip(total, g, base)]
        near = (beta, s) if N <= 2 and not isinstance(beta, mpmath.mpc) else None
    out = [x / (N * r) for x in total]
    return [mpmath.re(x) for x in out] if N <= 2 else out


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


def taylor_coefficients(P, rho, points):
    """The Taylor coefficients a_0..a_(points/2) of g(beta) = E^beta_theta(s^beta) around 0,
    per parameter, from ``points`` nudges on the circle |beta| = rho (a discrete Fourier
    transform of the samples: ``a_m rho^m = (1/N) sum_k g(rho w^k) w^(-m k)``, exact up to
    the aliased a_(m+N) rho^N, negligible for rho well inside the radius)."""
    rho = mpmath.mpf(rho)
    samples, near = [], None
    for k in range(points):
        beta = rho * mpmath.expjpi(2 * mpmath.mpf(k) / points)
        g, s = _readout(P, beta, near)  # Newton from the neighbour on the circle: one branch
        samples.append(g)
        near = (beta, s)
    # w^(-j), j = 0..N-1: w^(-m k) is w^(-(m k mod N)), so N exponentials serve every term
    twiddle = [mpmath.expjpi(-2 * mpmath.mpf(j) / points) for j in range(points)]
    out = []
    for m in range(points // 2 + 1):
        acc = [mpmath.fsum(samples[k][i] * twiddle[m * k % points] for k in range(points))
               for i in range(P.p)]
        out.append([x / (points * rho ** m) for x in acc])
    return out


#: Nudges per circle for the Taylor coefficients (coefficients up to a_64 are fitted: a
#: nearest singularity of small weight may show only past a_30, behind a faster decay).
COEFFICIENT_POINTS = 128


@dataclass(frozen=True)
class Radius:
    """beta -> s^beta's radius of convergence around 0, read off g's Taylor coefficients.

    ``value``: R (:func:`_predicted`; the nearest singularity, such as the fold where
    H(s^beta) + beta d2C/ds2 turns singular); ``rho``: the circle the coefficients came
    from; ``coefficients``: max_i |a_m,i|, m = 0..64; ``tried``: every circle the search
    tried, ``(rho, kept)`` in the order tried (kept: its samples kept the mean-value
    property); ``singularity``: the nearest singularity beta* = rho / z (z the recurrence's
    largest root, which gives its argument as well as R = |beta*|; of a conjugate pair the
    beta* with Im >= 0), None where R is infinite."""

    value: object
    rho: object
    coefficients: list
    tried: tuple = ()
    singularity: object = None


def _sizes(coeffs):
    return [max(abs(x) for x in c) for c in coeffs]


#: The mean-value property's tolerance: a_0 (the samples' mean) may differ from g(0) by this
#: fraction of |g|. The difference is the aliased a_N rho^N, about (rho/R)^N: at 1e-6 the
#: circle lies within 0.9 R for N = 128, and the coefficients fitted (m <= 64) carry aliasing
#: below 1e-3 of themselves.
MEAN_VALUE_TOLERANCE = mpmath.mpf("1e-6")


def radius(P, start=None, *, points=COEFFICIENT_POINTS, doublings=12):
    """:class:`Radius` of beta -> g(beta): the Taylor coefficients from the largest circle
    whose samples keep the mean-value property a_0 = g(0) (to :data:`MEAN_VALUE_TOLERANCE`:
    a circle near or beyond the radius breaks it), found by doubling from ``start`` / 2
    (``start``: the problem's estimate; halving first where that circle fails already),
    then by steps of 2^(1/4); R is read off the tail of the coefficients, where
    the nearest singularity dominates (:func:`_predicted`)."""
    g0 = q.ep_readout(P, P.s0, 0)
    top = max([abs(x) for x in g0] + [mpmath.mpf(10) ** -P.working_dps])

    tried = []

    def holds(rho):
        found = _mean_value(P, rho, points, g0, top)
        tried.append((rho, found is not None))
        return found
    rho = mpmath.mpf(start if start is not None else P.beta_radius) / 2
    coeffs = holds(rho)
    for _ in range(doublings):
        if coeffs is not None:
            break
        rho /= 2
        coeffs = holds(rho)
    if coeffs is None:
        raise ComputationBreakdown("no circle around beta = 0 keeps g analytic down to "
                                   f"{mpmath.nstr(rho, 3)}: the radius of beta -> s^beta is "
                                   "smaller still")
    kept = (rho, coeffs)
    for factor, times in ((mpmath.mpf(2), doublings), (mpmath.mpf(2) ** (mpmath.mpf(1) / 4), 3)):
        for _ in range(times):
            trial = holds(kept[0] * factor)
            if trial is None:
                break
            kept = (kept[0] * factor, trial)
    rho, coeffs = kept
    size = max([top] + [abs(x) * rho for x in coeffs[1]])
    noise = mpmath.mpf(10) ** -(P.working_dps - 10) * size  # the samples' rounding, in b_m
    value, singularity = _predicted(coeffs, rho, noise)
    return Radius(value=value, rho=rho, coefficients=_sizes(coeffs), tried=tuple(tried),
                  singularity=singularity)


#: Order of the linear recurrence fitted to the coefficients' tail (two conjugate pairs).
PREDICTION_ORDER = 4
#: How many of the last coefficients the recurrence is fitted over.
PREDICTION_SPAN = 24


def _predicted(coeffs, rho, noise):
    """R from the coefficients' tail: the lowest-order recurrence ``b_(m+1) = sum_j c_j
    b_(m-j)`` (order 1 up to :data:`PREDICTION_ORDER`) that fits ``b_m = a_m rho^m`` over the
    last :data:`PREDICTION_SPAN` to 1e-6 of their size, by least squares (linear prediction,
    the lowest Pade approximants' idea: a singularity at beta* makes a_m ~ beta*^-m, a root
    1/beta* of the recurrence; a simple pole needs order 1, a conjugate pair 2, a fold's
    m^-3/2 the highest). R = rho over the largest root's modulus, the smallest over the
    parameters (each component may see a different singularity; g is analytic only inside
    the nearest), leaving out a root that puts R inside the circle itself (spurious: g is
    analytic there). A component whose tail lies at the samples' rounding (``noise``) sees
    none within reach: infinite where every component's does (g a polynomial, or entire as
    far as the digits tell)."""
    found = []
    for i in range(len(coeffs[0])):
        b = [c[i] * rho ** m for m, c in enumerate(coeffs)]
        tail = b[len(b) - PREDICTION_SPAN - 1:]
        if max(abs(x) for x in tail) <= 1000 * noise:
            continue
        z = _recurrence_root(tail)
        if z is not None and 0 < abs(z) < 1:  # R = rho / |z| beyond the circle itself
            found.append((rho / abs(z), rho / z))
    if not found:
        return mpmath.inf, None
    return min(found, key=lambda f: f[0])


def _recurrence_root(b):
    """The largest root of the lowest-order linear recurrence fitting ``b`` (of a conjugate
    pair, the one with Im <= 0: :func:`_lower`)."""
    size = max(abs(x) for x in b)
    best = None
    for K in range(1, PREDICTION_ORDER + 1):
        ms = range(K - 1, len(b) - 1)
        A = mpmath.matrix([[b[m - j] for j in range(K)] for m in ms])
        y = mpmath.matrix([b[m + 1] for m in ms])
        try:
            c = mpmath.lu_solve(A.H * A, A.H * y)
            roots = mpmath.polyroots([1] + [-c[j] for j in range(K)], maxsteps=200, extraprec=60)
        except (ZeroDivisionError, mpmath.libmp.NoConvergence):
            continue
        best = _lower(roots, max(roots, key=abs))
        if mpmath.mnorm(A * c - y, 1) <= mpmath.mpf("1e-6") * size * len(ms):
            break
    return best


def _lower(roots, z):
    """``z``, or its conjugate where that is a root too (to 1e-6) and z lies above the real
    axis: of a conjugate pair, the one with Im <= 0 (its beta* = rho / z has Im >= 0)."""
    mirror = min(roots, key=lambda w: abs(w - mpmath.conj(z)))
    if mpmath.im(z) > 0 and abs(mirror - mpmath.conj(z)) <= mpmath.mpf("1e-6") * abs(z):
        return mirror
    return z


def _mean_value(P, rho, points, g0, top):
    """The coefficients on |beta| = rho if its samples keep the mean-value property a_0 =
    g(0) (to :data:`MEAN_VALUE_TOLERANCE` of their size), else None."""
    try:
        coeffs = taylor_coefficients(P, rho, points)
    except BudgetExhausted:  # the run's time is up: not a statement about the radius
        raise
    except ComputationBreakdown:
        return None
    # against the samples' own size: g(0) itself may be 0 (a vector field's readout)
    size = max([top] + [abs(x) * rho for x in coeffs[1]])
    if max(abs(a - b) for a, b in zip(coeffs[0], g0)) > MEAN_VALUE_TOLERANCE * size:
        return None
    return coeffs
