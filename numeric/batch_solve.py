"""The free phase of a batched network, globalized, and the extreme eigenvalues of H at its end.

``net`` is an :class:`~eqprop.numeric.array_network.ArrayNetwork` (any array
model, data bound); every example of the batch is one row of the state.

:func:`free_phase` finds s0 for every example of a batch, whatever the
Euler step: first the relaxation ``s <- s - eps_i dE/ds`` the network would
run, from ``eps_i = eps``, each step accepted only if it lowers the
example's energy (Armijo; a rejected step halves, an accepted one grows by
half), until the residual is below :data:`SWITCH` or a budget of steps;
then trust-region Newton-CG (Steihaug-Toint) on the energy. CG stops at the
region's boundary or at a direction of negative curvature, which it follows
to the boundary, so the iteration is drawn to minima, not to saddles; a
step is accepted only if it achieves a tenth of the decrease its quadratic
model predicts (near the minimum, where both are below the energy's
rounding, if it lowers the residual), and the region shrinks or grows with
that agreement. A non-gradient control network (``net.gradient_field``
False) has no energy: its merit is ``|dE/ds|^2 / 2`` with the Gauss-Newton
model (CG on the normal equations). Nothing diverges silently: each example
ends with a status and its residual.

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
    force), ``"stalled"`` (the trust region shrank to nothing above that
    floor), ``"budget"`` (iterations ran out) or ``"diverged"`` (not
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

    def __init__(self, net):
        self.net, self.energy = net, net.gradient_field

    def __call__(self, s):
        if self.energy:
            return self.net.energy_and_grad(s)
        g = self.net.dE_ds(s)
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
        # energy: Armijo; a control's merit |dE/ds|^2 / 2: a decrease
        ok = active & finite & (mt <= m - ARMIJO * step * _dot(g, g) if merit.energy else mt < m)
        s = np.where(ok[:, None], trial, s)
        m, g = np.where(ok, mt, m), np.where(ok[:, None], gt, g)
        # a rejected step halves, an accepted one grows: the relaxation crosses flat and
        # non-convex stretches at the pace the energy allows, not at the user's eps
        step = np.where(active & ~ok, step / 2, np.where(ok, 1.5 * step, step))
    return s, m, g, k, ran_out


def _steihaug(op, g, radius, rtol, live, maxiter):
    """Steihaug-Toint CG for min ``g.d + d.Hd/2`` within ``|d| <= radius``, per example.

    CG from d = 0 until the residual is below ``rtol |g|``, a direction of
    negative curvature is met, or the iterate would leave the region (then d
    goes to the boundary along that direction). Returns ``(d, predicted
    decrease -(g.d + d.Hd/2), products)``.
    """
    d, Hd = np.zeros_like(g), np.zeros_like(g)
    r = -g
    p = r.copy()
    rr = _dot(r, r)
    gnorm = np.sqrt(rr)
    live = live & (gnorm > 0)
    products = 0
    for _ in range(maxiter):
        if not live.any():
            break
        Ap = op(p)
        products += 1
        pAp = _dot(p, Ap)
        alpha = np.where(live & (pAp > 0), rr / np.where(pAp > 0, pAp, 1.0), 0.0)
        out = live & ((pAp <= 0) | (_norm(d + alpha[:, None] * p) >= radius))
        # to the boundary: tau >= 0 with |d + tau p| = radius
        dp, pp, dd = _dot(d, p), np.maximum(_dot(p, p), 1e-300), _dot(d, d)
        tau = (-dp + np.sqrt(np.maximum(dp * dp + pp * (radius ** 2 - dd), 0.0))) / pp
        step = np.where(out, tau, np.where(live, alpha, 0.0))
        d = d + step[:, None] * p
        Hd = Hd + step[:, None] * Ap
        live = live & ~out
        r = r - np.where(live, alpha, 0.0)[:, None] * Ap
        rr_new = _dot(r, r)
        live = live & (np.sqrt(rr_new) > rtol * gnorm)
        p = r + np.where(live, rr_new / np.where(rr > 0, rr, 1.0), 0.0)[:, None] * p
        rr = rr_new
    return d, -(_dot(g, d) + 0.5 * _dot(d, Hd)), products


def _newton_direction(net, lin, g, eta, live, maxcg, radius):
    """Per example: the step, the merit decrease it predicts (>= 0) and the products it took."""
    if net.gradient_field:
        return _steihaug(lin.hv, g, radius, eta, live, maxcg)
    # a vector field (control): Gauss-Newton on |dE/ds|^2 / 2, CG on H^T H d = -H^T g
    d, pred, k = _steihaug(lambda v: lin.hv(lin.hv(v), transpose=True),
                           lin.hv(g, transpose=True), radius, eta, live, maxcg)
    return d, pred, 2 * k + 1


def free_phase(net, s=None, *, eps=0.5, tol=1e-15, accept=1e-12, max_relax=300, max_newton=200,
               max_cg=None):
    """s0 of every example (see the module docstring); returns a :class:`FreePhase`.

    ``s`` (default zeros) is the initial state; ``eps`` the relaxation's
    first step; the trust-region Newton-CG aims at ``max|dE/ds| <= tol`` and
    stops an example whose residual is below ``accept`` once two iterations
    no longer halve it (float64's floor).
    """
    B, n = net.batch, net.n_free
    s = np.zeros((B, n)) if s is None else np.array(s, dtype=float)
    merit = _Merit(net)
    s, m, g, relax_steps, ran_out = _relax(merit, s, eps, max_relax)
    res = _maxabs(g)
    status = np.array(["budget"] * B, dtype=object)
    done = np.zeros(B, bool)
    slow = np.zeros(B, int)
    radius = np.ones(B)
    products, it = 0, 0
    maxcg = max_cg or min(max(50, 2 * n), 500)
    for it in range(1, max_newton + 1):
        fin = np.isfinite(res) & np.isfinite(m)
        status[~fin] = "stalled"
        status[fin & (res <= tol)] = "converged"
        stuck = fin & (res > tol) & (radius < 1e-15)  # no step helps any more
        status[stuck] = np.where(res[stuck] <= accept, "floor", "stalled")
        done |= ~fin | (res <= tol) | (radius < 1e-15)
        if done.all():
            it -= 1
            break
        live = ~done
        lin = net.linearize(s)
        eta = np.clip(np.minimum(0.5, np.sqrt(res)), np.maximum(1e-14, 0.1 * tol / np.maximum(res, 1e-300)), 0.5)
        d, pred, k = _newton_direction(net, lin, g, eta, live, maxcg, radius)
        products += k
        mt, gt = merit(s + np.where(live, 1.0, 0.0)[:, None] * d)
        rt = _maxabs(gt)
        finite = np.isfinite(mt) & np.isfinite(rt)
        ran_out |= live & ~finite
        ratio = (m - mt) / np.where(pred > 0, pred, 1.0)
        # near the solution both decreases are below the merit's rounding: judge by the residual
        tiny = pred <= 1e-11 * (1.0 + np.abs(m))
        ok = live & finite & np.where(tiny, rt < res, (pred > 0) & (ratio > 0.1))
        slow = np.where(live & (res <= accept), np.where(ok & (rt <= 0.5 * res), 0, slow + 1), slow)
        s = np.where(ok[:, None], s + d, s)
        g = np.where(ok[:, None], gt, g)
        m, res = np.where(ok, mt, m), np.where(ok, rt, res)
        size = _norm(d)
        radius = np.where(~ok, 0.25 * size, np.where((ratio > 0.75) & (size >= 0.99 * radius),
                                                      2 * radius, radius))
        floor = ~done & (slow >= 2) & (res <= accept)
        status[floor] = "floor"
        done |= floor
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


#: an eigenvalue of H within this times lambda_max of zero is zero to float64's rounding: a
#: float64 Lanczos run resolves eigenvalues to about 1e-16 lambda_max (a 1000-fold margin)
SINGULAR_TOL = 1e-13


def extreme_eigenvalues(lin, *, eps, seed=0, rtol=1e-2, min_iter=8, max_iter=80, every=4):
    """Lanczos on ``lin.hv`` (its symmetric part for a control network): a :class:`Spectrum`.

    An example is done once the smallest Ritz value's residual bound is below
    ``rtol`` times its own size (below ``rtol`` times the spectrum's for the
    largest), and the two questions asked of
    them are decided: ``lmin`` against 0 (positive beyond ``SINGULAR_TOL
    lmax``, negative beyond it, or zero to rounding), ``eps lmax`` against 2. At most
    ``max_iter`` products (``min(max_iter, n)``: n steps span the space).
    """
    net = lin.net
    B, n = lin.shape
    if net.gradient_field:
        op = lin.hv
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
            floor = SINGULAR_TOL * np.abs(hi)
            sign = (lo < -floor) | (lo - blo > floor) | ((lo >= -floor) & (lo + blo <= floor))
            decided = sign & ((eps * hi >= 2) | (eps * (hi + bhi) < 2))
            # the lower end converged on its own scale, not the spectrum's: a Ritz value at
            # 0.01 +- 0.01 of a spectrum of size 2 may still sit above a negative eigenvalue
            # that a few more products find
            low = blo <= rtol * np.maximum(np.abs(lo), floor)
            if k == m or np.all(decided & low & (bhi <= rtol * size)):
                break
        if dead.any():
            w[dead] = rng.standard_normal((int(dead.sum()), n))
        q_prev, q, b_prev = q, w / np.where(dead, _norm(w), b)[:, None], b
    lo, blo, hi, bhi = out
    return Spectrum(lmin=lo, lmin_bound=blo, lmax=hi, lmax_bound=bhi, iterations=k)


def solve(lin, b, *, transpose=False, tol=1e-14, maxiter=None):
    """Solve ``H z = b`` (``H^T z = b``) per example: CG for a gradient field, CG on the normal equations otherwise."""
    from .array_network import cg_solve
    if lin.net.gradient_field:
        return cg_solve(lambda v: lin.hv(v, transpose=transpose), b, tol=tol, maxiter=maxiter)
    # A z = b with A = H^T (or H): A^T A z = A^T b
    return cg_solve(lambda v: lin.hv(lin.hv(v, transpose=transpose), transpose=not transpose),
                    lin.hv(b, transpose=not transpose), tol=tol, maxiter=maxiter)
