"""Arithmetic backends for the high-precision integrator (defined in :mod:`eqprop.symbolic.backends`).

The compiled kernels of the symbolic layer convert numbers with them too,
and a layer imports only from those below it: the definitions sit there.
"""

from eqprop.symbolic.backends import GMPY, MPMATH, GmpyBackend, MpmathBackend

__all__ = ["MPMATH", "GMPY", "MpmathBackend", "GmpyBackend"]
