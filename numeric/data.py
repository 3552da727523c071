"""Data for the realistic-size checks: random, scikit-learn's digits, local MNIST files.

Nothing is downloaded: ``digits`` is the 8x8 digits set that scikit-learn
ships inside its package (optional extra ``eqprop[data]``); ``mnist:PATH``
reads IDX or ``.npz`` files the user already has.

A data file is untrusted input: whatever is wrong with it (missing,
unreadable, truncated, not the format its name says, sizes that do not
agree, too large) is an :class:`EqpropError` of one line naming the file and
the problem, never an exception of numpy, gzip or zipfile. Sizes are
computed with Python integers (a header cannot overflow them) and checked
against :data:`MAX_DATA_BYTES` before anything of that size is read.
"""

from __future__ import annotations

import gzip
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from eqprop.errors import EqpropError
from eqprop.symbolic.files import FileRefused, stat_regular_file

__all__ = ["load", "read_idx", "labels_path", "MAX_DATA_BYTES"]

#: the most bytes of values one data file (images or labels) may hold, after decompression
MAX_DATA_BYTES = 2 * 2**30
#: the largest label read as a class index (beyond it, labels are not indices of output units)
MAX_CLASSES = 100_000

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_FORMAT_HINT = ("give MNIST's IDX files (e.g. train-images-idx3-ubyte, .gz allowed, with "
                "train-labels-idx1-ubyte beside it) or an .npz written by numpy.savez(path, x=images, "
                "y=labels)")


def _name(path):
    return repr(str(path))


