"""What every file named by a user must be before it is opened: a regular file.

A folder cannot be read as one file, and a device, pipe or socket would block
or never end; a name with a NUL character cannot name a file at all. Model
files (:mod:`.builtins`), the ``.npy`` values of array models
(:mod:`.arrays.values`) and MNIST files (:mod:`eqprop.numeric.data`) are
checked here, each caller turning a :class:`FileRefused` into its own
one-line message.
"""

from __future__ import annotations

import stat
from pathlib import Path


class FileRefused(Exception):
    """Why a path is not a readable regular file.

    ``kind`` is one of ``"nul"`` (the name contains a NUL character),
    ``"missing"``, ``"unreadable"`` (the system refused to look: ``reason``
    says why), ``"folder"``, ``"special"`` (a device, pipe or socket).
    """

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def stat_regular_file(path):
    """``os.stat`` of ``path`` where it names a regular file; :class:`FileRefused` otherwise."""
    if "\x00" in str(path):
        raise FileRefused("nul", "embedded null byte")  # the words of the OS call, which refuses it
    try:
        info = Path(path).stat()
    except FileNotFoundError:
        raise FileRefused("missing", "no such file") from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FileRefused("unreadable", reason) from None
    if stat.S_ISDIR(info.st_mode):
        raise FileRefused("folder", "is a folder")
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused("special", "is not a regular file (a device, pipe or socket)")
    return info
