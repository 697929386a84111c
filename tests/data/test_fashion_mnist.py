from pathlib import Path

import numpy as np
import pytest

from keras_contrastive.data import fashion_mnist


def test_local_dir_prefers_data_dir_then_env_then_default(monkeypatch):
    monkeypatch.setenv(fashion_mnist.ENV_VAR, "/from/env")
    assert fashion_mnist.local_dir("/explicit") == Path("/explicit")
    assert fashion_mnist.local_dir() == Path("/from/env")
    monkeypatch.setenv(fashion_mnist.ENV_VAR, "")
    assert fashion_mnist.local_dir() == Path("/usr/share/datasets/fashion-mnist")
    monkeypatch.delenv(fashion_mnist.ENV_VAR)
    assert fashion_mnist.local_dir() == Path("/usr/share/datasets/fashion-mnist")


def test_split_paths_finds_plain_and_gzipped_files(fashion_dir):
    directory, _ = fashion_dir
    assert fashion_mnist.split_paths(directory, "train") == (
        directory / "train-images-idx3-ubyte",
        directory / "train-labels-idx1-ubyte",
    )
    assert fashion_mnist.split_paths(directory, "test") == (
        directory / "t10k-images-idx3-ubyte.gz",
        directory / "t10k-labels-idx1-ubyte.gz",
    )


def test_split_paths_prefers_the_plain_file(fashion_dir):
    directory, _ = fashion_dir
    (directory / "train-images-idx3-ubyte.gz").write_bytes(b"")
    images_path, _ = fashion_mnist.split_paths(directory, "train")
    assert images_path == directory / "train-images-idx3-ubyte"


def test_split_paths_names_only_the_missing_files(fashion_dir):
    directory, _ = fashion_dir
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as info:
        fashion_mnist.split_paths(directory, "test")
    message = str(info.value)
    assert str(directory / "t10k-labels-idx1-ubyte") in message
    assert str(directory / "t10k-labels-idx1-ubyte.gz") in message
    assert "t10k-images" not in message


@pytest.mark.parametrize("split", ["train", "test"])
def test_read_split_round_trips_values(fashion_dir, split):
    directory, arrays = fashion_dir
    expected_images, expected_labels = arrays[split]

    images, labels = fashion_mnist.read_split(directory, split)

    assert images.dtype == np.uint8 and labels.dtype == np.int64
    np.testing.assert_array_equal(images, expected_images[..., np.newaxis])
    np.testing.assert_array_equal(labels, expected_labels)


def test_read_split_rejects_mismatched_counts(fashion_dir, write_idx):
    directory, _ = fashion_dir
    labels_path = write_idx(
        directory / "train-labels-idx1-ubyte", np.zeros(4, np.uint8)
    )
    with pytest.raises(ValueError, match="5 images") as info:
        fashion_mnist.read_split(directory, "train")
    assert str(labels_path) in str(info.value)


def test_read_split_rejects_wrong_image_size(fashion_dir, write_idx):
    directory, _ = fashion_dir
    images_path = write_idx(
        directory / "train-images-idx3-ubyte", np.zeros((5, 28, 27), np.uint8)
    )
    with pytest.raises(ValueError, match="28, 27") as info:
        fashion_mnist.read_split(directory, "train")
    assert str(images_path) in str(info.value)


def test_read_split_rejects_out_of_range_labels(fashion_dir, write_idx):
    directory, _ = fashion_dir
    labels_path = write_idx(
        directory / "train-labels-idx1-ubyte", np.array([0, 1, 10, 2, 3])
    )
    with pytest.raises(ValueError, match="label 10") as info:
        fashion_mnist.read_split(directory, "train")
    assert str(labels_path) in str(info.value)
