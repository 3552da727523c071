"""The working precision: a value passed down, and the one place that sets it.

mpmath keeps its precision in a process-wide context (``mpmath.mp``) and
python-flint keeps Arb's in another (``flint.ctx``); every function of both
libraries reads them. A run therefore carries a :class:`Precision` (its
digits) and enters it where it computes::

    prec = Precision(60)
    with prec.working():
        ...                       # mpmath at 60 digits
        with arb_bits(prec.bits + 20):
            ...                   # Arb at 20 guard bits more

Nothing else in eqprop assigns ``mpmath.mp.dps`` or ``flint.ctx.prec``.
Entering either takes a process-wide re-entrant lock and restores the old
value on leaving, so a run in another thread waits for this one instead of
changing its precision mid-computation (runs in separate processes, such
as a sweep's workers, never share either context). Nested entries in one
thread (a finer precision inside a coarser one) work as with
``mpmath.workdps``.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass

import mpmath

try:  # python-flint is a core dependency; a broken install still runs on mpmath alone
    import flint
except ImportError:  # pragma: no cover - python-flint missing
    flint = None

__all__ = ["Precision", "working", "arb_bits", "bits_of"]

#: Held while a precision is in force: one thread's precision at a time in a process.
_LOCK = threading.RLock()


def bits_of(dps):
    """Binary precision of ``dps`` decimal digits, as mpmath counts it."""
    return mpmath.libmp.dps_to_prec(int(dps))


@contextlib.contextmanager
def working(dps):
    """Within the block, mpmath computes at ``dps`` decimal digits (then the old value)."""
    with _LOCK, mpmath.workdps(int(dps)):
        yield


@contextlib.contextmanager
def arb_bits(bits):
    """Within the block, Arb (python-flint) computes with ``bits`` of midpoint precision."""
    with _LOCK:
        if flint is None:  # pragma: no cover - python-flint missing
            yield
            return
        old = flint.ctx.prec
        flint.ctx.prec = int(bits)
        try:
            yield
        finally:
            flint.ctx.prec = old


@dataclass(frozen=True)
class Precision:
    """The precision of one run: ``dps`` decimal digits computed, ``reported`` shown.

    ``reported`` (default ``dps``) is what rows are measured against; the
    difference is the guard digits that absorb the computation's own rounding.
    """

    dps: int
    reported: int | None = None

    @property
    def bits(self):
        return bits_of(self.dps)

    @property
    def guard(self):
        """Digits computed beyond those reported."""
        return self.dps - (self.reported if self.reported is not None else self.dps)

    def working(self, extra=0):
        """A context in which mpmath computes at ``dps + extra`` digits."""
        return working(self.dps + extra)

    def arb(self, extra_bits=0):
        """A context in which Arb computes at this precision plus ``extra_bits``."""
        return arb_bits(self.bits + extra_bits)
