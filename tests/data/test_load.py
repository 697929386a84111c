import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_contrastive.data.catalog import DATASETS
from keras_contrastive.data.fashion_mnist import ENV_VAR
from keras_contrastive.data.load import load
from keras_contrastive.data.load import load_numpy

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]
# Skipped on a developer's machine without the files; under CI the tests run and fail.
needs_debian_files = pytest.mark.skipif(
    not all((DEBIAN_DIR / name).is_file() for name in DEBIAN_FILES) and not os.environ.get("CI"),
    reason=f"Fashion-MNIST idx files not in {DEBIAN_DIR} "
    "(apt install dataset-fashion-mnist)",
)
MOCK_EXAMPLES = 6


def spec(info):
    return (
        tf.TensorSpec(info.image_shape, tf.uint8),
        tf.TensorSpec((), tf.int64),
    )


@pytest.fixture
def no_local_fashion_mnist(tmp_path, monkeypatch):
    """Points the environment variable at an empty directory."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(ENV_VAR, str(empty))
    return empty


@pytest.fixture
def tfds_calls(monkeypatch):
    """Records the arguments of each `tfds.load` call, then delegates."""
    calls = []
    real_load = tfds.load

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(tfds, "load", spy)
    return calls


# Fashion-MNIST from the Debian package.


@pytest.fixture(scope="module")
def debian_fashion_mnist():
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv(ENV_VAR, raising=False)
        return {
            split: load_numpy("fashion_mnist", split)
            for split in ("train", "test")
        }


@pytest.fixture(scope="module")
def keras_fashion_mnist(tmp_path_factory):
    """Keras's own reader, run on the Debian files in a fresh process."""
    keras_home = tmp_path_factory.mktemp("keras_home")
    cache = keras_home / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for name in DEBIAN_FILES:
        (cache / name).symlink_to(DEBIAN_DIR / name)
    output = keras_home / "arrays.npz"
    code = (
        "import sys, numpy as np\n"
        "from keras.datasets import fashion_mnist\n"
        "(a, b), (c, d) = fashion_mnist.load_data()\n"
        "np.savez(sys.argv[1], train_x=a, train_y=b, test_x=c, test_y=d)\n"
    )
    env = {
        **os.environ,
        "KERAS_HOME": str(keras_home),
        "KERAS_BACKEND": "tensorflow",
    }
    subprocess.run(
        [sys.executable, "-c", code, str(output)],
        env=env, check=True, capture_output=True, timeout=120,
    )
    with np.load(output) as arrays:
        return {
            split: (arrays[f"{split}_x"], arrays[f"{split}_y"])
            for split in ("train", "test")
        }


@needs_debian_files
def test_debian_fashion_mnist_shapes_dtypes_and_labels(debian_fashion_mnist):
    for split, count in [("train", 60000), ("test", 10000)]:
        images, labels = debian_fashion_mnist[split]
        assert images.shape == (count, 28, 28, 1)
        assert images.dtype == np.uint8
        assert labels.shape == (count,)
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(np.unique(labels), np.arange(10))


@needs_debian_files
def test_debian_fashion_mnist_matches_keras_reader(
    debian_fashion_mnist, keras_fashion_mnist
):
    for split in ("train", "test"):
        images, labels = debian_fashion_mnist[split]
        keras_images, keras_labels = keras_fashion_mnist[split]
        np.testing.assert_array_equal(images[..., 0], keras_images)
        np.testing.assert_array_equal(labels, keras_labels)


