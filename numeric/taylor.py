"""The flows of a :class:`~eqprop.numeric.highprec.System` by heyoka's Taylor method.

heyoka has no complex numbers: a state ``a + i h b`` (complex-step nudging,
a complex start or complex parameters) is integrated as the real dual system
of :mod:`eqprop.symbolic.heyoka_gen`, whose runtime parameters are filled
here by name from the integrator's own layout table.
"""

from __future__ import annotations

import mpmath

from . import linalg
from .integrate import MAX_STEPS, BudgetExhausted, IntegrationError, check_time

__all__ = ["taylor_flow"]


def _dual_scale(system, start, theta, beta, h):
    """Size the dual state reaches, relative to h (1 when it is zero).

    Its start ``Im(s)/h``, or where the imaginary forcing ``r = beta_i dC/ds +
    M^T theta_i`` drives it, ``|H^-1 r|`` at the start (the linearized flow's
    equilibrium; ``|r| / |H|_inf`` where H is singular there). A rate alone is
    in units of 1/time: for an energy scaled by 1e20 it made the dual state
    1e20 times too small next to the real one, whose error heyoka controls
    with the same tolerance.
    """
    b0 = max(abs(mpmath.im(x)) / h for x in start)
    beta_i = abs(mpmath.im(beta)) / h
    theta_i = [mpmath.im(x) / h for x in theta]
    real = [mpmath.re(x) for x in start]
    re_theta = [mpmath.re(x) for x in theta]
    n = len(start)
    forcing = [mpmath.mpf(0)] * n
    if beta_i:
        forcing = [beta_i * abs(x) for x in system.dC_ds(real, re_theta)]
    if any(theta_i):
        M = system.d2E_dtheta_ds(real, re_theta)
        forcing = [f + abs(mpmath.fsum(M[k, i] * theta_i[k] for k in range(len(theta_i))))
                   for i, f in enumerate(forcing)]
    rate = max(forcing + [mpmath.mpf(0)])
    if rate:
        H = system.d2Ebeta_ds2(real, re_theta, mpmath.re(beta))
        try:
            reach = max(abs(x) for x in linalg.solve(H, forcing))
        except (ZeroDivisionError, ValueError, ArithmeticError):
            reach = None
        if reach is None or not mpmath.isfinite(reach) or reach == 0:
            norm = max(mpmath.fsum(abs(H[i, j]) for j in range(H.cols)) for i in range(H.rows))
            reach = rate / norm if norm > 0 and mpmath.isfinite(norm) else rate
        rate = reach
    scale = max(b0, rate)
    return scale if scale > 0 else mpmath.mpf(1)


def _size_re(values):
    """The largest |real part|."""
    return max([abs(mpmath.re(x)) for x in values] + [mpmath.mpf(0)])


def taylor_flow(system, s_start, grid, *, tol, theta, beta):
    """States at ``grid`` (starting at t = grid[0]) and work counters."""
    import heyoka as hy
    import numpy as np
    prec = mpmath.mp.prec
    theta = [mpmath.mpmathify(x) for x in theta]
    start = [mpmath.mpmathify(x) for x in s_start]
    beta = mpmath.mpmathify(beta)
    im = [mpmath.im(x) for x in start + theta + [beta]]
    h = max(abs(x) for x in im) or mpmath.mpf(1)
    # heyoka controls errors absolutely below magnitude 1 and relative to the whole state's
    # largest entry above it: the dual state b = Im(s)/h is rescaled to the size of the real
    # state, at least 1, so that b keeps tol relative to itself next to a large s (the dual
    # system is linear and homogeneous in b, theta_i and beta_i: the scaling is exact)
    size = max(_size_re(start), mpmath.mpf(1))
    h *= _dual_scale(system, start, theta, beta, h) / size
    if mpmath.re(beta) != 0 and any(mpmath.im(x) for x in theta):
        raise NotImplementedError("heyoka engine: a real beta with a complex theta")
    P = system.perturbation
    # below magnitude 1 heyoka's tolerance is absolute: a state of size 1e-15 (a stiff
    # quadratic's minimum w/k) would keep only tol/1e-15 of its digits. Tighten the tolerance
    # to the state's size, in steps of 5 decades below 1e-2 (each tolerance is one
    # compilation; the guard digits absorb the rest)
    if 0 < _size_re(start) < mpmath.mpf("1e-2"):
        tol = tol * mpmath.mpf(10) ** (5 * mpmath.floor(mpmath.log10(_size_re(start)) / 5))
    flow = system.c.taylor(prec, mpmath.nstr(tol, 5), perturbed=P is not None)
    digits = mpmath.mp.dps + 5

    def R(x):
        return hy.real(mpmath.nstr(mpmath.mpf(x), digits, strip_zeros=False), prec)
    values = {"theta_re": [mpmath.re(x) for x in theta], "data": system.data(),
              "beta_re": [mpmath.re(beta)], "beta_im": [mpmath.im(beta) / h],
              "theta_im": [mpmath.im(x) / h for x in theta]}
    if P is not None:
        A, B, c0, kappa = P.affine()
        values.update(A=[x for row in A for x in row], B=[x for row in B for x in row],
                      c0=c0, kappa=kappa)
    pars = [None] * max(sl.stop for sl in flow.layout.values())
    for name, sl in flow.layout.items():
        pars[sl] = [R(x) for x in values[name]]
    pars = pars[:flow.n_pars]  # the parameters the system uses (heyoka drops unused trailing ones)
    ta = flow.ta
    ta.state[:] = [R(mpmath.re(x)) for x in start] + [R(mpmath.im(x) / h) for x in start]
    ta.pars[:] = pars
    ta.time = R(grid[0])
    # a step callback keeps heyoka inside the run's time budget (a flow at a state of size
    # 1e-35 took steps without end, past any --time-limit), and a step budget as gbs has
    stopped = []

    def budget(_ta):
        try:
            check_time()
        except BudgetExhausted as exc:
            stopped.append(exc)
            return False
        return True
    result = ta.propagate_grid(np.array([R(t) for t in grid]), max_steps=MAX_STEPS, callback=budget)
    if stopped:
        raise stopped[0]
    out = result[-1]
    if result[0] != hy.taylor_outcome.time_limit or len(out) != len(grid):
        raise IntegrationError(f"heyoka stopped with outcome {result[0]} after {len(out)} of "
                               f"{len(grid)} times")
    n = system.n
    states = []
    for row in out:
        vals = [mpmath.mpf(str(v)) for v in row]
        states.append([mpmath.mpc(vals[i], h * vals[n + i]) if any(im) else vals[i]
                       for i in range(n)])
    return states, {"points": len(grid)}
