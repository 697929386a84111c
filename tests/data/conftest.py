"""Fixtures shared by the data tests: hand-made IDX files."""

import gzip
import struct

import numpy as np
import pytest


def _idx_bytes(array: np.ndarray) -> bytes:
    """Encodes a uint8 array as IDX: magic 0x000008NN, big-endian sizes."""
    header = bytes([0, 0, 0x08, array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def write_idx():
    """Returns `write(path, array, compress=False)` writing an IDX file."""

    def write(path, array, compress=False):
        content = _idx_bytes(np.asarray(array))
        path.write_bytes(gzip.compress(content) if compress else content)
        return path

    return write


@pytest.fixture
def fashion_dir(tmp_path, write_idx):
    """A directory with small Fashion-MNIST IDX files, train plain, test gz.

    Returns `(directory, {"train": (images, labels), "test": ...})` with
    images `[N, 28, 28]` as written.
    """
    rng = np.random.default_rng(1234)
    arrays = {}
    for split, prefix, count, compress in [
        ("train", "train", 5, False),
        ("test", "t10k", 3, True),
    ]:
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        suffix = ".gz" if compress else ""
        write_idx(
            tmp_path / f"{prefix}-images-idx3-ubyte{suffix}", images, compress
        )
        write_idx(
            tmp_path / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress
        )
        arrays[split] = (images, labels)
    return tmp_path, arrays
