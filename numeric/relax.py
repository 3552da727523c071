"""Free phase in float64: relax the free dynamics towards a fixed point.

The high-precision path starts Newton's method from here (a float64 point
is close enough for quadratic convergence). Uses SciPy's LSODA with the
compiled Hessian as Jacobian, in chunks of growing length until the
gradient is small.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

__all__ = ["relax"]


def relax(grad, hess, s_init, *, tol=1e-10, t_max=1e4):
    """Integrate ``ds/dt = -grad(s)`` from ``s_init`` until ``|grad| <= tol``.

    ``grad(s) -> (n,)`` and ``hess(s) -> (n, n)`` are float64 functions.
    Returns ``(s, residual, t)``; the residual may exceed ``tol`` if the
    dynamics did not settle by ``t_max`` (no fixed point, or a slow one).
    """
    s = np.asarray(s_init, dtype=float)
    t, chunk = 0.0, 10.0
    res = float(np.max(np.abs(grad(s)))) if s.size else 0.0
    while res > tol and t < t_max:
        sol = solve_ivp(lambda _t, y: -grad(y), (0.0, chunk), s, method="LSODA",
                        jac=lambda _t, y: -hess(y), rtol=1e-12, atol=1e-14)
        s = sol.y[:, -1]
        t += chunk
        chunk *= 2
        new = float(np.max(np.abs(grad(s))))
        if not np.isfinite(new):
            break
        res = new
    return s, res, t
