"""Nudged fixed points of a batched network at any nudge, complex or per example.

:func:`nudged_fixed_point` solves ``dE/ds(s) + beta dC/ds(s) = 0`` (paper 4.2)
for every example of an :class:`~eqprop.numeric.array_network.ArrayNetwork`
by Newton's method, each step a CG solve with the residual's Jacobian
``H(s) + beta d2C/ds2(s)``. ``beta`` may be complex (the holomorphic
estimators' nudges on a circle, the compiled code evaluates the model in
complex128) and may differ per example (shape ``(batch, 1)``: a radius
search gives each example its own circle). For complex beta the Jacobian is
complex symmetric, not Hermitian; CG with the bilinear product (COCG) is the
method for that case, and it is what
:func:`~eqprop.numeric.array_network.cg_solve` computes.

Newton is inexact: each CG solve stops at a relative tolerance of the
residual's size (the forcing term of Eisenstat and Walker, which keeps the
convergence quadratic). Newton stops for an example when its residual ``max_i |F_i|`` is at most
``tol`` or when a step no longer halves it (float64's rounding floor of the
force); every example ends with its residual, and the caller decides what a
residual means (:data:`CONVERGED` is the bound that the estimators accept).
"""

from __future__ import annotations

import numpy as np

from .array_network import cg_solve

__all__ = ["nudged_fixed_point", "CONVERGED", "MAX_NEWTON"]

#: Largest residual max|dE/ds + beta dC/ds| of an example taken as a nudged fixed point.
CONVERGED = 1e-10
#: Newton steps at most (quadratic convergence from a predictor needs 3 to 6).
MAX_NEWTON = 16


def _maxabs(a):
    return np.max(np.abs(a), axis=-1) if a.shape[-1] else np.zeros(a.shape[:-1])


def residual(net, s, beta):
    """``dE/ds(s) + beta dC/ds(s)``, per example (``beta`` a number or a column)."""
    return net.dE_ds(s) + beta * net.dC_ds(s)


def nudged_fixed_point(net, start, beta, *, tol=1e-15, maxiter=MAX_NEWTON, cg_tol=None):
    """Newton from ``start`` on ``dE^beta/ds = 0``; returns ``(s, residual per example)``.

    ``beta``: a number (real or complex) or an array of shape ``(batch, 1)``.
    An example whose residual is at most ``tol``, or whose last step did not
    halve it, keeps its state; the others take the step. A trial state that is
    not finite is not taken (its example keeps its residual, reported as it is).
    ``cg_tol``: each CG solve's relative tolerance, fixed (default: the inexact Newton's
    forcing term; a complex step, whose imaginary part lies far below the real part's
    rounding, needs every digit of its first step).
    """
    beta = np.asarray(beta)
    complex_run = np.iscomplexobj(beta) or np.iscomplexobj(start)
    s = np.asarray(start, dtype=complex if complex_run else float).copy()
    r = residual(net, s, beta)
    res = _maxabs(r)
    live = np.isfinite(res) & (res > tol)
    for _ in range(maxiter):
        if not live.any():
            break
        lin = net.linearize(s)

        def op(v, lin=lin, transpose=False):  # the residual's Jacobian H + beta C_ss
            return lin.hv(v, transpose=transpose) + beta * lin.cssv(v)
        rhs = np.where(live[:, None], r, 0)
        # inexact Newton: CG to a relative tolerance of the residual's size (at most 1e-2),
        # enough for quadratic convergence, with few products while the residual is large
        forcing = float(np.clip(np.max(res[live]), 1e-14, 1e-2)) if cg_tol is None else cg_tol
        if net.gradient_field:
            z = cg_solve(op, rhs, tol=forcing)
        else:  # not symmetric: the normal equations (bilinear, as for complex symmetric)
            z = cg_solve(lambda v: op(op(v), transpose=True), op(rhs, transpose=True), tol=forcing)
        trial = s - z
        r_t = residual(net, trial, beta)
        res_t = _maxabs(r_t)
        better = live & np.isfinite(res_t) & (res_t < res)
        s = np.where(better[:, None], trial, s)
        r = np.where(better[:, None], r_t, r)
        live = better & (res_t > tol) & (res_t < 0.5 * res)
        res = np.where(better, res_t, res)
    return s, res
