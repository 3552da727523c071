"""One alarm for every test that must not hang: a hang fails the test instead of blocking CI."""

import contextlib
import signal


class Hung(BaseException):
    """Raised by the alarm: not an Exception, so no handler under test can swallow it."""


@contextlib.contextmanager
def deadline(seconds=20):
    """Fail the enclosed block with :class:`Hung` if it runs longer than ``seconds`` (no timing
    is asserted: the limit only turns a hang into a failure)."""
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover - Windows
        yield
        return

    def ring(signum, frame):
        raise Hung(f"no answer within {seconds} s")
    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
