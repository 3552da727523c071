"""The high-precision path: fixed points, flows and adjoints in mpmath.

Everything here runs at the caller's working precision (inside
``mpmath.workdps``); the proofs carry :data:`GUARD_DPS` extra digits above the
precision they report. A :class:`System` binds compiled functions (from
:mod:`eqprop.symbolic.codegen`; any object with the same ``.mp`` methods
works) to the model's exact values, and offers the dynamics of the paper:

- free and nudged dynamics ``ds/dt = -dE^beta/ds = -dE/ds - beta dC/ds``
  (paper 2.1, 4.2) with real or complex ``beta`` and, for Theorem 1's
  definition, parameters shifted by a complex step;
- Newton's method for the free and nudged fixed points (paper 2.2, 4.3);
- the RBP adjoint system (paper 3.5-3.8) and its closed form
  (:mod:`~eqprop.numeric.adjoint`, re-exported here); derivatives from
  evaluations and digits of agreement (:mod:`~eqprop.numeric.differences`).

Every flow starts at t = 0: a time grid is absolute, whatever its first
point. No SymPy is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import gmpy2
import mpmath

from . import linalg
from .adjoint import adjoint_closed_form, adjoint_flow
from .backends import GMPY, MPMATH
from .differences import derivative, digits_of_agreement, richardson_derivative, richardson_levels
from .integrate import ComputationBreakdown, Flow, IntegrationError, check_time, integrate
from .newton import newton

__all__ = ["GUARD_DPS", "System", "Perturbation", "Flow", "ComputationBreakdown", "to_mp",
           "newton", "derivative", "richardson_derivative", "richardson_levels", "adjoint_closed_form",
           "adjoint_flow",
           "digits_of_agreement"]

#: Extra decimal digits carried above the precision a result is reported at.
GUARD_DPS = 10


def to_mp(value):
    """An exact ``Fraction`` (or int/str/mpf) as an mpmath number at the current precision."""
    if isinstance(value, Fraction):
        return mpmath.mpf(value.numerator) / value.denominator
    return mpmath.mpmathify(value)


@dataclass(frozen=True)
class Perturbation:
    """A deliberate, consistent corruption of the model's derivatives.

    For negative controls and mutation tests: with ``ds = s - s_ref`` and
    ``dth = theta - theta_ref``,

    - ``dE/ds += A ds + B dth + sigma`` (so H gains A and M gains B^T;
      ``sigma`` shifts the force alone, as a wrong right-hand side would),
    - ``dE/dtheta += B^T ds``,
    - ``dC/ds += kappa``, ``dC/dtheta += lam``, ``C += kappa.ds + lam.dth``.

    Any field may be ``None`` (zero). Matrices are lists of rows.
    """

    s_ref: list
    theta_ref: list
    A: list | None = None
    B: list | None = None
    sigma: list | None = None
    kappa: list | None = None
    lam: list | None = None

    def force(self, s, theta):
        ds = [a - b for a, b in zip(s, self.s_ref)]
        dth = [a - b for a, b in zip(theta, self.theta_ref)]
        out = [mpmath.mpf(0)] * len(s)
        for i in range(len(s)):
            if self.A:
                out[i] += mpmath.fsum(a * x for a, x in zip(self.A[i], ds))
            if self.B:
                out[i] += mpmath.fsum(b * x for b, x in zip(self.B[i], dth))
            if self.sigma:
                out[i] += self.sigma[i]
        return out

    def theta_force(self, s):
        """The change of dE/dtheta: B^T (s - s_ref)."""
        if not self.B:
            return None
        ds = [a - b for a, b in zip(s, self.s_ref)]
        return [mpmath.fsum(self.B[i][k] * ds[i] for i in range(len(ds)))
                for k in range(len(self.theta_ref))]

    def affine(self):
        """``(A, B, c0, kappa)`` with the force change written ``A s + B theta + c0``."""
        n, p = len(self.s_ref), len(self.theta_ref)
        A = self.A or [[0] * n for _ in range(n)]
        B = self.B or [[0] * p for _ in range(n)]
        sigma = self.sigma or [0] * n
        c0 = [sigma[i] - mpmath.fsum(A[i][j] * self.s_ref[j] for j in range(n))
              - mpmath.fsum(B[i][k] * self.theta_ref[k] for k in range(p)) for i in range(n)]
        return A, B, c0, self.kappa or [0] * n


class System:
    """A model's compiled functions bound to its values, evaluated in mpmath.

    Method names are the derived quantities' names (``dE_ds``, ``d2E_ds2``,
    ...), with ``beta`` the nudging strength where it enters.

    Parameters
    ----------
    compiled : eqprop.symbolic.codegen.Compiled
        Functions of ``(s, theta, data)`` with ``.mp`` methods.
    theta, data : sequences of Fraction
        Exact values, in the model's declared order.
    has_energy : bool
        False for a vector-field model (no E, no dE/dtheta).
    engine : {"gbs", "heyoka"}
        The integrator of :meth:`flow`.
    perturbation : Perturbation, optional
        A deliberate corruption (negative controls), applied everywhere.
    """

    def __init__(self, compiled, theta, data, *, has_energy=True, engine="gbs", perturbation=None):
        self.c = compiled
        self.theta_exact, self.data_exact = tuple(theta), tuple(data)
        self.has_energy = has_energy
        self.n, self.p = compiled.n, compiled.p
        if engine not in ("gbs", "heyoka"):
            raise ValueError(f"engine: {engine!r}")
        self.engine = engine
        self.perturbation = perturbation

    def perturbed(self, perturbation):
        """The same system with ``perturbation`` applied."""
        return System(self.c, self.theta_exact, self.data_exact, has_energy=self.has_energy,
                      engine=self.engine, perturbation=perturbation)

    # values at the current precision (recomputed: precision may have changed)
    def theta(self):
        return list(self._values("theta", self.theta_exact))

    def data(self):
        return list(self._values("data", self.data_exact))

    def _values(self, name, exact):
        """The exact values at the current precision, converted once per precision."""
        key = (name, mpmath.mp.prec)
        kept = self.__dict__.setdefault("_converted", {})
        if key not in kept:
            kept[key] = tuple(to_mp(v) for v in exact)
        return kept[key]

    def _theta(self, theta):
        return self.theta() if theta is None else theta

    # -- the derived quantities ---------------------------------------------
    def dEbeta_ds(self, s, theta=None, beta=0):
        """dE^beta/ds = dE/ds + beta dC/ds at s (paper 4.1): minus the force."""
        theta = self._theta(theta)
        d = self.data()
        g = self.c.dE_ds.mp(s, theta, d)
        if beta != 0:
            g = [a + beta * b for a, b in zip(g, self.dC_ds(s, theta))]
        if self.perturbation:
            g = [a + b for a, b in zip(g, self.perturbation.force(s, theta))]
        return g

    def d2Ebeta_ds2(self, s, theta=None, beta=0):
        """H + beta d2C/ds2 at s (the Jacobian of Newton's method), an mpmath matrix."""
        theta = self._theta(theta)
        H = self.c.d2E_ds2.mp(s, theta, self.data())
        if beta != 0:  # entry by entry: mpmath's H + beta * C costs ten times more
            d2C = self.c.d2C_ds2.mp(s, theta, self.data())
            for i in range(d2C.rows):
                for j in range(d2C.cols):
                    if d2C[i, j]:
                        H[i, j] += beta * d2C[i, j]
        if self.perturbation and self.perturbation.A:
            H = H + mpmath.matrix(self.perturbation.A)
        return H

    def newton_step(self, s, theta=None, beta=0):
        """``(g, H_beta(s)^-1 g)`` with ``g = dE^beta/ds(s)``, computed on gmpy2 numbers by the
        compiled kernels' plans, the Hessian's values straight into Arb
        (:func:`.linalg.solve_flat`): no mpmath matrix, and theta, the data and beta converted
        once per point, not once per call. None where that path does not apply (mpmath linear
        algebra, no gmpy2 plan, a perturbed system, values that are not finite): Newton then
        takes :meth:`dEbeta_ds`, :meth:`d2Ebeta_ds2` and :func:`.linalg.solve`. Raises
        ``ZeroDivisionError`` for a singular Hessian."""
        if linalg.backend() != "flint" or self.perturbation:
            return None
        fns = self._newton_kernels(theta, beta)
        if fns is None:
            return None
        with GMPY.scope():
            z = [GMPY.from_mp(mpmath.mpmathify(x)) for x in s]
            try:
                g, H = fns[0](z), fns[1](z)
                if fns[2] is not None:
                    b = GMPY.from_mp(mpmath.mpmathify(beta))
                    H = [x + b * y if y else x for x, y in zip(H, fns[2](z))]
            except (ArithmeticError, ValueError, TypeError):
                return None
            if not (all(map(gmpy2.is_finite, g)) and all(map(gmpy2.is_finite, H))):
                return None
            g = [GMPY.to_mp(x) for x in g]
        return g, linalg.solve_flat(H, g)

    def _newton_kernels(self, theta, beta):
        """The plans of dE^beta/ds, H and d2C/ds2 bound to (theta, data, beta), kept for the
        last few points (Newton runs many steps at each)."""
        key = (mpmath.mp.prec, None if theta is None else tuple(theta), beta)
        kept = self.__dict__.setdefault("_newton_plans", {})
        if key in kept:
            return kept[key]
        theta = self._theta(theta)
        kernels = [self.c.dEbeta_ds.kernel, self.c.d2E_ds2.kernel] + \
            ([self.c.d2C_ds2.kernel] if beta != 0 else [])
        if not all(k.gmpy_plan.supported for k in kernels):
            fns = None
        else:
            with GMPY.scope():
                static = [GMPY.from_mp(mpmath.mpmathify(x)) for x in list(theta) + self.data()]
                fns = [kernels[0].gmpy_plan.bind(self.n, static + [GMPY.from_mp(mpmath.mpmathify(beta))])] + \
                    [k.gmpy_plan.bind(self.n, static) for k in kernels[1:]] + [None] * (beta == 0)
        if len(kept) >= 8:
            kept.pop(next(iter(kept)))
        kept[key] = fns
        return fns

    def d2E_dtheta_ds(self, s, theta=None):
        """M = d2E/(dtheta ds), p x n."""
        M = self.c.d2E_dtheta_ds.mp(s, self._theta(theta), self.data())
        if self.perturbation and self.perturbation.B:
            M = M + mpmath.matrix(self.perturbation.B).T
        return M

    def C(self, s, theta=None):
        theta = self._theta(theta)
        c = self.c.C.mp(s, theta, self.data())
        P = self.perturbation
        if P and P.kappa:
            c += mpmath.fsum(k * (a - b) for k, a, b in zip(P.kappa, s, P.s_ref))
        if P and P.lam:
            c += mpmath.fsum(k * (a - b) for k, a, b in zip(P.lam, theta, P.theta_ref))
        return c

    def dC_ds(self, s, theta=None):
        g = self.c.dC_ds.mp(s, self._theta(theta), self.data())
        if self.perturbation and self.perturbation.kappa:
            g = [a + b for a, b in zip(g, self.perturbation.kappa)]
        return g

    def dC_dtheta(self, s, theta=None):
        if self.p == 0:
            return []
        g = self.c.dC_dtheta.mp(s, self._theta(theta), self.data())
        if self.perturbation and self.perturbation.lam:
            g = [a + b for a, b in zip(g, self.perturbation.lam)]
        return g

    def dE_dtheta(self, s, theta=None):
        g = self.c.dE_dtheta.mp(s, self._theta(theta), self.data())
        extra = self.perturbation.theta_force(s) if self.perturbation else None
        return [a + b for a, b in zip(g, extra)] if extra else g

    def dEbeta_dtheta(self, s, beta, theta=None):
        """E^beta_theta = dE/dtheta + beta dC/dtheta at s (the EP readout, paper 4.4)."""
        return [a + beta * b for a, b in zip(self.dE_dtheta(s, theta), self.dC_dtheta(s, theta))]

    # -- flows ----------------------------------------------------------------
    def flow(self, s_start, times, *, tol, theta=None, beta=0, rest=None) -> Flow:
        """States of ``ds/dt = -dE^beta/ds`` started at ``s_start`` at t = 0, at ``times``.

        ``beta`` and ``theta`` may be complex (complex-step nudging). The
        times are absolute (the flow starts at 0 whatever ``times[0]`` is).
        ``rest``: the |force| below which the start counts as a fixed point
        (``Problem.rest``). Given, a complex-step flow whose start is at rest
        is solved by its propagator
        (:mod:`.propagator`: linear to the working precision, n + 2 force
        evaluations) where the arithmetic confirms it; other flows integrate.
        """
        theta = self._theta(theta)
        grid = [mpmath.mpf(t) for t in times]
        start0 = not grid or grid[0] != 0
        if start0:
            grid = [mpmath.mpf(0)] + grid
        states = None
        check_time("trajectories")
        if rest is not None:
            from .propagator import rest_flow
            real = [mpmath.re(mpmath.mpmathify(x)) for x in theta]
            solved = rest_flow(self._mp_force(theta, beta), self._mp_force(real, mpmath.re(beta)),
                               list(s_start), grid, rest=rest,
                               cache=self._jacobians.setdefault((tuple(real), mpmath.re(beta)), {}))
            if solved is not None:
                states, stats = solved
                return Flow(states[1:] if start0 else states, stats)
        if self.engine == "heyoka":
            from .taylor import taylor_flow
            try:
                states, stats = taylor_flow(self, s_start, grid, tol=tol, theta=theta, beta=beta)
            except IntegrationError as exc:  # heyoka gave up (a NaN in its recurrences, say)
                fallback = str(exc)
        if states is None:
            states, integ = integrate(self._rhs(theta, beta), s_start, grid, tol=tol,
                                      backend=self.backend)
            stats = {"evaluations": integ.evaluations, "steps": integ.steps,
                     "rejected": integ.rejected}
            if self.engine == "heyoka":
                stats["fallback"] = f"gbs ({fallback})"
        return Flow(states[1:] if start0 else states, stats)

    def _rhs(self, theta, beta):
        """The right-hand side ``-dE^beta/ds`` in the integrator's arithmetic."""
        d = self.data()
        if self.backend is not GMPY:
            return lambda s: [-x for x in self.dEbeta_ds(s, theta, beta)]
        with GMPY.scope():
            static = [[GMPY.from_mp(mpmath.mpmathify(x)) for x in v] for v in (theta, d, [beta])]
            force = self.c.dEbeta_ds.bind(*static)
            P = self.perturbation
            if P is None:
                return lambda s: [-g for g in force(s)]
            A, B, c0, kappa = P.affine()
            conv = GMPY.from_mp
            A = [[conv(mpmath.mpf(x)) for x in row] for row in A]
            shift = [conv(mpmath.mpmathify(c + mpmath.fsum(b * t for b, t in zip(Brow, theta))
                                           + beta * k))
                     for c, Brow, k in zip(c0, B, kappa)]

        def rhs(s):
            return [-(g + sum((a * x for a, x in zip(row, s)), 0) + c)
                    for g, row, c in zip(force(s), A, shift)]
        return rhs

    def _mp_force(self, theta, beta):
        """The right-hand side :meth:`_rhs` on mpmath numbers (lists in, lists out)."""
        rhs, B = self._rhs(theta, beta), self.backend

        def force(s):
            with B.scope():
                return [B.to_mp(v) for v in rhs([B.from_mp(mpmath.mpmathify(x)) for x in s])]
        return force

    @property
    def _jacobians(self):
        """Jacobians of the force kept by :func:`.propagator.rest_flow`, per real point."""
        if not hasattr(self, "_jacobian_cache"):
            self._jacobian_cache = {}
        return self._jacobian_cache

    @property
    def backend(self):
        """gmpy2 when the compiled right-hand side supports it, else mpmath."""
        if not hasattr(self, "_backend"):
            self._backend = GMPY if self.c.dEbeta_ds.kernel.gmpy_supported(self.n) else MPMATH
        return self._backend
