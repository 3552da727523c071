"""RBP's adjoint (paper 3.5-3.8): its closed form and its integration as an ODE.

H, M, C_s and C_theta are constant (evaluated at s0); for an energy H is
symmetric, for a vector-field model RBP uses the transpose. No SymPy.
"""

from __future__ import annotations

import mpmath

from . import linalg
from .backends import GMPY
from .integrate import ComputationBreakdown, Flow, integrate

__all__ = ["adjoint_closed_form", "adjoint_flow"]


def adjoint_closed_form(H, M, C_s, C_theta, t):
    """RBP's error derivatives in closed form (Theorem 1), H constant.

    ``Sbar_t = expm(-t H^T) C_s`` and
    ``Thetabar_t = C_theta - M H^-T (I - expm(-t H^T)) C_s``. For an energy
    H is symmetric; a vector-field model's RBP uses the transpose.
    """
    Ht = H.T
    E = linalg.expm(-t * Ht) if t != 0 else mpmath.eye(Ht.rows)
    cs = mpmath.matrix(C_s)
    s_bar = E * cs
    if M.rows == 0:
        return list(s_bar), []
    try:
        z = linalg.solve(Ht, cs - s_bar)
    except ZeroDivisionError:
        raise ComputationBreakdown("the Hessian at s0 is singular") from None
    theta_bar = mpmath.matrix(C_theta) - M * z
    return list(s_bar), list(theta_bar)


def adjoint_flow(H, M, C_s, C_theta, times, *, tol, backend=GMPY) -> Flow:
    """Integrate RBP's side network (paper 3.5-3.8) as an ODE, from t = 0.

    ``d/dt Sbar = -H^T Sbar`` and ``d/dt Thetabar = -M Sbar`` from
    ``(C_s, C_theta)``; ``Flow.states`` is a list of ``(Sbar_t, Thetabar_t)``.
    Thetabar does not feed back, so the integrator carries Sbar and its
    running integral ``Q_t = int_0^t Sbar`` (2n unknowns, not n + p), and
    ``Thetabar_t = C_theta - M Q_t`` at each requested time: the same ODE,
    its p-dimensional part applied once per output instead of once per
    evaluation. The matrices are constant (evaluated at s0); only the
    structural non-zeros of H enter the right-hand side.
    """
    n = len(C_s)
    with backend.scope():
        h_rows = []
        for i in range(n):  # rows of -H^T
            h_rows.append([(j, backend.from_mp(-H[j, i])) for j in range(n) if H[j, i] != 0])

    def rhs(y):
        sb = y[:n]
        return [sum((a * sb[j] for j, a in r), 0) for r in h_rows] + list(sb)
    grid = [mpmath.mpf(t) for t in times]
    start0 = grid[0] != 0
    # Q starts at 0 and moves like Sbar: integrated on the scale of Sbar, not of C_theta
    # (which may be larger by any factor)
    states, integ = integrate(rhs, list(C_s) + [mpmath.mpf(0)] * n,
                              [0] * start0 + grid, tol=tol, backend=backend)
    states = states[1:] if start0 else states
    out = []
    for y in states:
        q = mpmath.matrix(y[n:])
        mq = M * q if M.rows else []
        out.append((y[:n], [c - mq[k] for k, c in enumerate(C_theta)]))
    return Flow(out, {"evaluations": integ.evaluations, "steps": integ.steps})
