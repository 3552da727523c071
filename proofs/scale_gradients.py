"""dJ/dtheta three ways at realistic size, against the implicit-function gradient (2.3).

:func:`implicit_gradient` is ``C_theta - M H^-T C_s`` by conjugate gradients;
:func:`rbp_limit` is RBP's ``Thetabar_K`` (3.3 in discrete time, docs/MATH.md
section 7), with the part of its geometric series still to come when it is
cut short; :func:`compare_gradients` puts them beside the EP limit (the
complex-step nudged fixed point, 4.4 with beta = i h) and real-beta EP, as
the relative differences the report shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eqprop.numeric.batch_solve import solve

from .scale_agreement import _flat, _rel
from .scale_arguments import RBP_LIMIT_TIME
from .scale_hypotheses import rbp_limit_steps
from .scale_theorem3 import _complex_readout, _plus, _Readout

__all__ = ["implicit_gradient", "rbp_limit", "compare_gradients", "GradientLimits"]

#: the note of a run whose implicit gradient is exactly zero
ZERO_GRADIENT = ("dJ/dtheta is exactly zero at s0 for this batch (the cost does not reach the "
                 "parameters through s0): the gradient lines compare nothing")


def implicit_gradient(net, s0, *, tol=1e-14, reached=False):
    """dJ/dtheta = C_theta - M H^-T C_s (paper 2.3): CG on H, then the mixed product.

    ``reached``: also return the names of the state blocks and parameters that
    RBP's error derivatives reach in the limit (H^-T C_s, resp. M H^-T C_s, not
    exactly zero there): a row of these that is zero for K steps was cut short.
    """
    lin = net.linearize(s0)
    z = solve(lin, net.dC_ds(s0), transpose=True, tol=tol)
    mz = lin.mv(z)
    grad = [c - m for c, m in zip(net.dC_dtheta(s0), mz)]
    if not reached:
        return grad
    names = [b for b, sl in zip(net.block_names, net.slices) if np.any(z[..., sl])]
    names += [p for p, m in zip(net.param_names, mz) if np.any(_flat([m]))]
    return grad, names


def rbp_limit(net, s0, *, eps, steps, tail=False):
    """Thetabar after ``steps`` RBP steps (the RBP estimate of dJ/dtheta).

    ``Thetabar_K = C_theta - eps M (Sbar_0 + ... + Sbar_{K-1})``. ``tail=True``
    also returns the part still to come, ``M H^-T Sbar_K``: ``Thetabar_K``
    minus it is the implicit-function gradient exactly, for every K (the sum
    of the geometric series).
    """
    lin = net.linearize(s0)
    sb = net.dC_ds(s0)
    total = np.zeros_like(sb)
    for _ in range(steps):
        total += sb
        sb = sb - eps * lin.hv(sb, transpose=True)
    theta = _plus(lin.mv(-eps * total), net.dC_dtheta(s0))
    if not tail:
        return theta
    return theta, lin.mv(solve(lin, sb, transpose=True))


@dataclass(frozen=True)
class GradientLimits:
    """The report's ``gradient`` entry (relative differences to the implicit gradient, RBP's
    steps, rate and tail, whether anything was compared) and the notes that explain it."""

    gradient: dict
    notes: tuple = ()


def compare_gradients(net, s0, hyp, *, eps, h, beta, limit_time=RBP_LIMIT_TIME):
    """dJ/dtheta three ways against the implicit-function gradient (2.3); a :class:`GradientLimits`.

    The RBP limit runs until its tail is below 1e-14 (:func:`rbp_limit_steps`
    from the measured spectrum ``hyp``), at most to ``t = limit_time``. An
    implicit gradient that is exactly zero compares nothing: the lines are
    None and ``testable`` False.
    """
    implicit, reached = implicit_gradient(net, s0, reached=True)
    cap = int(np.ceil(limit_time / eps))
    k_inf, rate, cut = rbp_limit_steps(hyp, eps, cap)
    if not _flat(implicit).any():  # dJ/dtheta is exactly zero: a relative difference means nothing
        return GradientLimits({"ep_vs_implicit": None, "rbp_vs_implicit": None,
                               "real_beta_vs_implicit": None, "rbp_limit_steps": k_inf,
                               "rbp_rate": rate, "rbp_tail": 0.0, "testable": False,
                               "reached": reached}, (ZERO_GRADIENT,))
    readout = _Readout(net, s0, net.linearize(s0))
    s_beta, _, _ = net.newton(s0.astype(complex), beta=1j * h, tol=1e-300, maxiter=4)
    ep = _rel(_complex_readout(net, s_beta, h, readout), implicit)
    real, notes = _real_beta_limit(net, s0, readout, beta, implicit)
    tail = 0.0
    if cut:
        # RBP contracts, but too slowly to decay within the budget: compare Thetabar_K with
        # the implicit gradient plus the tail M H^-T Sbar_K still to come (exact for any K)
        theta_inf, rest = rbp_limit(net, s0, eps=eps, steps=k_inf, tail=True)
        tail = _rel(rest, implicit, size_only=True)
        theta_inf = [a - b for a, b in zip(theta_inf, rest)]
        notes.append(f"RBP limit cut at t = {limit_time:g} ({cap} steps, rho = {rate:.6f}): "
                     f"the tail still to come, M H^-T Sbar_K, {tail:.1e} of the gradient, is "
                     "subtracted (a larger --eps decays sooner)")
    else:
        theta_inf = rbp_limit(net, s0, eps=eps, steps=k_inf)
    gradient = {"ep_vs_implicit": ep, "rbp_vs_implicit": _rel(theta_inf, implicit),
                "real_beta_vs_implicit": real, "testable": True, "reached": reached,
                "rbp_limit_steps": k_inf, "rbp_rate": rate, "rbp_tail": tail}
    return GradientLimits(gradient, tuple(notes))


def _real_beta_limit(net, s0, readout, beta, implicit):
    """EP with a real beta at its nudged fixed point, relative to the implicit gradient, and
    the notes: shown for comparison only, never a criterion, and left out (None) when Newton
    finds no nudged fixed point."""
    s_r, res_r, _ = net.newton(s0.copy(), beta=beta, tol=1e-12)
    real = _rel(readout.real(s_r, beta), implicit)
    if np.isfinite(real) and res_r <= 1e-8:
        return real, []
    return None, [f"EP with real beta = {beta:g}: Newton found no nudged fixed point (residual "
                  f"{res_r:.1e}); that line is left out"]
