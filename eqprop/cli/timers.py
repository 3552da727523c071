"""A wall-time limit for work that has no budget of its own.

``eqprop verify`` budgets its checks itself (an unfinished check makes the
verdict 'incomplete'); what comes before them, and the whole of ``eqprop
derive``, is SymPy work that cannot be asked to stop. An alarm stops it.
"""

from __future__ import annotations

import contextlib
import time

__all__ = ["OutOfTime", "time_limit", "run_limit"]


class OutOfTime(BaseException):
    """Raised by the alarm: not an Exception, so no ``except Exception`` in SymPy swallows it."""


@contextlib.contextmanager
def time_limit(seconds):
    """Raise :class:`OutOfTime` in the block after ``seconds`` (main thread, Unix; elsewhere, or
    inside a shorter alarm already set, nothing is changed)."""
    import signal
    import threading
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    outer = signal.getitimer(signal.ITIMER_REAL)[0]
    if 0 < outer <= seconds:  # a shorter alarm (a test's deadline) rings first anyway
        yield
        return

    def ring(signum, frame):
        raise OutOfTime
    start = time.monotonic()
    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:  # the outer alarm, with what was left of it
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 1e-3))


def run_limit(option):
    """The time limit of the option, or the default (the library validates the option)."""
    from ..proofs.options import MAX_TIME_LIMIT, TIME_LIMIT
    value = TIME_LIMIT if option is None else option
    try:
        value = float(value)
    except (TypeError, ValueError):
        return TIME_LIMIT
    return value if 0 < value <= MAX_TIME_LIMIT else TIME_LIMIT