def _size(nbytes):
    """``nbytes`` (a Python int, possibly huge) for a message."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            break
        nbytes /= 1024
    if isinstance(nbytes, int):
        return f"{nbytes} bytes"
    return f"{nbytes:.3g} {unit}" if nbytes < 1e6 else f"{nbytes:.1e} {unit}"


def _check_readable(path, what="mnist"):
    """Fail with one line unless ``path`` is a regular file this process can read."""
    try:
        stat_regular_file(path)
    except FileRefused as refused:
        raise EqpropError(f"{what}: " + {
            "nul": f"the file name {_name(path)} contains a NUL character",
            "missing": f"no such file {_name(path)}; give the path of an IDX images file or an "
                       ".npz you already have (nothing is downloaded)",
            "folder": f"{_name(path)} is a folder; give the images file inside it, such as "
                      "train-images-idx3-ubyte",
            "special": f"{_name(path)} is not a regular file; {_FORMAT_HINT}",
        }.get(refused.kind, f"cannot read {_name(path)} ({refused.reason})")) from None
    if not os.access(path, os.R_OK):
        raise EqpropError(f"{what}: cannot read {_name(path)} (permission denied)")


def _read_exact(fh, n, path, what):
    """Exactly ``n`` bytes from ``fh``, else a one-line error saying the file is truncated."""
    chunks, got = [], 0
    while got < n:
        chunk = fh.read(min(n - got, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    if got < n:
        raise EqpropError(f"mnist: {_name(path)} is truncated: its {what} needs {n} bytes, the "
                          f"file holds {got}")
    return b"".join(chunks)


def read_idx(path):
    """Read an IDX file (MNIST's format; gzip allowed) into a numpy array.

    The header is read first and its size checked (a Python int, at most
    :data:`MAX_DATA_BYTES`) before the values are read; a file with fewer or
    more bytes than its header says is refused.
    """
    path = Path(path)
    _check_readable(path)
    with open(path, "rb") as probe:
        try:
            gz = probe.read(2) == b"\x1f\x8b"
        except OSError as exc:
            raise EqpropError(f"mnist: cannot read {_name(path)} ({exc.strerror or exc})") from None
    if path.suffix == ".gz" and not gz:
        raise EqpropError(f"mnist: {_name(path)} is named .gz but is not gzip-compressed; "
                          "rename it without .gz or compress it with gzip")
    try:
        with (gzip.open if gz else open)(path, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0:
                raise EqpropError(f"mnist: {_name(path)} is not an IDX file (bad magic number); "
                                  + _FORMAT_HINT)
            code, ndim = head[2], head[3]
            if code not in _IDX_TYPES:
                raise EqpropError(f"mnist: {_name(path)} has an unknown IDX data type 0x{code:02x} "
                                  f"(known: {', '.join(f'0x{c:02x}' for c in _IDX_TYPES)})")
            if ndim == 0:
                raise EqpropError(f"mnist: {_name(path)} declares 0 dimensions; an IDX images or "
                                  "labels file has at least one")
            dims = _read_exact(fh, 4 * ndim, path, f"header ({ndim} dimensions)")
            shape = tuple(int.from_bytes(dims[4 * i:4 * i + 4], "big") for i in range(ndim))
            itemsize = np.dtype(_IDX_TYPES[code]).itemsize
            count = 1
            for n in shape:  # Python ints: a header cannot overflow the product
                count *= n
            nbytes = count * itemsize
            if nbytes > MAX_DATA_BYTES:
                raise EqpropError(f"mnist: {_name(path)} declares shape {shape}, {_size(nbytes)} of "
                                  f"values, more than the {_size(MAX_DATA_BYTES)} limit; use a "
                                  "smaller file")
            raw = _read_exact(fh, nbytes, path, f"values (shape {shape})")
            extra = len(fh.read(1))
    except EqpropError:
        raise
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        why = getattr(exc, "strerror", None) or _why(exc)
        raise EqpropError(f"mnist: cannot read {_name(path)}: "
                          f"{'corrupt or truncated gzip data: ' if gz else ''}{why}") from None
    if extra:
        raise EqpropError(f"mnist: {_name(path)} has bytes after the {count} values its header "
                          f"declares (shape {shape}); the file is not a well-formed IDX file")
    return np.frombuffer(raw, dtype=_IDX_TYPES[code]).reshape(shape)


def _read_npz(path):
    """Images and labels of an ``.npz``: arrays x and y (or x_train and y_train).

    Each array's header is read before its values (shape, dtype: numbers only,
    no pickled objects; size within :data:`MAX_DATA_BYTES`).
    """
    if not _check_kind(path).startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise EqpropError(f"mnist: {_name(path)} is not an .npz (zip) file; {_FORMAT_HINT}")
    try:
        f = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise EqpropError(f"mnist: {_name(path)} is not a readable .npz file "
                          f"({_why(exc)}); {_FORMAT_HINT}") from None
    with f:
        keys = set(f.files)
        kx = "x" if "x" in keys else "x_train"
        ky = "y" if "y" in keys else "y_train"
        if kx not in keys or ky not in keys:
            shown = ", ".join(repr(k[:40]) for k in sorted(keys)[:10]) or "no arrays"
            raise EqpropError(f"mnist: {_name(path)} needs arrays x and y (or x_train and "
                              f"y_train); it has {shown}")
        names = f.zip.namelist()
        members = set(names)
        twice = sorted({m for m in names if names.count(m) > 1})
        if twice:  # zipfile reads the last of them: which one the user meant is unknown
            raise EqpropError(f"mnist: {_name(path)} holds {twice[0]!r} more than once; write it "
                              "again with numpy.savez(path, x=images, y=labels)")
        out = []
        for key in (kx, ky):
            member_name = key + ".npy" if key + ".npy" in members else key
            try:
                with f.zip.open(member_name) as member:
                    version = np.lib.format.read_magic(member)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                    else:
                        raise ValueError(f".npy format version {version[0]}.{version[1]}, used only "
                                         "for records with non-ASCII field names")
            except (OSError, EOFError, ValueError, SyntaxError, zipfile.BadZipFile, zlib.error,
                    RuntimeError) as exc:
                raise EqpropError(f"mnist: array {key!r} of {_name(path)} is not a readable array "
                                  f"({_why(exc)})") from None
            if dtype.hasobject or dtype.kind not in "biuf":
                raise EqpropError(f"mnist: array {key!r} of {_name(path)} has dtype {dtype}; it must "
                                  "hold numbers (integers or floats), not objects, strings or records")
            count = 1
            for n in shape:
                count *= int(n)
            if count * dtype.itemsize > MAX_DATA_BYTES:
                raise EqpropError(f"mnist: array {key!r} of {_name(path)} has shape {shape}, "
                                  f"{_size(count * dtype.itemsize)}, more than the "
                                  f"{_size(MAX_DATA_BYTES)} limit; use a smaller file")
            try:
                out.append(f[key])
            except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
                raise EqpropError(f"mnist: array {key!r} of {_name(path)} cannot be read "
                                  f"({_why(exc)}); the file is truncated or corrupt") from None
    return out


def _why(exc):
    """An exception's message on one short line."""
    text = " ".join(str(exc).split())
    return (text[:120] + "...") if len(text) > 120 else (text or type(exc).__name__)


