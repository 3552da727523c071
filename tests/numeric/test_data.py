"""Data for the realistic-size checks: local MNIST files, refused in one line when malformed."""

import numpy as np
import pytest

from eqprop import EqpropError
from eqprop.numeric.data import load, read_idx


def test_unknown_and_missing_data_are_refused():
    with pytest.raises(EqpropError, match="no such file"):
        load("mnist:/nonexistent/train-images-idx3-ubyte", n_in=784, n_out=10, batch=2)
    with pytest.raises(EqpropError, match="unknown"):
        load("cifar", n_in=3, n_out=2, batch=2)


def _write_idx(path, array):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.tobytes())


def test_mnist_idx_files_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, size=(20, 4, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, size=20, dtype=np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    assert np.array_equal(read_idx(tmp_path / "t10k-images-idx3-ubyte"), images)
    x, y = load(f"mnist:{tmp_path / 't10k-images-idx3-ubyte'}", n_in=16, n_out=10, batch=5)
    assert x.shape == (5, 16) and y.shape == (5, 10)
    assert x.max() <= 1 and np.all(y.sum(axis=1) == 1)
    # every row is one of the images, with its own label
    flat = images.reshape(20, 16) / 255.0
    for xi, yi in zip(x, y):
        k = int(np.argmin(np.abs(flat - xi).sum(axis=1)))
        assert np.allclose(flat[k], xi) and labels[k] == int(np.argmax(yi))
    with pytest.raises(EqpropError, match="input layer has 784"):
        load(f"mnist:{tmp_path / 't10k-images-idx3-ubyte'}", n_in=784, n_out=10, batch=5)
    (tmp_path / "bad-images-idx3-ubyte").write_bytes(b"\x01\x02\x03")
    with pytest.raises(EqpropError, match="not an IDX"):
        read_idx(tmp_path / "bad-images-idx3-ubyte")
