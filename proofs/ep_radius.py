"""The radius of beta -> s^beta around 0, read off the Taylor coefficients of EP's readout.

``g(beta) = E^beta_theta(s^beta)`` (:func:`~.quantities.ep_readout` at the
nudged fixed point) is analytic in beta inside the radius R of beta -> s^beta;
the holomorphic estimators of :mod:`.ep_estimators` converge for r < R and
break beyond. :func:`radius` finds R in three steps:

1. a scan: circles of :data:`SCAN_POINTS` nudges (coefficients a_0..a_16), the
   first halved from the problem's estimate until its samples keep the
   mean-value property, then grown towards :data:`AIM` (0.6; more with few
   working digits) times the radius each circle's own coefficients predict (at
   most 4x a step; a circle refused is approached halfway, geometrically, the
   next time);
2. the final circle: :data:`COEFFICIENT_POINTS` nudges (a_0..a_64) on that
   fraction of the last estimate, shrunk where its mean-value check fails;
3. R from the tail of the final coefficients (:func:`predicted`): a singularity
   at beta* makes ``a_m ~ m^-gamma beta*^-m``, a root rho / beta* of a linear
   recurrence fitted to ``b_m = a_m rho^m``.

A real model (real parameters, data and s0) has g real on the real axis, so
``g(conj beta) = conj g(beta)``: the nudges of the lower half circle are the
conjugates of the upper half's, solved once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath

from eqprop.numeric import linalg
from eqprop.numeric.highprec import ComputationBreakdown
from eqprop.numeric.integrate import BudgetExhausted

from . import quantities as q

__all__ = ["Radius", "radius", "taylor_coefficients", "predicted", "COEFFICIENT_POINTS",
           "SCAN_POINTS", "MEAN_VALUE_TOLERANCE", "AIM"]

#: Nudges per circle for the final Taylor coefficients (coefficients up to a_64 are fitted: a
#: nearest singularity of small weight may show only past a_30, behind a faster decay).
COEFFICIENT_POINTS = 128
#: Nudges per circle of the scan (coefficients up to a_16: enough to aim the final circle).
SCAN_POINTS = 32
#: The final circle, as a fraction of the scan's estimated radius: the scan's estimate is good
#: to about 15%, and the final fit reads R to 1e-3 on circles from 0.5 to 0.8 R; the aliased
#: a_128 rho^128 is then below 1e-20 of the samples, far inside MEAN_VALUE_TOLERANCE. With
#: few working digits the circle goes further out (:func:`_aim`), up to AIM_MAX.
AIM, AIM_MAX = mpmath.mpf("0.6"), mpmath.mpf("0.85")
#: The mean-value property's tolerance: a_0 (the samples' mean) may differ from g(0) by this
#: fraction of |g|. The difference is the aliased a_N rho^N, about (rho/R)^N: at 1e-6 the
#: circle lies within 0.9 R for N = 128 (0.65 R for N = 32, the scan's), and the
#: coefficients fitted (m <= N/2) carry aliasing below 1e-3 of themselves.
MEAN_VALUE_TOLERANCE = mpmath.mpf("1e-6")


@dataclass(frozen=True)
class Radius:
    """beta -> s^beta's radius of convergence around 0, read off g's Taylor coefficients.

    ``value``: R (:func:`predicted`; the nearest singularity, such as the fold where
    H(s^beta) + beta d2C/ds2 turns singular); ``rho``: the circle the coefficients came
    from; ``coefficients``: max_i |a_m,i|, m = 0..64; ``tried``: every circle the search
    tried, ``(rho, kept, points)`` in the order tried (kept: its samples kept the mean-value
    property; points: its nudges, :data:`SCAN_POINTS` for the scan); ``singularity``: the
    nearest singularity beta* = rho / z (z the recurrence's root, which gives its argument
    as well as R = |beta*|; of a conjugate pair the beta* with Im >= 0), None where R is
    infinite."""

    value: object
    rho: object
    coefficients: list
    tried: tuple = ()
    singularity: object = None


def taylor_coefficients(P, rho, points):
    """The Taylor coefficients a_0..a_(points/2) of g(beta) = E^beta_theta(s^beta) around 0,
    per parameter, from ``points`` nudges on the circle |beta| = rho (a discrete Fourier
    transform of the samples: ``a_m rho^m = (1/N) sum_k g(rho w^k) w^(-m k)``, exact up to
    the aliased a_(m+N) rho^N, negligible for rho well inside the radius). The upper half
    circle's nudges are solved, each Newton from its neighbour's (one branch; its first steps
    in complex128); the lower half's are their conjugates."""
    rho = mpmath.mpf(rho)
    half, near = [], None
    for k in range(points // 2 + 1):
        beta = rho * mpmath.expjpi(2 * mpmath.mpf(k) / points)
        s = q.nudged_fixed_point(P, beta, near, float64=True)
        half.append(q.ep_readout(P, s, beta))
        near = (beta, s)
    samples = half + [[mpmath.conj(x) for x in g] for g in reversed(half[1:(points + 1) // 2])]
    spectra = linalg.dft([[g[i] for g in samples] for i in range(P.p)])
    return [[spectra[i][m] / (points * rho ** m) for i in range(P.p)]
            for m in range(points // 2 + 1)]


def _sizes(coeffs):
    return [max(abs(x) for x in c) for c in coeffs]


def radius(P, start=None, *, points=COEFFICIENT_POINTS, scan=SCAN_POINTS, halvings=12, steps=8):
    """:class:`Radius` of beta -> g(beta) (module docstring): the scan's circles from ``start``
    / 2 (``start``: the problem's estimate; halved at most ``halvings`` times, grown at most
    ``steps`` times), then the final circle of ``points`` nudges."""
    g0 = q.ep_readout(P, P.s0, 0)
    top = max([abs(x) for x in g0] + [mpmath.mpf(10) ** -P.working_dps])
    tried = []

    def circle(rho, n):
        found = _mean_value(P, rho, n, g0, top)
        tried.append((rho, found is not None, n))
        return found

    def aim(rho, coeffs):  # a fraction of the circle's own estimate (inf: none within reach)
        return _aim(P) * predicted(coeffs, rho, _noise(P, rho, coeffs, top), SCAN_SPAN)[0]

    rho = mpmath.mpf(start if start is not None else P.beta_radius) / 2
    coeffs = circle(rho, scan)
    for _ in range(halvings):
        if coeffs is not None:
            break
        rho /= 2
        coeffs = circle(rho, scan)
    if coeffs is None:
        raise ComputationBreakdown("no circle around beta = 0 keeps g analytic down to "
                                   f"{mpmath.nstr(rho, 3)}: the radius of beta -> s^beta is "
                                   "smaller still")
    target, ceiling = aim(rho, coeffs), mpmath.inf
    for _ in range(steps):  # up: towards AIM times the estimate, at most 4x a step
        if target <= 4 * rho:
            break
        trial = min(4 * rho, mpmath.sqrt(rho * ceiling))
        if trial <= mpmath.mpf("1.05") * rho:
            break
        found = circle(trial, scan)
        if found is None:
            ceiling = trial   # too far: halfway (geometrically) the next time
        else:
            rho, target = trial, aim(trial, found)
    final = rho if not mpmath.isfinite(target) else min(target, mpmath.sqrt(rho * ceiling))
    coeffs = circle(final, points)
    for _ in range(halvings):
        if coeffs is not None:
            break
        final *= mpmath.mpf("0.8")
        coeffs = circle(final, points)
    if coeffs is None:
        raise ComputationBreakdown(f"no circle of {points} nudges keeps g analytic down to "
                                   f"{mpmath.nstr(final, 3)}, inside the scan's "
                                   f"{mpmath.nstr(rho, 3)}")
    value, singularity = predicted(coeffs, final, _noise(P, final, coeffs, top), PREDICTION_SPAN)
    return Radius(value=value, rho=final, coefficients=_sizes(coeffs), tried=tuple(tried),
                  singularity=singularity)


def _aim(P):
    """The circles' aim as a fraction of the estimated radius: :data:`AIM`, or further out where
    the working digits would leave the fitted tail at the samples' rounding ((rho/R)^64 down
    to 10^(16 - working digits): 0.8 at 22 digits, dps 12), at most :data:`AIM_MAX`."""
    return min(AIM_MAX, max(AIM, mpmath.mpf(10) ** (mpmath.mpf(16 - P.working_dps) / 64)))


def _noise(P, rho, coeffs, top):
    """The samples' rounding, in b_m = a_m rho^m."""
    size = max([top] + [abs(x) * rho for x in coeffs[1]])
    return mpmath.mpf(10) ** -(P.working_dps - 10) * size


#: Order of the linear recurrence fitted to the coefficients' tail (two conjugate pairs).
PREDICTION_ORDER = 4
#: How many of the last coefficients the recurrence is fitted over: the final circle's
#: (a_40..a_64), the scan's (a_6..a_16).
PREDICTION_SPAN, SCAN_SPAN = 24, 10
#: The tail's weights m^gamma tried: a pole (gamma 0), a fold (the generic singularity of a
#: solution branch, s ~ sqrt(beta* - beta): a_m carries m^-3/2, which a plain recurrence
#: over a_40..a_64 reads as a radius 1% to 3% too large, more or less with the circle).
WEIGHTS = (0, mpmath.mpf("1.5"))
#: A root counts where its term carries at least this fraction of the tail's largest term at
#: the tail's end; a smaller one is the fit absorbing the fold's 1/m corrections (it comes and
#: goes with the circle and the order), while a nearer singularity grows along the tail.
SIGNIFICANT = mpmath.mpf("0.1")
#: The projection's seed (a fixed one: the same coefficients give the same R).
SEED = 2019


def predicted(coeffs, rho, noise, span=PREDICTION_SPAN):
    """``(R, beta*)`` from the coefficients' tail, ``(inf, None)`` where none is within reach.

    The components whose last ``span`` + 1 coefficients ``b_m = a_m rho^m`` stand above the
    samples' rounding (``noise``) are each scaled to their tail's size and projected on a
    seeded random vector (a generic projection sees every component's singularities; none
    left: g a polynomial, or entire as far as the digits tell, R infinite). The projected
    tail is fitted by the lowest-order linear recurrence ``b_(m+1) = sum_j c_j b_(m-j)`` (order
    1 to :data:`PREDICTION_ORDER`, to 1e-6 of its size, least squares: linear prediction, the
    idea of the lowest Pade approximants) as it is and weighted by m^(3/2) (:data:`WEIGHTS`);
    the weighting fitted by the lower order, then more closely, wins. R = rho / |z|, z its
    largest :data:`SIGNIFICANT` root; a root that puts R inside the circle itself is spurious
    (g is analytic there): infinite."""
    first = len(coeffs) - span - 1
    rng = random.Random(SEED)
    tail = [mpmath.mpf(0)] * (span + 1)
    for i in range(len(coeffs[0])):
        b = [coeffs[m][i] * rho ** m for m in range(first, len(coeffs))]
        size = max(abs(x) for x in b)
        v = mpmath.mpf(rng.gauss(0, 1))
        if size > 1000 * noise:
            tail = [t + v * x / size for t, x in zip(tail, b)]
    if not any(tail):
        return mpmath.inf, None
    fits = []
    for gamma in WEIGHTS:
        weighted = [x * mpmath.mpf(first + k) ** gamma for k, x in enumerate(tail)]
        found = _recurrence(weighted)
        if found is not None:
            fits.append(found)
    if not fits:
        return mpmath.inf, None
    _, _, roots, z = min(fits, key=lambda f: (f[0], f[1]))
    if not 0 < abs(z) < 1:  # R = rho / |z| inside the circle itself: spurious
        return mpmath.inf, None
    return rho / abs(z), rho / _lower(roots, z)


def _recurrence(b):
    """``(K, misfit, roots, z)``: the lowest-order linear recurrence fitting ``b`` to 1e-6 of
    its size (K = :data:`PREDICTION_ORDER` + 1 where none does: the highest order's roots),
    its roots and the largest significant one; None where nothing can be fitted."""
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
        misfit = mpmath.mnorm(A * c - y, 1) / (size * len(ms))
        best = (K, misfit, roots)
        if misfit <= mpmath.mpf("1e-6"):
            break
    else:
        if best is None:
            return None
        best = (PREDICTION_ORDER + 1,) + best[1:]
    return best + (_significant(b, best[2]),)


def _significant(b, roots):
    """The largest of ``roots`` whose term ``A_j z_j^m`` (amplitudes by least squares on the
    powers of the roots) carries at least :data:`SIGNIFICANT` of the largest term at the
    tail's end; the largest root where the amplitudes cannot be told apart."""
    last = len(b) - 1
    V = mpmath.matrix([[z ** m for z in roots] for m in range(len(b))])
    try:
        amp = mpmath.lu_solve(V.H * V, V.H * mpmath.matrix(b))
    except ZeroDivisionError:
        return max(roots, key=abs)
    terms = [abs(amp[j] * z ** last) for j, z in enumerate(roots)]
    return max((z for z, t in zip(roots, terms) if t >= SIGNIFICANT * max(terms)), key=abs)


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
