"""How a long command shows it is alive: stage lines, or a one-line stage display.

Progress goes to standard error, so that standard output holds only the
result (a table, or the JSON of ``--json -``).
"""

from __future__ import annotations

import sys
import time

from .output import sanitize

__all__ = ["Progress", "stage_line"]


def stage_line(msg, *, clock=False):
    """Write ``msg ...`` on a line of its own on standard error, after the time of day with
    ``clock`` (``[14:02:07] msg ...``)."""
    stamp = f"[{time.strftime('%H:%M:%S')}] " if clock else ""
    print(f"{stamp}{sanitize(msg)} ...", file=sys.stderr, flush=True)


class Progress:
    """A one-line stage indicator on standard error (stages, elapsed time).

    Drawn only on a terminal, and erased when the run fails, so that a failing run leaves
    exactly one line, its error; elsewhere (a pipe, a log) only the final ``done`` line is
    written, on success."""

    def __init__(self, stream=None):
        self.start, self.stage = time.perf_counter(), 0
        self.stream = stream or sys.stderr
        try:
            self.live = self.stream.isatty()
        except (AttributeError, ValueError):
            self.live = False

    def __call__(self, msg):
        self.stage += 1
        if self.live:
            print(f"\r[{time.perf_counter() - self.start:6.1f} s] stage {self.stage}: {msg:<70}",
                  end="", file=self.stream, flush=True)

    def stop(self):
        if self.stage and self.live:  # erase the line: the error message takes its place
            print(f"\r{'':<100}\r", end="", file=self.stream, flush=True)

    def done(self):
        line = f"[{time.perf_counter() - self.start:6.1f} s] done"
        print(f"\r{line:<100}" if self.live else line, file=self.stream, flush=True)
