"""EP's estimators of dJ/dtheta at realistic size: float64, every example of a batch at once.

The same family as :mod:`.ep_estimators` (docs/MATH.md section 10), on an
:class:`~eqprop.numeric.array_network.ArrayNetwork` at a free fixed point s0:
the readout ``g(beta) = E_theta(s^beta) + beta C_theta(s^beta)`` summed over
the batch (paper 4.3; for a vector field, its linearization ``M (s^beta -
s0) + beta C_theta``), whose derivative at 0 is dJ/dtheta (4.4).

``holomorphic(nudges, r, N)``
    ``D_N(r) = (1 / (N r)) sum_k w^-k (g(r w^k) - g(0))``, ``w = exp(2 pi i / N)``:
    N = 1 one-sided (``r`` of either sign), N = 2 centered, N >= 3 the discrete
    Cauchy integral, error ``a_(N+1) r^N + ...``. The model is real, so
    ``g(conj beta) = conj g(beta)``: the nudges of the lower half circle are
    the conjugates of the upper ones, and ``floor(N/2) + 1`` nudged fixed points
    give the N-point sum (each solved by Newton, continued along the upper
    half circle from ``s0 + r ds/dbeta``).
``complex_step(nudges, h)``
    ``Im g(i h) / h``: the limit beta -> 0 (error O(h^2), below float64's rounding).
``truncated(nudges, eps, steps)``
    RBP's ``Thetabar_K = C_theta - eps M (Sbar_0 + ... + Sbar_(K-1))`` after each
    of ``steps`` Euler steps: truncated RBP, equal by Theorem 3 (5.5 in
    discrete time) to EP's temporal derivative stopped after K steps.

:func:`errors` measures an estimate against the exact gradient as the
literature does: max abs, relative (2-norms), cosine, angle and per-parameter
RMSE, over every entry of every parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from eqprop.numeric.batch_solve import solve
from eqprop.numeric.nudged import CONVERGED, nudged_fixed_point

from .scale_agreement import _flat

__all__ = ["Nudges", "Errors64", "errors", "holomorphic", "complex_step", "truncated",
           "NoNudgedFixedPoint"]


class NoNudgedFixedPoint(ArithmeticError):
    """Newton found no nudged fixed point for some example (its residual stayed above
    :data:`~eqprop.numeric.nudged.CONVERGED`)."""


@dataclass(frozen=True)
class Errors64:
    """An estimate against dJ/dtheta, over all parameter entries: ``absolute`` max|est - g|,
    ``relative`` |est - g| / |g|, ``cosine`` est.g / (|est| |g|), ``rmse`` sqrt(mean (est -
    g)^2)."""

    absolute: float
    relative: float
    cosine: float
    rmse: float

    @property
    def angle(self):
        """The angle between the estimate and the exact gradient, in degrees."""
        if not math.isfinite(self.cosine):
            return math.nan
        return math.degrees(math.acos(max(-1.0, min(1.0, self.cosine))))

    def to_dict(self, digits=6):
        return {k: float(f"{getattr(self, k):.{digits}g}")
                for k in ("absolute", "relative", "cosine", "angle", "rmse")}


def errors(estimate, exact) -> Errors64:
    """:class:`Errors64` of ``estimate`` (one array per parameter) against ``exact``."""
    est, g = np.real(_flat(estimate)), _flat(exact)
    d = est - g
    ng, ne, nd = (float(np.linalg.norm(v)) for v in (g, est, d))
    relative = nd / ng if ng else (math.inf if nd else 0.0)
    cosine = float(est @ g) / (ne * ng) if ne and ng else math.nan
    return Errors64(absolute=float(np.max(np.abs(d), initial=0.0)), relative=relative,
                    cosine=cosine, rmse=float(np.sqrt(np.mean(d * d))) if d.size else 0.0)


class Nudges:
    """The network at its free fixed point, ready for nudged fixed points at any beta.

    ``v1 = ds^beta/dbeta at 0 = -H^-1 C_s`` (one CG solve) is the predictor of
    every Newton start; ``g0`` the readout at s0. ``solved`` counts the nudged
    fixed points solved (the cost, in free-phase-like solves).
    """

    def __init__(self, net, s0):
        self.net, self.s0 = net, s0
        self.lin0 = net.linearize(s0)
        self.c_theta = net.dC_dtheta(s0)
        self.v1 = -solve(self.lin0, net.dC_ds(s0))
        self.g0 = self.readout(s0, 0.0)
        self.solved = 0

    def readout(self, s, beta):
        """``g(beta)`` at the state s (one array per parameter, summed over the batch)."""
        net = self.net
        if net.has_energy:
            e = net.dE_dtheta(s)
            c = net.dC_dtheta(s)
            return [_dense(a) + beta * _dense(b) for a, b in zip(e, c)]
        return [_dense(a) + beta * _dense(b)
                for a, b in zip(self.lin0.mv(s - self.s0), self.c_theta)]

    def state(self, beta, start=None):
        """``(s^beta, residual per example)`` by Newton from ``start`` (default: the
        predictor ``s0 + beta v1``)."""
        beta = np.asarray(beta)
        if start is None:
            start = self.s0 + beta * self.v1
        self.solved += 1
        return nudged_fixed_point(self.net, start, beta)

    def half_circle(self, r, N, *, strict=True, halvings=None):
        """The nudged fixed points at ``r w^k``, k = 0..floor(N/2): continued from s0 out to
        ``r`` and then along the upper half circle (:meth:`walk`); ``r`` a number or a column
        per example. ``strict``: raise :class:`NoNudgedFixedPoint` where an example's residual
        stays above CONVERGED; else also return each example's worst residual."""
        r = np.asarray(r, dtype=float)
        states, worst = [], np.zeros(self.s0.shape[0])
        here, slope, behind = (np.zeros_like(r), self.s0), self.v1, []
        for k in range(N // 2 + 1):
            beta = _on_circle(r, N, k)
            s, res, slope = self.walk(here, beta, slope, halvings, give_up=strict, behind=behind)
            behind = (behind + [here])[-2:]
            worst = np.maximum(worst, np.where(np.isfinite(res), res, np.inf))
            if strict and not np.all(worst <= CONVERGED):
                raise NoNudgedFixedPoint(
                    f"no nudged fixed point at |beta| = {float(np.max(np.abs(r))):.3g} (residual "
                    f"{float(np.max(worst)):.1e}): beyond the radius of beta -> s^beta, or "
                    "too close to its singularity for Newton")
            here = (beta, s)
            states.append(here)
        return states if strict else (states, worst)

    def walk(self, here, beta, slope, halvings=None, give_up=False, behind=()):
        """Continue ``here = (beta0, s^beta0)`` along the chord to ``beta``:
        ``(s^beta, residual, secant slope)``.

        Predictor ``s + dbeta slope``, Newton the corrector; a step is taken only if
        Newton converged close to the prediction (the correction at most :data:`CLOSE`
        of the step), else halved (at most ``halvings`` times, default :data:`HALVINGS`). Near a fold the two
        sheets of s^beta are close, and a long step lets Newton land on the other one:
        continuity, not convergence alone, keeps the principal branch. ``give_up``: return
        as soon as an example is lost (its residual infinite). ``behind``: the two points
        before ``here``, if known: the first step's prediction is then the parabola through
        the three (error O(dbeta^3) instead of the secant's O(dbeta^2)). A real
        ``beta`` reached from a complex state is first tried in real arithmetic (the
        principal branch is real on the real axis), at half the cost."""
        least = 2.0 ** -(HALVINGS if halvings is None else halvings)
        (b, s), done, part = here, 0.0, 1.0
        start = b
        res, lost = np.zeros(s.shape[0]), np.zeros(s.shape[0], dtype=bool)
        while done < 1.0:
            h = min(part, 1.0 - done)
            bt = beta if done + h >= 1.0 else start + (beta - start) * (done + h)
            pred = s + (bt - b) * slope
            if len(behind) == 2 and done == 0.0 and h == 1.0:
                pred = _parabola(behind[0], behind[1], (b, s), bt)
            s_new, res_new = self._solve(bt, pred)
            converged = res_new <= CONVERGED
            close = _maxabs(s_new - pred) <= CLOSE * _maxabs(s_new - s) + 1e-10
            # the smallest step is taken, close or not (beyond the radius no path stays on
            # one sheet); an example Newton lost there stays lost (its residual says so), and
            # the others walk on
            if np.all((converged & close) | lost) or part <= least:
                lost |= ~converged
                db = np.asarray(bt - b)
                moved = np.broadcast_to(db != 0, db.shape)
                slope = np.where(moved, (s_new - s) / np.where(moved, db, 1), slope)
                s, b, res, done, part = s_new, bt, res_new, done + h, min(1.0, 2 * h)
                if give_up and lost.any():
                    break
            else:
                part = h / 2
        res = np.where(lost, np.maximum(res, np.inf), res)
        return s, res, slope


    def _solve(self, beta, pred):
        """Newton at ``beta`` from ``pred``; for a real ``beta`` and a complex prediction, in
        real arithmetic first (kept where it converges)."""
        if np.iscomplexobj(pred) and not np.iscomplexobj(np.asarray(beta)):
            s, res = self.state(beta, pred.real)
            if np.all(res <= CONVERGED):
                return s.astype(complex), res
        return self.state(beta, pred)


def _parabola(p0, p1, p2, beta):
    """The quadratic through ``(b0, s0), (b1, s1), (b2, s2)`` at ``beta`` (Newton's divided
    differences; rows where two nudges coincide fall back to the last state)."""
    (b0, s0), (b1, s1), (b2, s2) = p0, p1, p2

    def quotient(x, y):
        y = np.asarray(y)
        ok = np.broadcast_to(y != 0, y.shape)
        return np.where(ok, x / np.where(ok, y, 1), 0)
    d1, d2 = quotient(s1 - s0, b1 - b0), quotient(s2 - s1, b2 - b1)
    return s2 + (beta - b2) * d2 + (beta - b2) * (beta - b1) * quotient(d2 - d1, b2 - b0)


#: Halvings at most of one continuation step.
HALVINGS = 6
#: A continuation step is taken when Newton's answer lies within this fraction of the step
#: from the prediction.
CLOSE = 0.5


def _maxabs(a):
    return np.max(np.abs(a), axis=-1)


def _on_circle(r, N, k):
    """``r w^k`` (real for k = 0 and k = N/2)."""
    return r * np.exp(2j * np.pi * k / N) if 0 < 2 * k < N else r * (1 if k == 0 else -1)


def _dense(a):
    return a.dense() if hasattr(a, "dense") else a


def holomorphic(nudges, r, N, *, orientation=-1, halvings=None):
    """``D_N(r)`` (module docstring), real, one array per parameter. ``orientation`` +1
    weights the points by ``w^+k``: a wrong combination, for the negative control.
    ``halvings``: of a continuation step, at most (beyond the radius, where no path keeps
    one branch, a few do)."""
    if N == 1:
        (beta, s), = nudges.half_circle(r, 1, halvings=halvings)
        return [np.real(a - b) / r for a, b in zip(nudges.readout(s, beta), nudges.g0)]
    total = [np.zeros_like(b, dtype=float) for b in nudges.g0]
    for k, (beta, s) in enumerate(nudges.half_circle(r, N, halvings=halvings)):
        d = [a - b for a, b in zip(nudges.readout(s, beta), nudges.g0)]
        w = np.exp(2j * np.pi * orientation * k / N)
        # k and N - k are conjugate terms: 2 Re(w^-k d_k); k = 0 and N/2 are real, once
        twice = 1 if k == 0 or 2 * k == N else 2
        total = [t + twice * np.real(w * x) for t, x in zip(total, d)]
    return [t / (N * r) for t in total]


#: The complex step of :func:`complex_step`.
COMPLEX_STEP = 1e-8


def complex_step(nudges, h=COMPLEX_STEP):
    """``Im g(i h) / h`` from the nudged fixed point at beta = i h, by Newton from s0 itself
    (not from the predictor s0 + i h ds/dbeta, which would leave Newton nothing to do): the
    imaginary part comes from the nudged solver's own step with H + i h C_ss. ``h`` = 1e-8,
    not the 1e-20 of ``eqprop scale``'s dual numbers: in complex128 the imaginary part of the
    residual must stand above the real part's rounding (about 1e-16) for Newton to see it;
    the error O(h^2) stays at 1e-16 of the gradient."""
    s, res = nudged_fixed_point(nudges.net, nudges.s0.astype(complex), 1j * h, tol=0.0,
                                cg_tol=1e-14)
    nudges.solved += 1
    if not np.all(res <= CONVERGED):
        raise NoNudgedFixedPoint(f"no nudged fixed point at beta = i h (residual "
                                 f"{float(np.max(res)):.1e})")
    return [np.imag(a) / h for a in nudges.readout(s, 1j * h)]


def truncated(nudges, eps, steps):
    """``Thetabar_K`` after each K of ``steps`` (increasing): RBP's discrete adjoint
    ``Sbar_(k+1) = Sbar_k - eps H^T Sbar_k`` from ``Sbar_0 = C_s``, one product with M
    per K asked for."""
    lin, net = nudges.lin0, nudges.net
    sb = net.dC_ds(nudges.s0)
    total = np.zeros_like(sb)
    out, k = [], 0
    for K in steps:
        while k < K:
            total += sb
            sb = sb - eps * lin.hv(sb, transpose=True)
            k += 1
        out.append([_dense(c) - _dense(m) for c, m in zip(nudges.c_theta, lin.mv(eps * total))])
    return out
