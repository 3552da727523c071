"""Newton's method for the free and nudged fixed points (paper 2.2, 4.3), at high precision.

Part of :mod:`eqprop.numeric.highprec` (which re-exports :func:`newton`):
the iteration, and when a step counts as converged. Each step takes
``System.newton_step`` (the kernels' gmpy2 values into Arb) where it
applies, else the mpmath route. Precision is the caller's.
"""

from __future__ import annotations

import mpmath
import numpy as np

from . import linalg
from .integrate import ComputationBreakdown, SingularJacobian, check_time

__all__ = ["newton", "newton64"]


def newton(system, s_start, *, beta=0, theta=None, tol=None, im_unit=0, maxiter=60):
    """Solve dE^beta/ds (s) = 0 by Newton's method from ``s_start``.

    Complex ``beta`` (or ``theta``) gives a complex-step fixed point; its
    imaginary part converges relative to its own size, or absolutely below
    ``im_unit`` (the size of the imaginary perturbation, h) times ``tol``
    times the real part's size: an imaginary part that is zero in exact
    arithmetic is h times the rounding of the real part, noise that never
    converges relatively, and the derivative it carries (Im s / h) is then
    known to ``tol`` of the state's size, as the real part is. Returns
    ``(s, residual, iterations)``; raises :class:`ComputationBreakdown` if
    Newton does not converge (a start outside the basin), :class:`SingularJacobian`
    (one) for a singular Hessian, with the point where it was met.
    """
    tol = mpmath.mpf(10) ** (-(mpmath.mp.dps - 3)) if tol is None else tol
    # past quadratic convergence, a step that no longer shrinks (by less than 1.5x: a double
    # root's linear convergence halves it, and is not accepted) is rounding amplified by the
    # conditioning of the Jacobian: converged, if it is below half the working digits of the
    # solution, the real and the imaginary parts each against their own size
    stagnant = mpmath.mpf(10) ** -(mpmath.mp.dps // 2)
    s = list(s_start)
    ref = _parts(s)[0] if s else 0  # the start's size: relative, never absolute, convergence
    im_floor = im_unit * tol * ref
    size = mpmath.inf
    prev = (mpmath.inf, mpmath.inf)
    for k in range(1, maxiter + 1):
        check_time("Newton iterations")
        try:
            fast = system.newton_step(s, theta, beta) if hasattr(system, "newton_step") else None
        except ZeroDivisionError:
            raise SingularJacobian("Newton: the Hessian is singular at the current point", s) from None
        if fast is not None:
            step = fast[1]
        else:
            try:
                g = system.dEbeta_ds(s, theta, beta)
                H = system.d2Ebeta_ds2(s, theta, beta)
            except (ZeroDivisionError, ValueError) as exc:  # acos'(-1): a pole of a derivative
                raise ComputationBreakdown("Newton: the force or its Jacobian cannot be evaluated "
                                           f"at s = ({', '.join(mpmath.nstr(x, 6) for x in s)}): "
                                           f"{str(exc) or type(exc).__name__}") from None
            if not all(mpmath.isfinite(x) for x in list(g) + list(H)):
                raise ComputationBreakdown("Newton: the force or its Jacobian is not finite at "
                                           f"s = ({', '.join(mpmath.nstr(x, 6) for x in s)})")
            try:
                step = linalg.solve(H, g)
            except ZeroDivisionError:
                raise SingularJacobian("Newton: the Hessian is singular at the current point",
                                       s) from None
        s = [a - b for a, b in zip(s, step)]
        size = max(abs(x) for x in step)
        if not mpmath.isfinite(size):
            break
        parts = _parts(step)
        if _converged(step, s, tol, im_floor, ref, im_unit) or (k > 3 and all(
                p <= max(tol * r, floor) or (p > q / 1.5 and p <= stagnant * r)
                for p, q, r, floor in zip(parts, prev, _parts(s), (0, im_floor)))):
            res = max(abs(x) for x in system.dEbeta_ds(s, theta, beta))
            return s, res, k
        prev = parts
    raise ComputationBreakdown(f"Newton did not converge in {maxiter} iterations "
                               f"(last step {mpmath.nstr(size, 3)})")


def _parts(v):
    """(largest |real part|, largest |imaginary part|) of a vector."""
    return (max(abs(mpmath.re(x)) for x in v), max(abs(mpmath.im(x)) for x in v))


def _converged(step, s, tol, im_floor=0, ref=0, im_unit=0):
    """Step small against the solution, real and imaginary parts apart.

    The real part against the larger of the solution's and the start's
    size (``ref``), never an absolute 1: a fixed point of size 1e-26 must
    converge to its own digits. A complex-step solution carries a derivative
    in an imaginary part many orders of magnitude below the real part; it
    must converge relative to its own size.
    """
    im_scale = max(abs(mpmath.im(x)) for x in s)
    # the real part of a complex-step solution carries O(h^2) of the imaginary part's size:
    # a fixed point at exactly 0 (re_size all of that noise) converges below h |Im s|
    re_size = max(max(abs(mpmath.re(x)) for x in s), ref, im_unit * im_scale)
    re_ok = max(abs(mpmath.re(x)) for x in step) <= tol * re_size
    im_step = max(abs(mpmath.im(x)) for x in step)
    im_ok = im_step <= im_floor or (im_step <= tol * im_scale if im_scale else True)
    return re_ok and im_ok


def newton64(force, jacobian, start, *, maxiter=40):
    """Newton's method in complex128 from ``start``: a predictor for :func:`newton`, which
    then needs about three steps at 60 digits instead of six (from s0 at a nudge near the
    radius, more). ``force(s)`` and ``jacobian(s)`` are numpy functions. Returns ``s`` once a
    step falls below 1e-13 of its size (float64's last digits), None where Newton does not
    get there in ``maxiter`` steps, leaves the finite numbers or meets a singular Jacobian."""
    s = np.array(start, dtype=complex)
    ref = float(np.max(np.abs(s))) if s.size else 0.0
    with np.errstate(all="ignore"):
        for _ in range(maxiter):
            try:
                step = np.linalg.solve(jacobian(s), force(s))
            except np.linalg.LinAlgError:
                return None
            s = s - step
            if not np.all(np.isfinite(s)):
                return None
            if np.max(np.abs(step), initial=0.0) <= 1e-13 * max(float(np.max(np.abs(s))), ref):
                return s
    return None
