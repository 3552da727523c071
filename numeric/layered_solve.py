"""The free phase of a layered network, globalized, and the extreme eigenvalues of H at its end.

:func:`free_phase` finds s0 for every example of a batch, whatever the
Euler step: first the relaxation ``s <- s - eps dE/ds`` the network would
run, each step accepted only if it lowers the example's energy (else that
example's step is halved), until the residual is small; then Newton-CG
with a backtracking line search on the energy. Truncated CG stops at a
direction of negative curvature and follows it downhill, so the iteration
is drawn to minima, not to saddles; a step is accepted only if it lowers the
energy (or, at a point where CG saw only positive curvature, the residual:
near the minimum the energy's decrease is below its rounding). A
non-gradient control network (``net.gradient_field`` False) has no energy:
its merit is ``|dE/ds|^2 / 2`` and its Newton direction comes from CG on the
normal equations. Nothing diverges silently: each example ends with a
status and its residual.

:func:`extreme_eigenvalues` runs Lanczos on the batched product ``H v``
(per example, from a seeded random start) and returns the smallest and
largest Ritz values with their residual bounds. A Ritz value lies between
the extreme eigenvalues, so ``theta_min < 0`` proves a saddle and ``eps
theta_max > 2`` an unstable Euler step; ``theta_min - bound > 0`` is a
strict minimum once Lanczos has found the bottom of the spectrum (with
probability one from a random start). Lanczos subsumes power iteration: its
Krylov space holds the power iterate, so its largest Ritz value is at least
the power method's estimate after as many products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layered_fast import Workspace

__all__ = ["FreePhase", "free_phase", "Spectrum", "extreme_eigenvalues", "solve"]

#: where relaxation hands over to Newton-CG (max |dE/ds| of an example)
SWITCH = 1e-3
#: an Armijo decrease factor
ARMIJO = 1e-4
#: a state beyond this size has run away (the energy has no minimum in reach)
S_MAX = 1e8


def _dot(a, b):
    return np.einsum("ij,ij->i", a, b)


def _norm(a):
    return np.sqrt(np.maximum(_dot(a, a), 0.0))


def _maxabs(a):
    return np.max(np.abs(a), axis=-1) if a.shape[-1] else np.zeros(a.shape[:-1])


@dataclass
class FreePhase:
    """The free phase's end: s, and per example its residual max|dE/ds| and status.

    ``status[i]`` is ``"converged"`` (residual at most ``tol``), ``"floor"``
    (Newton stopped improving: the residual is at float64's rounding of the
    force), ``"stalled"`` (no step along the Newton direction lowered the
    merit), ``"budget"`` (iterations ran out) or ``"diverged"`` (not
    converged, and the state ran out of range: a trial state or its merit
    was not finite, or ``max|s|`` passed :data:`S_MAX`).
    """

    s: np.ndarray
    residual: np.ndarray
    status: list
    relax_steps: int
    newton_steps: int
    products: int


class _Merit:
    """The merit function of the free phase and its gradient, per example."""

    def __init__(self, net, x):
        self.net, self.x, self.energy = net, x, net.gradient_field

    def __call__(self, s):
        if self.energy:
            return self.net.energy_and_grad(s, self.x)
        g = self.net.dE_ds(s, self.x)
        return 0.5 * _dot(g, g), g


def _relax(merit, s, eps, max_steps):
    """Euler steps ``s - eps_i g`` per example while its residual exceeds SWITCH, each lowering the merit."""
    m, g = merit(s)
    step = np.full(s.shape[0], float(eps))
    ran_out = ~np.isfinite(m)
    k = 0
    for k in range(1, max_steps + 1):
        active = np.isfinite(m) & (_maxabs(g) > SWITCH) & (step > 1e-12 * eps) \
            & (_maxabs(s) <= S_MAX)
        if not active.any():
            return s, m, g, k - 1, ran_out
        trial = s - np.where(active, step, 0.0)[:, None] * g
        mt, gt = merit(trial)
        finite = np.isfinite(mt) & np.all(np.isfinite(gt), axis=-1)
        ran_out |= active & ~finite
        # energy: Armijo; the residual's merit of a control: no more than a bounded growth
        ok = active & finite & (mt <= m - ARMIJO * step * _dot(g, g) if merit.energy else mt <= 4 * m)
        s = np.where(ok[:, None], trial, s)
        m, g = np.where(ok, mt, m), np.where(ok[:, None], gt, g)
        step = np.where(active & ~ok, step / 2, step)
    return s, m, g, k, ran_out


def _truncated_cg(op, b, rtol, live, maxiter):
    """CG on op(d) = b per example, stopped at a direction of negative curvature.

    Returns ``(d, negative, products)``: where curvature ``p.Hp <= 0`` is met,
    d is the iterate so far, or ``b`` itself (steepest descent) at the first
    iteration, and ``negative`` is True for that example.
    """
    d = np.zeros_like(b)
    r, p = b.copy(), b.copy()
    rr = _dot(r, r)
    bnorm = np.sqrt(rr)
    live = live & (bnorm > 0)
    negative = np.zeros(b.shape[0], bool)
    products = 0
    for j in range(maxiter):
        if not live.any():
            break
        Ap = op(p)
        products += 1
        pAp = _dot(p, Ap)
        neg = live & ~(pAp > 0)
        if neg.any():
            negative |= neg
            if j == 0:
                d = np.where(neg[:, None], b, d)
            live = live & ~neg
        alpha = np.where(live, rr / np.where(live, pAp, 1.0), 0.0)
        d = d + alpha[:, None] * p
        r = r - alpha[:, None] * Ap
        rr_new = _dot(r, r)
        live = live & (np.sqrt(rr_new) > rtol * bnorm)
        p = r + np.where(live, rr_new / np.where(rr > 0, rr, 1.0), 0.0)[:, None] * p
        rr = rr_new
    return d, negative, products


def free_phase(net, x, s=None, *, eps=0.5, tol=1e-15, accept=1e-12, max_relax=1000, max_newton=60,
               max_cg=None):
    """s0 of every example (see the module docstring); returns a :class:`FreePhase`.

    ``s`` (default zeros) is the initial state; ``eps`` the relaxation's
    largest step; Newton aims at ``max|dE/ds| <= tol`` and stops an example
    whose residual is below ``accept`` once two iterations no longer halve it
    (float64's floor).
    """
    B, n = x.shape[0], net.n_free
    s = np.zeros((B, n)) if s is None else np.array(s, dtype=float)
    merit = _Merit(net, x)
    s, m, g, relax_steps, ran_out = _relax(merit, s, eps, max_relax)
    res = _maxabs(g)
    status = np.array(["budget"] * B, dtype=object)
    done = np.zeros(B, bool)
    slow = np.zeros(B, int)
    products, it = 0, 0
    maxcg = max_cg or max(50, 2 * n)
    for it in range(1, max_newton + 1):
        fin = np.isfinite(res) & np.isfinite(m)
        status[~fin] = "stalled"
        status[fin & (res <= tol)] = "converged"
        done |= ~fin | (res <= tol)
        if done.all():
            it -= 1
            break
        live = ~done
        lin = net.linearize(s, x)
        eta = np.clip(np.minimum(0.5, np.sqrt(res)), np.maximum(1e-14, 0.1 * tol / np.maximum(res, 1e-300)), 0.5)
        if merit.energy:
            d, negative, k = _truncated_cg(lin.hv, -g, eta, live, maxcg)
            slope = _dot(g, d)
        else:  # Newton on a vector field: CG on the normal equations H^T H d = -H^T g
            d, _, k = _truncated_cg(lambda v: lin.hv(lin.hv(v), transpose=True),
                                    -lin.hv(g, transpose=True), eta, live, maxcg)
            negative, slope, k = np.zeros(B, bool), -2 * m, 2 * k + 1
        products += k
        alpha = np.ones(B)
        taken = ~live
        for _ in range(50):
            trial = s + np.where(taken, 0.0, alpha)[:, None] * d
            mt, gt = merit(trial)
            rt = _maxabs(gt)
            ran_out |= ~taken & ~(np.isfinite(mt) & np.isfinite(rt))
            ok = ~taken & np.isfinite(mt) & np.isfinite(rt) & (
                (mt <= m + ARMIJO * alpha * slope) | (~negative & (rt <= 0.9 * res)))
            s = np.where(ok[:, None], trial, s)
            g = np.where(ok[:, None], gt, g)
            slow = np.where(ok, np.where(rt > 0.5 * res, slow + 1, 0), slow)
            m, res = np.where(ok, mt, m), np.where(ok, rt, res)
            taken |= ok
            if taken.all():
                break
            alpha = np.where(taken, alpha, alpha / 2)
        stalled = ~taken
        status[stalled] = "stalled"
        floor = ~done & (slow >= 2) & (res <= accept)
        status[floor] = "floor"
        done |= stalled | floor
    else:
        fin = np.isfinite(res)
        status[~done & fin & (res <= tol)] = "converged"
    away = ran_out | ~np.all(np.isfinite(s), axis=-1) | (_maxabs(s) > S_MAX)
    status[away & ~np.isin(status, ("converged", "floor"))] = "diverged"
    return FreePhase(s=s, residual=res, status=list(status), relax_steps=relax_steps,
                     newton_steps=it, products=products)


@dataclass
class Spectrum:
    """Per example: the extreme Ritz values of H and their residual bounds, after ``iterations``."""

    lmin: np.ndarray
    lmin_bound: np.ndarray
    lmax: np.ndarray
    lmax_bound: np.ndarray
    iterations: int


def _ritz(alphas, betas, k):
    """Extreme Ritz values and residual bounds of the k x k Lanczos tridiagonal, per example."""
    A, Bt = np.array(alphas[:k]).T, np.array(betas[:k]).T
    T = np.zeros((A.shape[0], k, k))
    i = np.arange(k)
    T[:, i, i] = A
    T[:, i[:-1], i[:-1] + 1] = T[:, i[:-1] + 1, i[:-1]] = Bt[:, :-1]
    ok = np.all(np.isfinite(T), axis=(1, 2))  # an example with a NaN gets NaN, the rest their values
    theta, Y = np.full((A.shape[0], k), np.nan), np.full((A.shape[0], k, k), np.nan)
    if ok.any():
        theta[ok], Y[ok] = np.linalg.eigh(T[ok])
    last = Bt[:, -1]
    return theta[:, 0], last * np.abs(Y[:, -1, 0]), theta[:, -1], last * np.abs(Y[:, -1, -1])


def extreme_eigenvalues(lin, *, eps, seed=0, rtol=1e-3, min_iter=8, max_iter=80, every=4):
    """Lanczos on ``lin.hv`` (its symmetric part for a control network): a :class:`Spectrum`.

    An example is done once both extreme Ritz values have residual bounds
    below ``rtol`` times the spectrum's size and the two questions asked of
    them are decided: ``lmin`` against 0, ``eps lmax`` against 2. At most
    ``max_iter`` products (``min(max_iter, n)``: n steps span the space).
    """
    net = lin.net
    B, n = lin.shape
    ws = Workspace()
    if net.gradient_field:
        def op(v):
            return lin.hv(v, ws=ws).copy()
    else:
        def op(v):
            return 0.5 * (lin.hv(v) + lin.hv(v, transpose=True))
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((B, n))
    q /= _norm(q)[:, None]
    q_prev, b_prev = np.zeros_like(q), np.zeros(B)
    alphas, betas = [], []
    m = min(max_iter, n)
    out, k = None, 0
    for k in range(1, m + 1):
        w = op(q)
        a = _dot(w, q)
        w -= a[:, None] * q + b_prev[:, None] * q_prev
        w -= _dot(w, q)[:, None] * q  # one local re-orthogonalization against the newest vector
        b = _norm(w)
        # an invariant subspace (b at rounding): its Ritz values are eigenvalues; Lanczos
        # restarts from a fresh random vector, and T splits into blocks (beta = 0 between)
        dead = b <= 1e-13 * (np.abs(a) + b_prev)
        b = np.where(dead, 0.0, b)
        alphas.append(a)
        betas.append(b)
        if k == m or (k >= min_iter and k % every == 0):
            lo, blo, hi, bhi = out = _ritz(alphas, betas, k)
            size = np.maximum(np.abs(lo), np.abs(hi)) + 1e-300
            decided = ((lo < 0) | (lo - blo > 0)) & ((eps * hi >= 2) | (eps * (hi + bhi) < 2))
            if k == m or np.all(decided & (blo <= rtol * size) & (bhi <= rtol * size)):
                break
        if dead.any():
            w[dead] = rng.standard_normal((int(dead.sum()), n))
        q_prev, q, b_prev = q, w / np.where(dead, _norm(w), b)[:, None], b
    lo, blo, hi, bhi = out
    return Spectrum(lmin=lo, lmin_bound=blo, lmax=hi, lmax_bound=bhi, iterations=k)


def solve(lin, b, *, transpose=False, tol=1e-14, maxiter=None):
    """Solve ``H z = b`` (``H^T z = b``) per example: CG for a gradient field, CG on the normal equations otherwise."""
    from .layered import cg_solve
    if lin.net.gradient_field:
        return cg_solve(lambda v: lin.hv(v, transpose=transpose), b, tol=tol, maxiter=maxiter)
    # A z = b with A = H^T (or H): A^T A z = A^T b
    return cg_solve(lambda v: lin.hv(lin.hv(v, transpose=transpose), transpose=not transpose),
                    lin.hv(b, transpose=not transpose), tol=tol, maxiter=maxiter)
