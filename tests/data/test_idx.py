import gzip

import numpy as np
import pytest

from keras_contrastive.data.idx import read_idx


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("shape", [(7,), (4, 3, 5)])
def test_round_trips_values_exactly(tmp_path, write_idx, compress, shape):
    array = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    path = write_idx(tmp_path / "data.idx", array, compress)

    result = read_idx(path, ndim=len(shape))

    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, array)
    result[0] = 1  # The result owns its memory.


def test_reads_empty_array(tmp_path, write_idx):
    path = write_idx(tmp_path / "empty", np.zeros((0, 2, 2), np.uint8))
    assert read_idx(path, ndim=3).shape == (0, 2, 2)


def test_detects_gzip_from_content_not_name(tmp_path, write_idx):
    array = np.arange(10, dtype=np.uint8)
    path = write_idx(tmp_path / "no-suffix", array, compress=True)
    np.testing.assert_array_equal(read_idx(path, ndim=1), array)


@pytest.mark.parametrize(
    "header",
    [
        bytes([0, 0, 0x0D, 1]),  # Float data.
        bytes([1, 0, 0x08, 1]),  # Non-zero leading byte.
        bytes([0, 0, 0x08, 3]),  # Three dimensions where one is expected.
        b"\x89PNG",
    ],
)
def test_rejects_bad_magic_naming_the_file(tmp_path, header):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(header + (2).to_bytes(4, "big") + bytes(2))
    with pytest.raises(ValueError, match="magic") as info:
        read_idx(path, ndim=1)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("extra", [-1, 1])
def test_rejects_wrong_size_naming_the_file(tmp_path, write_idx, extra):
    path = write_idx(tmp_path / "images", np.ones((2, 3, 3), np.uint8))
    content = path.read_bytes()
    path.write_bytes(content[:-1] if extra < 0 else content + b"\x00")
    with pytest.raises(ValueError, match="wrong size") as info:
        read_idx(path, ndim=3)
    assert str(path) in str(info.value)


def test_rejects_file_shorter_than_header(tmp_path):
    path = tmp_path / "images"
    path.write_bytes(bytes([0, 0, 0x08, 3, 0, 0]))
    with pytest.raises(ValueError, match="truncated") as info:
        read_idx(path, ndim=3)
    assert str(path) in str(info.value)


def test_rejects_corrupt_gzip_naming_the_file(tmp_path, write_idx):
    path = write_idx(tmp_path / "x.gz", np.ones(100, np.uint8), compress=True)
    path.write_bytes(path.read_bytes()[:15])
    with pytest.raises(ValueError, match="gzip") as info:
        read_idx(path, ndim=1)
    assert str(path) in str(info.value)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent", ndim=1)


def test_helper_writes_the_standard_mnist_header(tmp_path, write_idx):
    # Guards the test helper itself: MNIST label files start with 2049.
    path = write_idx(tmp_path / "l.gz", np.zeros(3, np.uint8), compress=True)
    assert gzip.decompress(path.read_bytes())[:4] == (2049).to_bytes(4, "big")
