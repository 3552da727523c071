"""RBP's adjoint (paper 3.5-3.8): its closed form and its integration as an ODE.

H, M, C_s and C_theta are constant (evaluated at s0); for an energy H is
symmetric, for a vector-field model RBP uses the transpose. No SymPy.
"""

from __future__ import annotations

import mpmath

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
    E = mpmath.expm(-t * Ht) if t != 0 else mpmath.eye(Ht.rows)
    cs = mpmath.matrix(C_s)
    s_bar = E * cs
    if M.rows == 0:
        return list(s_bar), []
    try:
        z = mpmath.lu_solve(Ht, cs - s_bar)
    except ZeroDivisionError:
        raise ComputationBreakdown("the Hessian at s0 is singular") from None
    theta_bar = mpmath.matrix(C_theta) - M * z
    return list(s_bar), list(theta_bar)


def adjoint_flow(H, M, C_s, C_theta, times, *, tol, backend=GMPY) -> Flow:
    """Integrate RBP's side network (paper 3.5-3.8) as an ODE, from t = 0.

    ``d/dt Sbar = -H^T Sbar`` and ``d/dt Thetabar = -M Sbar`` from
    ``(C_s, C_theta)``; ``Flow.states`` is a list of ``(Sbar_t, Thetabar_t)``.
    The matrices are constant (evaluated at s0); only their structural
    non-zeros enter the right-hand side.
    """
    n = len(C_s)
    with backend.scope():
        def rows(A, transpose=False):
            r, c = (A.cols, A.rows) if transpose else (A.rows, A.cols)
            out = []
            for i in range(r):
                entries = [(j, A[j, i] if transpose else A[i, j]) for j in range(c)]
                out.append([(j, backend.from_mp(-a)) for j, a in entries if a != 0])
            return out
        h_rows = rows(H, transpose=True)
        m_rows = rows(M) if M.rows else []

    def rhs(y):
        sb = y[:n]
        return ([sum((a * sb[j] for j, a in r), 0) for r in h_rows]
                + [sum((a * sb[j] for j, a in r), 0) for r in m_rows])
    grid = [mpmath.mpf(t) for t in times]
    start0 = grid[0] != 0
    # Thetabar - C_theta starts at 0 and moves like M Sbar: integrated on the scale of
    # Sbar, not of C_theta (which may be larger by any factor)
    states, integ = integrate(rhs, list(C_s) + [mpmath.mpf(0)] * len(C_theta),
                              [0] * start0 + grid, tol=tol, backend=backend)
    states = states[1:] if start0 else states
    return Flow([(y[:n], [a + b for a, b in zip(y[n:], C_theta)]) for y in states],
                {"evaluations": integ.evaluations, "steps": integ.steps})
