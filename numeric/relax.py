"""Free phase in float64: relax the free dynamics towards a fixed point.

The high-precision path starts Newton's method from here (a float64 point
is close enough for quadratic convergence). Uses SciPy's LSODA with the
compiled Hessian as Jacobian, in chunks of growing length until the
gradient is small, within a budget of evaluations: a flow that leaves the
real domain (NaN), diverges or is too stiff to settle stops early, and
Newton then says what went wrong.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.integrate import solve_ivp

__all__ = ["relax"]


class _Stop(Exception):
    def __init__(self, state=None):
        super().__init__()
        self.state = state


def relax(grad, hess, s_init, *, tol=1e-10, t_max=1e4, max_evaluations=20_000, info=None):
    """Integrate ``ds/dt = -grad(s)`` from ``s_init`` until ``|grad| <= tol`` times the start's
    curvature (the largest ``|hess|`` entry; 1 if zero): the same stop for E and k E.

    ``grad(s) -> (n,)`` and ``hess(s) -> (n, n)`` are float64 functions.
    Returns ``(s, residual, t)``; the residual may exceed ``tol`` if the
    dynamics did not settle by ``t_max`` or within ``max_evaluations``
    evaluations of ``grad`` (no fixed point, a slow or stiff one). Where the
    force stops being finite (the flow left the domain of a function), the
    residual is NaN and ``s`` is the state at which that happened. ``info``,
    a dict if given, gets ``"stopped"``: "settled", "time" (``t_max`` reached
    while still moving: a slow flow), "evaluations" (the budget spent before
    ``t_max``: a flow blowing up in finite time takes ever shorter steps) or
    "domain".
    """
    info = {} if info is None else info
    info["stopped"] = "settled"
    s = np.asarray(s_init, dtype=float)
    t, chunk = 0.0, 10.0
    res = float(np.max(np.abs(grad(s)))) if s.size else 0.0
    if not np.isfinite(res):
        return s, float("nan"), 0.0
    # time and force in the units of the start's curvature: an energy scaled by k > 0 has
    # the same flow, k times slower, and the same minimum (tol and t_max are for rate 1)
    with np.errstate(all="ignore"):
        rate = float(np.max(np.abs(hess(s)))) if s.size else 1.0
    # a start where the curvature vanishes to float64's limits (a quartic at 1e-160: 3e-320)
    # says nothing of the flow's units, and -g / rate would overflow: unit rate there
    rate = rate if np.isfinite(rate) and 1e-200 < rate < 1e200 else 1.0
    tol = tol * rate
    count = [0]

    def rhs(_t, y):
        count[0] += 1
        g = grad(y)
        if not np.all(np.isfinite(g)):
            raise _Stop(np.array(y, dtype=float))
        if count[0] > max_evaluations:
            raise _Stop
        return -g / rate
    cautious = 0  # how many times the step was capped after a non-finite trial evaluation
    while res > tol and t < t_max:
        try:
            limit = {"max_step": chunk * 10.0 ** (-3 * cautious)} if cautious else {}
            with warnings.catch_warnings():  # LSODA's complaints: the residual says it all
                warnings.simplefilter("ignore")
                sol = solve_ivp(rhs, (0.0, chunk), s, method="LSODA",
                                jac=lambda _t, y: -hess(y) / rate, rtol=1e-12, atol=1e-14, **limit)
        except _Stop as stop:
            if stop.state is not None and cautious < 4 and count[0] <= max_evaluations:
                # a trial stage of a rejected step may land outside a function's domain
                # (a stiff flow next to an edge) while the flow itself stays inside: try the
                # chunk again with shorter steps before saying the flow left the domain
                cautious += 1
                continue
            if stop.state is not None:  # where the force stopped being finite
                info["stopped"] = "domain"
                return stop.state, float("nan"), t / rate
            info["stopped"] = "evaluations"
            break
        s = sol.y[:, -1]
        t += chunk
        chunk *= 2
        new = float(np.max(np.abs(grad(s))))
        if not np.isfinite(new):
            info["stopped"] = "domain"
            break
        res = new
    if res > tol and info["stopped"] == "settled":
        info["stopped"] = "time"
    return s, res, t / rate