def labels_path(images):
    """Where the labels of the IDX images file ``images`` (a Path) lie: the file beside it named
    with 'labels' for 'images' (train-images-idx3-ubyte -> train-labels-idx1-ubyte)."""
    name = images.name
    for a, b in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1"), ("images", "labels")):
        if a in name:
            return images.with_name(name.replace(a, b))
    raise EqpropError(f"mnist: cannot find the labels file next to {str(images)!r}; name the "
                      "images file like 'train-images-idx3-ubyte' with 'train-labels-idx1-ubyte' beside it")


def _check_labels(labels, n_out, source="data"):
    """Every label a class index of the output layer: whole, 0 <= label < n_out."""
    labels = np.asarray(labels).ravel()
    if not labels.size:
        return
    if labels.dtype.kind == "f" and (not np.all(np.isfinite(labels))
                                     or np.any(labels != np.round(labels))):
        raise EqpropError(f"{source}: labels must be whole numbers (class indices 0..{n_out - 1})")
    lo, hi = int(labels.min()), int(labels.max())  # Python ints: no wrap-around
    if lo < 0:
        raise EqpropError(f"{source}: labels range over {lo}..{hi}; class indices cannot be negative")
    if hi >= n_out:
        distinct = np.unique(labels).size
        if hi >= max(MAX_CLASSES, n_out):  # not a number of output units anyone means
            raise EqpropError(f"{source}: labels range over {lo}..{hi}, not class indices "
                              f"(there are {distinct} distinct labels; class indices run from 0 "
                              f"to the number of classes - 1, at most {MAX_CLASSES:,}); "
                              "renumber the labels 0, 1, 2, ...")
        raise EqpropError(f"{source}: labels range over {lo}..{hi} but the output layer has {n_out} "
                          f"units; set the first layer size to {hi + 1}")


def _one_hot(labels, n_out, source="data"):
    _check_labels(labels, n_out, source)
    labels = np.asarray(labels).ravel().astype(np.int64)
    y = np.zeros((labels.size, n_out))
    y[np.arange(labels.size), labels] = 1.0
    return y


def _check_arrays(images, labels, source, labels_source):
    """Shapes and values of a data set read from a file: one row per example, one label each."""
    if images.dtype.kind not in "biuf":
        raise EqpropError(f"mnist: {source} holds {images.dtype} values; images must be numbers")
    if images.ndim < 2:
        raise EqpropError(f"mnist: the images of {source} have shape {images.shape}; they need one "
                          "row (or image) per example, e.g. shape (60000, 28, 28)")
    if len(images) == 0:
        raise EqpropError(f"mnist: {source} holds no examples (shape {images.shape})")
    if images[0].size == 0:
        raise EqpropError(f"mnist: the images of {source} are empty (shape {images.shape})")
    if labels.dtype.kind not in "biuf":
        raise EqpropError(f"mnist: {labels_source} holds {labels.dtype} labels; labels must be "
                          "class indices")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise EqpropError(f"mnist: the labels of {labels_source} have shape {labels.shape}; give one "
                          "class index per example (shape (n,))")
    if len(labels) != len(images):
        where = "" if labels_source == source else f" in {source}"
        raise EqpropError(f"mnist: {labels_source} has {len(labels)} labels for {len(images)} images"
                          f"{where}; give one label per image")
    if images.dtype.kind == "f" and not np.all(np.isfinite(images)):
        raise EqpropError(f"mnist: the images of {source} contain NaN or infinite values")
    return labels


