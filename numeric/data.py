"""Data for the realistic-size checks: random, scikit-learn's digits, local MNIST files.

Nothing is downloaded: ``digits`` is the 8x8 digits set that scikit-learn
ships inside its package (optional extra ``eqprop[data]``); ``mnist:PATH``
reads IDX or ``.npz`` files the user already has.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from eqprop.errors import EqpropError

__all__ = ["load", "read_idx"]


def read_idx(path):
    """Read an IDX file (MNIST's format; gzip allowed) into a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise EqpropError(f"mnist: cannot read {str(path)!r} ({exc.strerror or exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise EqpropError(f"mnist: {str(path)!r} is not an IDX file (bad magic number)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    code, ndim = raw[2], raw[3]
    if code not in dtypes:
        raise EqpropError(f"mnist: {str(path)!r} has an unknown IDX data type 0x{code:02x}")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=dtypes[code], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise EqpropError(f"mnist: {str(path)!r} is truncated: {data.size} values for shape {shape}")
    return data.reshape(shape)


def _labels_path(images):
    name = images.name
    for a, b in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1"), ("images", "labels")):
        if a in name:
            return images.with_name(name.replace(a, b))
    raise EqpropError(f"mnist: cannot find the labels file next to {str(images)!r}; name the "
                      "images file like 'train-images-idx3-ubyte' with 'train-labels-idx1-ubyte' beside it")


def _one_hot(labels, n_out):
    labels = np.asarray(labels).astype(int).ravel()
    if labels.min() < 0 or labels.max() >= n_out:
        raise EqpropError(f"labels range over {labels.min()}..{labels.max()} but the output layer "
                          f"has {n_out} units")
    y = np.zeros((labels.size, n_out))
    y[np.arange(labels.size), labels] = 1.0
    return y


def load(spec, *, n_in, n_out, batch, seed=0):
    """``(x, y)`` of shapes ``(batch, n_in)`` and ``(batch, n_out)`` from a data spec.

    ``random`` (uniform inputs in [0, 1), random one-hot targets),
    ``digits`` (scikit-learn's 8x8 digits, pixels scaled to [0, 1]), or
    ``mnist:PATH`` (an IDX images file with its labels file beside it, or an
    ``.npz`` with arrays ``x``/``y`` or ``x_train``/``y_train``).
    """
    rng = np.random.default_rng(seed)
    if batch < 1:
        raise EqpropError(f"batch: must be at least 1, got {batch}")
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
    elif spec.startswith("mnist:"):
        path = Path(spec[len("mnist:"):])
        if not path.is_file():
            raise EqpropError(f"mnist: no such file {str(path)!r}; give the path of an IDX images "
                              "file or an .npz you already have (nothing is downloaded)")
        if path.suffix == ".npz":
            with np.load(path) as f:
                keys = set(f.files)
                kx = "x" if "x" in keys else "x_train"
                ky = "y" if "y" in keys else "y_train"
                if kx not in keys or ky not in keys:
                    raise EqpropError(f"mnist: {str(path)!r} needs arrays x and y (or x_train and "
                                      f"y_train); it has {sorted(keys)}")
                images, labels = f[kx], f[ky]
        else:
            images, labels = read_idx(path), read_idx(_labels_path(path))
        images = images.reshape(len(images), -1).astype(float)
        if images.max() > 1:
            images = images / 255.0
    else:
        raise EqpropError(f"data: unknown {spec!r}; use random, digits or mnist:PATH")
    if images.shape[1] != n_in:
        raise EqpropError(f"data has {images.shape[1]} input values per example but the input "
                          f"layer has {n_in} units; set the last layer size to {images.shape[1]}")
    if len(images) < batch:
        raise EqpropError(f"data has {len(images)} examples, fewer than batch = {batch}")
    pick = rng.choice(len(images), size=batch, replace=False)
    return images[pick], _one_hot(np.asarray(labels)[pick], n_out)