@needs_debian_files
def test_debian_fashion_mnist_matches_a_plain_gzip_read(debian_fashion_mnist):
    with gzip.open(DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz") as file:
        labels = np.frombuffer(file.read(), np.uint8, offset=8)
    with gzip.open(DEBIAN_DIR / "t10k-images-idx3-ubyte.gz") as file:
        images = np.frombuffer(file.read(), np.uint8, offset=16)
    np.testing.assert_array_equal(debian_fashion_mnist["test"][1], labels)
    np.testing.assert_array_equal(
        debian_fashion_mnist["test"][0].reshape(-1), images
    )


@needs_debian_files
def test_debian_fashion_mnist_slice_and_dataset(debian_fashion_mnist, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    full_images, full_labels = debian_fashion_mnist["test"]

    images, labels = load_numpy("fashion_mnist", "test[:100]")
    np.testing.assert_array_equal(images, full_images[:100])
    np.testing.assert_array_equal(labels, full_labels[:100])

    dataset = load("fashion_mnist", "test")
    assert dataset.element_spec == spec(DATASETS["fashion_mnist"])
    image, label = next(iter(dataset.skip(9999)))
    np.testing.assert_array_equal(image, full_images[9999])
    assert label == full_labels[9999]


# Fashion-MNIST from an explicit data_dir of hand-made idx files.


@pytest.mark.parametrize("split", ["train", "test"])
def test_data_dir_round_trips_exactly(fashion_dir, split):
    directory, arrays = fashion_dir
    expected_images, expected_labels = arrays[split]

    images, labels = load_numpy("fashion_mnist", split, data_dir=str(directory))
    np.testing.assert_array_equal(images, expected_images[..., np.newaxis])
    np.testing.assert_array_equal(labels, expected_labels)
    assert images.dtype == np.uint8 and labels.dtype == np.int64

    dataset = load("fashion_mnist", split, data_dir=str(directory))
    assert dataset.element_spec == spec(DATASETS["fashion_mnist"])
    dataset_images, dataset_labels = zip(*dataset.as_numpy_iterator())
    np.testing.assert_array_equal(np.stack(dataset_images), images)
    np.testing.assert_array_equal(np.array(dataset_labels), labels)


def test_data_dir_slice(fashion_dir):
    directory, arrays = fashion_dir
    images, labels = load_numpy("fashion_mnist", "train[:2]", data_dir=directory)
    np.testing.assert_array_equal(images[..., 0], arrays["train"][0][:2])
    np.testing.assert_array_equal(labels, arrays["train"][1][:2])


def test_data_dir_takes_precedence_over_env(fashion_dir, no_local_fashion_mnist):
    directory, arrays = fashion_dir
    _, labels = load_numpy("fashion_mnist", "test", data_dir=str(directory))
    np.testing.assert_array_equal(labels, arrays["test"][1])


def test_data_dir_without_files_raises_without_tfds_fallback(
    tmp_path, monkeypatch
):
    def fail(*args, **kwargs):
        raise AssertionError("TFDS must not be tried for an explicit data_dir")

    monkeypatch.setattr(tfds, "load", fail)
    with pytest.raises(FileNotFoundError) as info:
        load_numpy("fashion_mnist", "train", data_dir=str(tmp_path))
    message = str(info.value)
    assert str(tmp_path / "train-images-idx3-ubyte") in message
    assert str(tmp_path / "train-labels-idx1-ubyte.gz") in message
    with pytest.raises(FileNotFoundError):
        load("fashion_mnist", "test", data_dir=str(tmp_path))


def test_data_dir_with_corrupt_magic_raises(fashion_dir):
    directory, _ = fashion_dir
    path = directory / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03" + path.read_bytes()[4:])
    with pytest.raises(ValueError, match="magic") as info:
        load_numpy("fashion_mnist", "train", data_dir=str(directory))
    assert str(path) in str(info.value)


# TFDS-backed datasets, and the Fashion-MNIST fallback, on mock data.


@pytest.fixture
def mock_tfds():
    with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
        yield


@pytest.mark.usefixtures("mock_tfds")
@pytest.mark.parametrize("name", ["mnist", "cifar10", "cifar100"])
def test_tfds_datasets(name, tfds_calls):
    info = DATASETS[name]

    dataset = load(name, "test")
    assert dataset.element_spec == spec(info)
    images_only = load(name, "test", with_labels=False)
    assert images_only.element_spec == tf.TensorSpec(info.image_shape, tf.uint8)

    images, labels = load_numpy(name, "train")
    assert images.shape == (MOCK_EXAMPLES, *info.image_shape)
    assert images.dtype == np.uint8
    assert labels.shape == (MOCK_EXAMPLES,) and labels.dtype == np.int64
    assert ((labels >= 0) & (labels < info.num_classes)).all()
    assert [call[0][0] for call in tfds_calls] == [name] * 3


@pytest.mark.usefixtures("mock_tfds")
def test_tfds_split_and_data_dir_pass_through(tfds_calls, tmp_path):
    load("mnist", "train[:10%]+test", data_dir=str(tmp_path), shuffle_files=True)
    _, kwargs = tfds_calls[0]
    assert kwargs["split"] == "train[:10%]+test"
    assert kwargs["data_dir"] == str(tmp_path)
    assert kwargs["shuffle_files"] is True


@pytest.mark.usefixtures("mock_tfds", "no_local_fashion_mnist")
def test_fashion_mnist_falls_back_to_tfds(tfds_calls):
    dataset = load("fashion_mnist", "train[:3]")
    assert dataset.element_spec == spec(DATASETS["fashion_mnist"])
    images, labels = load_numpy("fashion_mnist", "test")
    assert images.shape == (MOCK_EXAMPLES, 28, 28, 1)
    assert images.dtype == np.uint8 and labels.dtype == np.int64
    assert [call[1]["split"] for call in tfds_calls] == ["train[:3]", "test"]


def test_fashion_mnist_fallback_failure_says_what_was_tried(
    no_local_fashion_mnist, monkeypatch
):
    offline = ConnectionError("Failed to resolve 'fashion-mnist.s3...'")

    def fail(*args, **kwargs):
        raise offline

    monkeypatch.setattr(tfds, "load", fail)
    with pytest.raises(RuntimeError) as info:
        load_numpy("fashion_mnist", "train")
    message = str(info.value)
    assert str(no_local_fashion_mnist / "train-images-idx3-ubyte") in message
    assert "TensorFlow Datasets" in message
    assert "Failed to resolve" in message
    assert info.value.__cause__ is offline


# digits.


def test_digits():
    images, labels = load_numpy("digits", "train")
    test_images, test_labels = load_numpy("digits", "test")
    assert images.shape[1:] == (8, 8, 1) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and images.max() == 255
    assert len(images) + len(test_images) == 1797

    dataset = load("digits", "test")
    assert dataset.element_spec == spec(DATASETS["digits"])
    dataset_images, dataset_labels = zip(*dataset.as_numpy_iterator())
    np.testing.assert_array_equal(np.stack(dataset_images), test_images)
    np.testing.assert_array_equal(np.array(dataset_labels), test_labels)

    first = np.stack(list(load("digits", "train[:10]", with_labels=False)))
    np.testing.assert_array_equal(first, images[:10])


# Errors.


@pytest.mark.parametrize("function", [load, load_numpy])
def test_unknown_name_lists_known_names(function):
    with pytest.raises(ValueError, match="'imagenet'") as info:
        function("imagenet")
    for name in DATASETS:
        assert name in str(info.value)


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("function", [load, load_numpy])
def test_unknown_split_names_valid_splits_without_touching_tfds(
    name, function, monkeypatch
):
    def fail(*args, **kwargs):
        raise AssertionError("TFDS must not be tried for a bad split")

    monkeypatch.setattr(tfds, "load", fail)
    with pytest.raises(ValueError, match="'validation'") as info:
        function(name, "validation")
    assert "train, test" in str(info.value)


@pytest.mark.parametrize("name", ["digits", "fashion_mnist"])
def test_local_datasets_reject_percent_slices(name):
    with pytest.raises(ValueError, match=r"train\[:1000\]"):
        load_numpy(name, "train[:10%]")