def _check_kind(path):
    """Refuse, by its first bytes, a file whose name hides what it is: a single array saved by
    numpy.save (an .npy), or an .npz under another name (both were sought an IDX labels file).
    Returns the first bytes."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise EqpropError(f"mnist: cannot read {_name(path)} ({exc.strerror or exc})") from None
    if magic.startswith(b"\x93NUMPY"):
        raise EqpropError(f"mnist: {_name(path)} holds a single array (an .npy file), not the arrays "
                          "x and y of an .npz; write it with numpy.savez(path, x=images, y=labels)")
    if magic.startswith((b"PK\x03\x04", b"PK\x05\x06")) and path.suffix != ".npz":
        raise EqpropError(f"mnist: {_name(path)} is a zip file, not an IDX file; an .npz of arrays x "
                          "and y is read when its name ends in .npz")
    return magic


def _check_pixels(images, source):
    """Pixels in [-1, 1] (taken as they are) or 0..255 (scaled to [0, 1]); anything else, such as
    standardized images (-0.4..2.8) or values of 1e6, was divided by 255 or taken as it was,
    silently."""
    lo, hi = float(images.min()), float(images.max())
    if not (-1 <= lo and hi <= 1) and not (0 <= lo and hi <= 255):
        raise EqpropError(f"mnist: the pixel values of {source} range over {lo:.4g}..{hi:.4g}; give "
                          "pixels in [0, 1] or [-1, 1] (used as they are) or 0..255 (scaled to "
                          "[0, 1]), e.g. undo a standardization before saving")


def load(spec, *, n_in, n_out, batch, seed=0):
    """``(x, y)`` of shapes ``(batch, n_in)`` and ``(batch, n_out)`` from a data spec.

    ``random`` (uniform inputs in [0, 1), random one-hot targets),
    ``digits`` (scikit-learn's 8x8 digits, pixels scaled to [0, 1]), or
    ``mnist:PATH`` (an IDX images file with its labels file beside it, or an
    ``.npz`` with arrays ``x``/``y`` or ``x_train``/``y_train``). Pixels in
    [-1, 1] are taken as they are, pixels in 0..255 scaled to [0, 1]; any other range is refused.
    """
    if not isinstance(spec, str):
        raise EqpropError(f"data: expected random, digits or mnist:PATH, got {spec!r}")
    rng = np.random.default_rng(seed)
    if batch < 1:
        raise EqpropError(f"batch: must be at least 1, got {batch}")
    source = "data"
    if spec == "random":
        x = rng.random((batch, n_in))
        y = _one_hot(rng.integers(0, n_out, batch), n_out)
        return x, y
    if spec == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise EqpropError("data 'digits' needs scikit-learn: pip install 'eqprop[data]'") from None
        d = load_digits()
        images, labels = d.data / 16.0, d.target
        source = labels_source = "data 'digits'"
        _check_labels(labels, n_out, source)  # the whole set: a batch's range misleads (5..7 of 0..9)
    elif spec.startswith("mnist:"):
        text = spec[len("mnist:"):]
        if not text.strip():
            raise EqpropError("mnist: give a file after 'mnist:', such as "
                              "mnist:train-images-idx3-ubyte or mnist:mnist.npz")
        path = Path(text)
        _check_readable(path)
        if path.suffix == ".npz":
            images, labels = _read_npz(path)
            source = labels_source = _name(path)
        else:
            _check_kind(path)
            labels_file = labels_path(path)
            if not labels_file.exists():
                raise EqpropError(f"mnist: no labels file {_name(labels_file)} beside the images "
                                  f"{_name(path)}; put MNIST's labels file there under that name")
            images, labels = read_idx(path), read_idx(labels_file)
            source, labels_source = _name(path), _name(labels_file)
        labels = _check_arrays(images, labels, source, labels_source)
        _check_labels(labels, n_out, f"mnist: {labels_source}")
        images = images.reshape(len(images), -1)
        _check_pixels(images, source)
        source = f"data {source}"
    else:
        raise EqpropError(f"data: unknown {spec!r}; use random, digits or mnist:PATH")
    if images.shape[1] != n_in:
        raise EqpropError(f"{source} has {images.shape[1]} input values per example but the input "
                          f"layer has {n_in} units; set the last layer size to {images.shape[1]}")
    if len(images) < batch:
        raise EqpropError(f"{source} has {len(images)} example{'s' if len(images) != 1 else ''}, "
                          f"fewer than batch = {batch}; "
                          f"use --batch {len(images)} or less")
    scaled = images.max() > 1  # 0..255 pixels: decided on the whole set, not the batch
    pick = rng.choice(len(images), size=batch, replace=False)
    x = images[pick].astype(float)
    if scaled:
        x = x / 255.0
    return x, _one_hot(np.asarray(labels)[pick], n_out, f"{source}")
