"""Arithmetic backends for the high-precision integrator.

Algorithms take the backend explicitly (as mpmath's ``ode_taylor(ctx, ...)``
takes its context). Both backends work at the precision of the enclosing
``mpmath.workdps`` scope; results always leave the integrator as mpmath
numbers.

- :data:`MPMATH`: mpmath's own ``mpf``/``mpc`` (pure Python arithmetic on
  top of GMP integers).
- :data:`GMPY`: gmpy2's ``mpfr``/``mpc`` (MPFR and MPC in C), about ten
  times faster per operation; the compiled right-hand sides come from
  :mod:`eqprop.symbolic.codegen`'s gmpy2 printer. Measured in
  bench/RESULTS.md.

They live in the symbolic layer, the lowest that converts numbers between
mpmath and gmpy2 (the compiled kernels do, on their way into and out of the
plan on gmpy2 numbers); :mod:`eqprop.numeric.backends` offers the same names.
"""

from __future__ import annotations

import contextlib

import gmpy2
import mpmath

__all__ = ["MPMATH", "GMPY", "MpmathBackend", "GmpyBackend"]


class MpmathBackend:
    name = "mpmath"

    def scope(self):
        return contextlib.nullcontext()

    def from_mp(self, x):
        return x

    def to_mp(self, x):
        return x

    def number(self, x):
        return mpmath.mpf(x)


class GmpyBackend:
    name = "gmpy2"

    def scope(self):
        """A gmpy2 context at mpmath's current precision (binary digits)."""
        prec = mpmath.mp.prec
        return gmpy2.context(gmpy2.get_context(), precision=prec, real_prec=prec, imag_prec=prec,
                             allow_complex=True)

    def from_mp(self, x):
        if isinstance(x, mpmath.mpc):
            return gmpy2.mpc(self.from_mp(x.real), self.from_mp(x.imag))
        if isinstance(x, mpmath.mpf):
            sign, man, exp, _bc = x._mpf_
            if not man:
                return gmpy2.mpfr(0)
            return gmpy2.mul_2exp(gmpy2.mpfr(-man if sign else man), exp)
        if isinstance(x, complex):
            return gmpy2.mpc(x)
        return gmpy2.mpfr(x)

    def to_mp(self, x):
        if isinstance(x, type(gmpy2.mpc(0))):
            return mpmath.mpc(self.to_mp(x.real), self.to_mp(x.imag))
        man, exp = gmpy2.mpfr(x).as_mantissa_exp()
        return mpmath.mpf(mpmath.libmp.from_man_exp(int(man), int(exp)))

    def number(self, x):
        return gmpy2.mpfr(x)


MPMATH = MpmathBackend()
GMPY = GmpyBackend()
