"""What the command line writes, and where: safe text for a terminal, and output paths.

Output files (``--json``, ``--out``) are checked by :func:`check_output` before
any work starts, so that an hour's verification never ends in "cannot write";
``--json -`` writes to standard output.
"""

from __future__ import annotations

import contextlib
import os
import re

from ..errors import EqpropError

__all__ = ["sanitize", "check_output", "not_an_input", "write_json"]

#: Control characters (but tab), bidirectional overrides and other invisible
#: formatting, and lone surrogates: never written raw to a terminal.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                     "\u2060-\u2069\ufeff\ud800-\udfff]")


def sanitize(text, *, newlines=False):
    """``text`` with control characters written visibly (ESC as ``\\x1b``, U+202E as ``\\u202e``).

    Model files are shared: their names, formulas and the messages quoting
    them must not move the cursor, recolour or rewrite lines, nor reverse
    the reading order. ``newlines=True`` keeps line breaks (tables).
    """
    def visible(m):
        c = m.group()
        return c if newlines and c == "\n" else c.encode("unicode_escape").decode("ascii")
    return _UNSAFE.sub(visible, str(text))


def check_output(path, option, *, folder=False):
    """Fail at once, before any work, when the output ``path`` cannot be written: the one check
    of every subcommand's output (``--json`` files, ``--out`` folders).

    ``'-'`` (a file) is standard output. A file needs an existing folder, and
    either to open for appending (an existing file: nothing is truncated
    before the work is done; a pipe with no reader fails instead of blocking)
    or a file to be creatable beside it. A folder (``folder=True``) needs to
    be one, or to be creatable in its nearest existing parent. Whether a file
    can be created is found by creating one: as root, ``os.access`` says yes
    to everything, a read-only file system and ``/proc`` included.
    """
    if path is None or (path == "-" and not folder):
        return
    if not path.strip():  # os.path.abspath('') is the current folder
        raise EqpropError(f"{option}: the path is empty; give a {'folder' if folder else 'file'} "
                          f"name{', or - for standard output' if not folder else ''}")
    if "\x00" in path:
        raise EqpropError(f"{option}: the path contains a NUL character; choose another path")
    full = os.path.abspath(path)
    if os.path.islink(full) and not os.path.exists(full):  # a loop, or a link to nothing
        try:
            os.stat(full)
            reason = "it cannot be followed"
        except OSError as exc:
            reason = exc.strerror or str(exc)
        raise EqpropError(f"{option}: {path!r} is a symbolic link that cannot be followed "
                          f"({reason}); remove it or choose another path")
    if folder:
        _check_folder(full, option, path)
    else:
        _check_file(full, option, path)


def _check_folder(full, option, path):
    """An output folder: one already, or creatable in its nearest existing parent."""
    if os.path.exists(full) and not os.path.isdir(full):
        raise EqpropError(f"{option}: {path!r} is a file, not a folder")
    existing = full
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise EqpropError(f"{option}: cannot create the folder {path!r} ({existing!r} is a "
                          "file, not a folder)")
    _probe_writable(existing, option, path)
    if existing != full:
        _probe_folder(full, existing, option, path)


def _check_file(full, option, path):
    """An output file: in an existing folder, and open for appending or creatable there."""
    parent = os.path.dirname(full)
    if os.path.isdir(full):
        raise EqpropError(f"{option}: {path!r} is a folder; give a file name, such as "
                          f"{os.path.join(path, 'report.json')!r}")
    if not os.path.isdir(parent):
        what = "is a file, not a folder" if os.path.exists(parent) else "does not exist"
        raise EqpropError(f"{option}: folder {parent!r} {what}; create it or choose another path")
    if not os.path.lexists(full):
        _probe_writable(parent, option, path)
        _probe_file(path, option)
        return
    try:
        fd = os.open(full, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
        try:
            os.write(fd, b"")  # appends nothing; /dev/full refuses even that (no space left)
        finally:
            os.close(fd)
    except OSError as exc:
        raise EqpropError(f"{option}: cannot write {path!r} ({exc.strerror or exc}); choose "
                          "another place") from None


def _probe_writable(folder, option, shown):
    """Fail at once when no file can be created in ``folder`` (as root, os.access says yes to
    everything: a read-only file system or /proc is found only by trying)."""
    import tempfile
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise EqpropError(f"{option}: cannot write {shown!r} ({exc.strerror or exc}); choose "
                          "another place") from None


def _probe_file(path, option):
    """Fail at once when the new file ``path`` cannot be created (a name too long, a trailing
    '/'): found by creating it, as the report will be, and removing it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        raise EqpropError(f"{option}: cannot write {path!r} ({exc.strerror or exc}); choose "
                          "another place") from None
    os.close(fd)
    os.unlink(path)


def _probe_folder(full, existing, option, shown):
    """Fail at once when the folder ``full`` cannot be made below ``existing`` (a name too
    long): found by making it, and removing what was made."""
    missing = []
    while full != existing:
        missing.append(full)
        full = os.path.dirname(full)
    made = []
    try:
        for folder in reversed(missing):
            os.mkdir(folder)
            made.append(folder)
    except OSError as exc:
        raise EqpropError(f"{option}: cannot create the folder {shown!r} ({exc.strerror or exc}); "
                          "choose another place") from None
    finally:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(folder)


def not_an_input(path, inputs, option):
    """Refuse an output file that is one of the files the command reads: '--json model.toml'
    would replace the model with its report. ``inputs``: (what, path) pairs."""
    if path is None or path == "-" or not os.path.exists(path):
        return
    for what, source in inputs:
        try:
            same = source is not None and os.path.isfile(source) and os.path.samefile(path, source)
        except (OSError, ValueError):
            same = False
        if same:
            raise EqpropError(f"{option}: {path!r} is the {what} this command reads; writing the "
                              "report there would replace it; choose another file")


def write_json(path, text):
    """Write a report's JSON to ``path``; '-' is standard output."""
    if path == "-":
        print(text, flush=True)
        return
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    except OSError as exc:
        raise EqpropError(f"--json: cannot write {path!r} ({exc.strerror or exc})") from None
