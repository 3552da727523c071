"""The high-precision path: fixed points, flows and adjoints in mpmath.

Everything here runs at the caller's working precision (inside
``mpmath.workdps``); the proofs carry :data:`GUARD_DPS` extra digits above the
precision they report. A :class:`System` binds compiled functions (from
:mod:`eqprop.symbolic.codegen`; any object with the same ``.mp`` methods
works) to the model's exact values, and offers the dynamics of the paper:

- free and nudged dynamics ``ds/dt = -dE/ds - beta dC/ds`` (paper 2.1, 4.2)
  with real or complex ``beta`` and, for Theorem 1's definition, parameters
  shifted by a complex step;
- Newton's method for the free and nudged fixed points (paper 2.2, 4.3);
- the RBP adjoint system (paper 3.5-3.8) and its closed form.

No SymPy is imported here.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath

from .backends import GMPY, MPMATH
from .integrate import integrate

__all__ = ["GUARD_DPS", "System", "to_mp", "newton", "derivative", "adjoint_closed_form",
           "adjoint_flow", "digits_of_agreement"]

#: Extra decimal digits carried above the precision a result is reported at.
GUARD_DPS = 10


def to_mp(value):
    """An exact ``Fraction`` (or int/str/mpf) as an mpmath number at the current precision."""
    if isinstance(value, Fraction):
        return mpmath.mpf(value.numerator) / value.denominator
    return mpmath.mpmathify(value)


def digits_of_agreement(a, b, *, cap):
    """Agreeing significant digits of two vectors: -log10(max|a - b| / scale).

    ``scale = max(|a|, |b|, 10^-cap)``: relative agreement, except that
    quantities below 10^-cap (zero at the reported precision, such as an
    exactly vanishing gradient) are compared absolutely. Returns
    ``(digits, max_abs_error, scale)``; digits are capped at ``cap`` (the
    precision reported at), and are ``cap`` when the sides are equal.
    """
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError(f"sides of different lengths: {len(a)} and {len(b)}")
    if not all(mpmath.isfinite(v) for v in a + b):  # a diverged side agrees with nothing
        return 0.0, mpmath.inf, mpmath.inf
    err = max((abs(x - y) for x, y in zip(a, b)), default=mpmath.mpf(0))
    scale = max([abs(x) for x in a] + [abs(y) for y in b] + [mpmath.mpf(10) ** -cap])
    if err == 0:
        return float(cap), err, scale
    if scale == 0:
        return 0.0, err, scale
    return float(min(cap, max(0, -mpmath.log10(err / scale)))), err, scale


class System:
    """A model's compiled functions bound to its values, evaluated in mpmath.

    Parameters
    ----------
    compiled : eqprop.symbolic.codegen.Compiled
        Functions of ``(s, theta, data)`` with ``.mp`` methods.
    theta, data : sequences of Fraction
        Exact values, in the model's declared order.
    has_energy : bool
        False for a vector-field model (no E, no dE/dtheta).
    """

    def __init__(self, compiled, theta, data, *, has_energy=True, engine="gbs"):
        self.c = compiled
        self.theta_exact, self.data_exact = tuple(theta), tuple(data)
        self.has_energy = has_energy
        self.n, self.p = compiled.n, compiled.p
        self._backend = None
        if engine not in ("gbs", "heyoka"):
            raise ValueError(f"engine: {engine!r}")
        self.engine = engine

    # values at the current precision (recomputed: precision may have changed)
    def theta(self):
        return [to_mp(v) for v in self.theta_exact]

    def data(self):
        return [to_mp(v) for v in self.data_exact]

    # -- the dynamics ------------------------------------------------------
    def grad(self, s, theta=None, beta=0):
        """dE^beta/ds = dE/ds + beta dC/ds at s (paper 4.1)."""
        theta = self.theta() if theta is None else theta
        d = self.data()
        g = self.c.dE_ds.mp(s, theta, d)
        if beta != 0:
            g = [a + beta * b for a, b in zip(g, self.c.dC_ds.mp(s, theta, d))]
        return g

    def hessian(self, s, theta=None, beta=0):
        theta = self.theta() if theta is None else theta
        H = self.c.d2E_ds2.mp(s, theta, self.data())
        if beta != 0:
            H = H + beta * self.c.d2C_ds2.mp(s, theta, self.data())
        return H

    def mixed(self, s, theta=None):
        """M = d2E/(dtheta ds), p x n."""
        theta = self.theta() if theta is None else theta
        return self.c.d2E_dtheta_ds.mp(s, theta, self.data())

    def cost(self, s, theta=None):
        theta = self.theta() if theta is None else theta
        return self.c.C.mp(s, theta, self.data())

    def dC_ds(self, s, theta=None):
        theta = self.theta() if theta is None else theta
        return self.c.dC_ds.mp(s, theta, self.data())

    def dC_dtheta(self, s, theta=None):
        theta = self.theta() if theta is None else theta
        if self.p == 0:
            return []
        return self.c.dC_dtheta.mp(s, theta, self.data())

    def dE_dtheta(self, s, theta=None):
        theta = self.theta() if theta is None else theta
        return self.c.dE_dtheta.mp(s, theta, self.data())

    def flow(self, s_start, times, *, tol, theta=None, beta=0):
        """States of ``ds/dt = -dE^beta/ds`` started at ``s_start``, at ``times``.

        ``beta`` and ``theta`` may be complex (complex-step nudging).
        Returns ``(states, integrator)``.
        """
        theta = self.theta() if theta is None else theta
        d = self.data()
        if self.engine == "heyoka":
            return self._flow_taylor(s_start, times, tol=tol, theta=theta, beta=beta)
        backend = self.backend
        if backend is GMPY:
            with GMPY.scope():
                static = [[GMPY.from_mp(mpmath.mpmathify(x)) for x in v]
                          for v in (theta, d, [beta])]
                force = self.c.dEbeta_ds.bind(*static)

            def rhs(s):
                return [-g for g in force(s)]
        else:
            dE, dC = self.c.dE_ds.mp, self.c.dC_ds.mp

            def rhs(s):
                g = dE(s, theta, d)
                if beta != 0:
                    g = [a + beta * b for a, b in zip(g, dC(s, theta, d))]
                return [-x for x in g]
        return integrate(rhs, s_start, times, tol=tol, backend=backend)

    def _flow_taylor(self, s_start, times, *, tol, theta, beta):
        """The same flow by heyoka's Taylor method: complex parts carried as a dual system."""
        import heyoka as hy
        import numpy as np
        prec = mpmath.mp.prec
        theta = [mpmath.mpmathify(x) for x in theta]
        start = [mpmath.mpmathify(x) for x in s_start]
        beta = mpmath.mpmathify(beta)
        im = [mpmath.im(x) for x in start + theta + [beta]]
        h = max(abs(x) for x in im) or mpmath.mpf(1)
        if mpmath.re(beta) != 0 and any(mpmath.im(x) for x in theta):
            raise NotImplementedError("heyoka engine: a real beta with a complex theta")
        ta = self.c.taylor(prec, mpmath.nstr(tol, 5))
        digits = mpmath.mp.dps + 5

        def R(x):
            return hy.real(mpmath.nstr(x, digits, strip_zeros=False), prec)
        ta.state[:] = [R(mpmath.re(x)) for x in start] + [R(mpmath.im(x) / h) for x in start]
        ta.pars[:] = ([R(mpmath.re(x)) for x in theta] + [R(x) for x in self.data()]
                      + [R(mpmath.re(beta)), R(mpmath.im(beta) / h)]
                      + [R(mpmath.im(x) / h) for x in theta])
        ta.time = R(times[0])
        grid = ta.propagate_grid(np.array([R(t) for t in times]))[-1]
        n = self.n
        out = []
        for row in grid:
            vals = [mpmath.mpf(str(v)) for v in row]
            out.append([mpmath.mpc(vals[i], h * vals[n + i]) if any(im) else vals[i]
                        for i in range(n)])
        return out, _TaylorWork(len(times))

    @property
    def backend(self):
        """gmpy2 when the compiled right-hand side supports it, else mpmath."""
        if self._backend is None:
            ok = self.c.dEbeta_ds.kernel._gmpy_partial(self.n) is not None
            self._backend = GMPY if ok else MPMATH
        return self._backend


