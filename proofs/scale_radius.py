"""The radius of beta -> s^beta at realistic size, per example (float64).

The nudged fixed point s^beta of one example is analytic in beta up to the
nearest complex beta* where its continuation from 0 stops (a fold: H(s^beta)
+ beta d2C/ds2 singular there). The batch's readout is the sum of its
examples', so the holomorphic estimators of the batch's gradient converge for
``r`` below the smallest radius and break beyond it.

:func:`radius` reads each example's radius off the Taylor coefficients of a
projection ``p(beta) = v . s^beta`` (v a seeded random vector: a generic
projection sees every singularity of s^beta), the method of
:func:`~.ep_estimators.radius` in float64 and batched:

1. on a circle ``|beta| = rho_i`` per example, :data:`POINTS` nudged fixed
   points (half of them solved, the rest their conjugates) give
   ``b_m = a_m rho^m``, m = 0..POINTS/2, by a discrete Fourier transform;
2. the circle is kept where the samples keep the mean-value property ``b_0 =
   p(0)`` to :data:`TOLERANCE` of their size and every Newton converged (a
   circle beyond the radius breaks one or the other), each example's circle
   halved from ``start`` until it holds, then grown towards :data:`AIM` times
   the radius its own coefficients predict (at most 4x per step; a circle
   that fails is approached halfway, geometrically, the next time);
3. R_i = rho_i / |z| with z the largest root of the lowest-order linear
   recurrence fitting the tail of b (:func:`recurrence`): a singularity at
   beta* makes ``b_m ~ (rho / beta*)^m``. The singularity itself is ``rho / z``.
   An example whose tail lies at float64's rounding sees none within reach: R = inf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from eqprop.numeric.nudged import CONVERGED

__all__ = ["RadiusAtScale", "radius", "recurrence", "POINTS", "TOLERANCE"]

#: Nudges per circle (coefficients a_0..a_32 are fitted).
POINTS = 64
#: The mean-value property's tolerance (the aliased a_N rho^N, about (rho/R)^N: 1e-6 keeps
#: the circle within about 0.8 R for N = 64).
TOLERANCE = 1e-6
#: The recurrence: orders 1..ORDER, fitted over the last SPAN + 1 coefficients.
ORDER, SPAN = 6, 20
#: A fit is accepted at this residual, relative to the tail's size (float64 samples).
FIT = 1e-4
#: Halvings of the first circle at most; circles tried on the way up at most.
HALVINGS, STEPS_UP = 12, 8
#: The circle aimed at, as a fraction of the example's estimated radius (the aliased a_64
#: rho^64 is then about 6e-15, well inside TOLERANCE, and the tail b_32 about 1e-7).
AIM = 0.6
#: A kept circle beyond this fraction of its own reading is read once more at AIM of it.
SETTLE = 0.75


@dataclass(frozen=True)
class RadiusAtScale:
    """Per example: ``per_example`` R_i (inf where none is within reach), ``circles`` the
    circle each was read on, ``singularities`` the nearest beta* (complex; nan where none);
    ``tried``: ``(circle, kept)`` of every circle tried (any example; kept where its samples
    held); ``solved``: nudged fixed points."""

    per_example: np.ndarray
    circles: np.ndarray
    singularities: np.ndarray
    tried: list = field(default_factory=list)
    solved: int = 0

    @property
    def below(self):
        """The examples where no circle held down to the smallest tried: their radius is
        below it (``per_example`` holds that bound)."""
        return [int(i) for i in np.flatnonzero(~np.isfinite(self.circles))]

    @property
    def value(self):
        """The batch's radius: the smallest example's (inf if none is finite)."""
        finite = self.per_example[np.isfinite(self.per_example)]
        return float(finite.min()) if finite.size else float("inf")

    @property
    def example(self):
        """The example with the nearest singularity (None if none is finite)."""
        return int(np.argmin(self.per_example)) if np.isfinite(self.value) else None

    def to_dict(self):
        r = self.per_example[np.isfinite(self.per_example)]
        beta = self.singularities[self.example] if self.example is not None else None
        return {"value": self.value, "example": self.example,
                "singularity": None if beta is None else {"re": float(beta.real),
                                                          "im": float(beta.imag)},
                "median": float(np.median(r)) if r.size else None,
                "largest": float(r.max()) if r.size else None,
                "finite": int(r.size), "examples": int(self.per_example.size),
                "below_smallest_circle": self.below,
                "tried": [{"circle": c, "kept": k} for c, k in sorted(set(self.tried))],
                "solved": self.solved}


def _coefficients(nudges, rho, v, active):
    """``b_m`` (batch, POINTS/2 + 1) on |beta| = rho_i, and which examples' samples hold
    (converged, and b_0 = p(0) to TOLERANCE); inactive examples are nudged by 0."""
    r = np.where(active, rho, 0.0)[:, None]
    states, worst = nudges.half_circle(r, POINTS, strict=False)
    half = np.stack([s @ v for _, s in states])                  # (POINTS/2 + 1, batch)
    samples = np.concatenate([half, np.conj(half[1:-1][::-1])])   # g(conj beta) = conj g(beta)
    b = (np.fft.fft(samples, axis=0) / POINTS)[:POINTS // 2 + 1].T
    p0 = nudges.s0 @ v
    size = np.maximum(np.abs(p0), np.max(np.abs(b[:, 1:]), axis=1))
    holds = (worst <= CONVERGED) & (np.abs(b[:, 0] - p0) <= TOLERANCE * size)
    return b, holds & active


def radius(nudges, start=0.1, *, seed=0):
    """The :class:`RadiusAtScale` of every example of ``nudges`` (a :class:`~.scale_nudges.Nudges`),
    circles from ``start`` (module docstring)."""
    B, n = nudges.s0.shape
    v = np.random.default_rng([seed, 5]).standard_normal(n)
    rho = np.full(B, float(start))
    solved0, tried = nudges.solved, []
    kept = np.full(B, np.nan)
    coeffs = np.zeros((B, POINTS // 2 + 1), dtype=complex)
    active = np.ones(B, dtype=bool)
    for _ in range(HALVINGS + 1):  # down: halve each example's circle until it holds
        b, holds = _coefficients(nudges, rho, v, active)
        tried += _tried(rho, active, holds)
        coeffs[holds], kept[holds] = b[holds], rho[holds]
        active &= ~holds
        if not active.any():
            break
        rho = np.where(active, rho / 2, rho)
    growing, ceiling = np.isfinite(kept), np.full(B, np.inf)
    for _ in range(STEPS_UP):  # up: towards AIM times each example's own estimate
        est = np.array([_predicted(coeffs[i], kept[i])[0] if growing[i] else np.inf
                        for i in range(B)])
        aim = np.where(np.isfinite(est), AIM * est, 2 * kept)
        trial = np.minimum(np.clip(aim, 1.1 * kept, 4 * kept), np.sqrt(kept * ceiling))
        growing &= (aim > 1.1 * kept) & (trial > 1.05 * kept)
        if not growing.any():
            break
        trial = np.where(growing, trial, kept)
        b, holds = _coefficients(nudges, trial, v, growing)
        tried += _tried(trial, growing, holds)
        coeffs[holds], kept[holds] = b[holds], trial[holds]
        ceiling = np.where(growing & ~holds, trial, ceiling)  # too far: halfway next time
    per, where = _readings(coeffs, kept, start)
    # a circle grown past SETTLE of its own reading: its tail carries the aliased terms and
    # the fit is biased; read once more on AIM of it
    near = np.isfinite(per) & np.isfinite(kept) & (kept > SETTLE * per)
    if near.any():
        trial = np.where(near, AIM * per, kept)
        b, holds = _coefficients(nudges, trial, v, near)
        tried += _tried(trial, near, holds)
        coeffs[holds], kept[holds] = b[holds], trial[holds]
        per, where = _readings(coeffs, kept, start)
    return RadiusAtScale(per_example=per, circles=kept, singularities=where, tried=tried,
                         solved=nudges.solved - solved0)


def _readings(coeffs, kept, start):
    """``(R, beta*)`` per example from its kept circle's coefficients; an example where no
    circle held down to ``start / 2^HALVINGS`` has R below that (the bound, no location)."""
    B = len(kept)
    per, where = np.full(B, np.inf), np.full(B, np.nan, dtype=complex)
    for i in range(B):
        if not np.isfinite(kept[i]):
            per[i] = start / 2 ** HALVINGS
            continue
        per[i], where[i] = _predicted(coeffs[i], kept[i])
    return per, where


def _tried(rho, active, holds):
    """``(circle, kept)`` of the examples that were tried, one entry per distinct pair."""
    return sorted({(float(f"{r:.6g}"), bool(h)) for r, h, a in zip(rho, holds, active) if a})


def _predicted(b, rho):
    """``(R, beta*)`` from the coefficients ``b_m = a_m rho^m`` of one example.

    The tail is fitted as it is (a pole: ``b_m ~ z^m``) and weighted by m^(3/2) (a fold,
    the generic singularity of a solution branch: ``s ~ sqrt(beta* - beta)``, whose
    coefficients carry m^(-3/2), which a plain recurrence over m = 12..32 reads as a radius
    about 7% too large). Readings that contradict the circle's mean value are left out; of
    the rest, the lower order wins, and at equal orders the fold (a near-tie of the misfits
    says nothing: a math review found the pole's reading chosen 6% too large by a misfit
    1% smaller).
    """
    size = max(float(np.max(np.abs(b))), 1e-300)
    first = len(b) - SPAN - 1
    tail = b[first:]
    if np.min(np.abs(tail)) <= NOISE * size:  # part of the tail at float64's rounding:
        return np.inf, np.nan               # no reading (a larger circle will give one)
    m = np.arange(first, len(b), dtype=float)
    fits = [(gamma, recurrence(tail * m ** gamma)) for gamma in WEIGHTS]
    # a root that contradicts the circle's mean value (R too near it) is spurious
    fits = [(gamma, f) for gamma, f in fits if f is not None and 0 < abs(f[0]) < CONSISTENT]
    if not fits:
        return np.inf, np.nan
    fitted = [(gamma, f) for gamma, f in fits if f[1] <= ORDER]
    if fitted:  # the lower order wins; at equal orders the fold (generic for s^beta), not
        # the misfit, which near a tie says nothing (a pole's reading is ~7% too large)
        z = min(fitted, key=lambda gf: (gf[1][1], -gf[0]))[1][0]
    else:  # no order fits (several singularities of about one modulus): the nearer reading
        z = max((f[0] for _, f in fits), key=abs)
    beta = rho / z
    return abs(beta), complex(beta.real, abs(beta.imag))


#: A tail with a coefficient below this fraction of the samples' size is partly float64's
#: rounding (about 1e-16 of it): no reading is taken from it (a hostile review found roots
#: read from noise on the first, small circle, which then stopped growing).
NOISE = 1e-13
#: A circle whose mean value held puts the nearest singularity beyond it: the aliased
#: b_64 ~ m^(-3/2) (rho/R)^64 (a fold's prefactor, 5e-4 at m = 64) is below TOLERANCE, so
#: rho / R < 0.89. A root z = rho / beta* larger than this contradicts that evidence (a
#: spurious root of the fit): left out.
CONSISTENT = 0.9
#: The tail's weights m^gamma tried: a pole, a fold.
WEIGHTS = (0.0, 1.5)


def recurrence(b):
    """``(z, K, misfit)``: the root z of largest modulus of the lowest-order linear recurrence
    ``b_(m+1) = sum_j c_j b_(m-j)`` (order K = 1..ORDER) fitting ``b`` to :data:`FIT` of its
    size (least squares; linear prediction, the idea of the lowest Pade approximants), K =
    ORDER + 1 when none fits (the highest order's root then); None if nothing can be fitted."""
    b = np.asarray(b, dtype=complex)
    size = max(float(np.max(np.abs(b))), 1e-300)
    best = None
    for K in range(1, ORDER + 1):
        rows = range(K - 1, len(b) - 1)
        if len(rows) < K + 1:
            break
        A = np.array([[b[m - j] for j in range(K)] for m in rows])
        y = np.array([b[m + 1] for m in rows])
        c, *_ = np.linalg.lstsq(A, y, rcond=None)
        roots = np.roots(np.concatenate([[1], -c]))
        if not roots.size or not np.all(np.isfinite(roots)):
            continue
        misfit = float(np.linalg.norm(A @ c - y, 1)) / (size * len(rows))
        best = (roots[np.argmax(np.abs(roots))], K, misfit)
        if misfit <= FIT:
            return best
    return None if best is None else (best[0], ORDER + 1, best[2])
