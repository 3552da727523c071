"""What an internal error (a bug) prints: one line, exit status 3, the traceback in a file.

A user who meets a bug sees one line naming the exception and the file that
holds the traceback (in ``$EQPROP_TRACEBACK_DIR`` if set, else the temporary
folder), never a traceback on the terminal unless ``--debug`` asks for it.
"""

from __future__ import annotations

import os
import sys
import time

from .output import sanitize

__all__ = ["internal_error"]


def internal_error(exc, argv, debug):
    """Report a bug in one line (exit 3); the traceback goes to a file, or here with --debug."""
    import traceback
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    message = sanitize(" ".join(str(exc).split()))
    if len(message) > 300:
        message = message[:297] + "..."
    head = f"eqprop: internal error: {type(exc).__name__}" + (f": {message}" if message else "")
    if debug:
        print(trace + head, file=sys.stderr, flush=True)
        return 3
    try:
        path = _save_traceback(trace, argv)
    except OSError as err:
        print(f"{head}; the traceback could not be saved ({err.strerror or err}); rerun with "
              "--debug to see it here", file=sys.stderr, flush=True)
    else:
        print(f"{head}; the traceback is in {path} (rerun with --debug to see it here)",
              file=sys.stderr, flush=True)
    return 3


def _save_traceback(trace, argv):
    """Write ``trace`` to a new file in $EQPROP_TRACEBACK_DIR (else the temporary folder)."""
    import platform
    import shlex
    import tempfile

    from .. import __version__
    folder = os.environ.get("EQPROP_TRACEBACK_DIR") or tempfile.gettempdir()
    os.makedirs(folder, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix=f"eqprop-traceback-{time.strftime('%Y%m%d-%H%M%S')}-"
                                       f"{os.getpid()}-", suffix=".txt", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"eqprop {__version__}, Python {platform.python_version()}, {platform.platform()}\n"
                 f"command: eqprop {shlex.join(str(a) for a in argv)}\n\n{trace}")
    return path