class _TaylorWork:
    """Work report of a heyoka run (what the GBS integrator object reports)."""

    def __init__(self, points):
        self.evaluations, self.steps, self.rejected = 0, points, 0


def newton(system, s_start, *, beta=0, theta=None, tol=None, im_floor=0, maxiter=60):
    """Solve dE^beta/ds (s) = 0 by Newton's method from ``s_start``.

    Complex ``beta`` (or ``theta``) gives a complex-step fixed point; its
    imaginary part converges relative to its own size, or absolutely below
    ``im_floor`` (an imaginary part that is zero in exact arithmetic is
    rounding noise and never converges relatively). Returns
    ``(s, residual, iterations)``; raises ``ArithmeticError`` if Newton does
    not converge (singular Hessian, or a start outside the basin).
    """
    tol = mpmath.mpf(10) ** (-(mpmath.mp.dps - 3)) if tol is None else tol
    s = list(s_start)
    for k in range(1, maxiter + 1):
        g = system.grad(s, theta, beta)
        H = system.hessian(s, theta, beta)
        try:
            step = mpmath.lu_solve(H, mpmath.matrix(g))
        except ZeroDivisionError:
            raise ArithmeticError("Newton: the Hessian is singular at the current point") from None
        s = [a - b for a, b in zip(s, step)]
        size = max(abs(x) for x in step)
        if _converged(step, s, tol, im_floor):
            res = max(abs(x) for x in system.grad(s, theta, beta))
            return s, res, k
    raise ArithmeticError(f"Newton did not converge in {maxiter} iterations "
                          f"(last step {mpmath.nstr(size, 3)})")


def _converged(step, s, tol, im_floor=0):
    """Step small against the solution, real and imaginary parts apart.

    A complex-step solution carries a derivative in an imaginary part many
    orders of magnitude below the real part; it must converge relative to
    its own size.
    """
    re_ok = max(abs(mpmath.re(x)) for x in step) <= tol * (1 + max(abs(mpmath.re(x)) for x in s))
    im_scale = max(abs(mpmath.im(x)) for x in s)
    im_step = max(abs(mpmath.im(x)) for x in step)
    im_ok = im_step <= im_floor or (im_step <= tol * im_scale if im_scale else True)
    return re_ok and im_ok


def derivative(fn, *, holomorphic, h):
    """d/de fn(e) at e = 0, for ``fn(e) -> list``, by an independent route.

    Holomorphic ``fn``: the complex step ``Im fn(i h) / h``, error O(h^2)
    with no cancellation, so ``h`` can be as small as the working precision.
    Otherwise central differences at ``h_k = 10^-6 / 2^k`` extrapolated by
    Richardson in h^2 (five levels; error about 1e-48 for smooth ``fn`` and
    far worse at a kink, which the caller reports).
    """
    if holomorphic:
        return [mpmath.im(v) / h for v in fn(mpmath.mpc(0, h))]
    levels = []
    for k in range(5):
        e = mpmath.mpf(10) ** -6 / 2 ** k
        plus, minus = fn(e), fn(-e)
        row = [[(a - b) / (2 * e) for a, b in zip(plus, minus)]]
        for j in range(1, k + 1):
            f = mpmath.mpf(4) ** j
            row.append([(f * a - b) / (f - 1) for a, b in zip(row[j - 1], levels[-1][j - 1])])
        levels.append(row)
    return [mpmath.re(v) for v in levels[-1][-1]]


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
    z = mpmath.lu_solve(Ht, cs - s_bar)
    theta_bar = mpmath.matrix(C_theta) - M * z
    return list(s_bar), list(theta_bar)


def adjoint_flow(H, M, C_s, C_theta, times, *, tol, backend=GMPY):
    """Integrate RBP's side network (paper 3.5-3.8) as an ODE.

    ``d/dt Sbar = -H^T Sbar`` and ``d/dt Thetabar = -M Sbar`` from
    ``(C_s, C_theta)``; returns ``(list of (Sbar_t, Thetabar_t), integrator)``.
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
    states, integ = integrate(rhs, list(C_s) + list(C_theta), times, tol=tol, backend=backend)
    return [(y[:n], y[n:]) for y in states], integ
