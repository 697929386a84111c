import numpy as np
import pytest
from sklearn.datasets import load_digits

from keras_contrastive.data.digits import load_digits_split


@pytest.fixture(scope="module")
def splits():
    return {split: load_digits_split(split) for split in ("train", "test")}


@pytest.fixture(scope="module")
def raw():
    digits = load_digits()
    # Independent of the code under test: round half up on x * 255 / 16.
    images = np.floor(digits.images * 255 / 16 + 0.5).astype(np.uint8)
    return images, digits.target


def test_shapes_and_dtypes(splits):
    for images, labels in splits.values():
        assert images.shape[1:] == (8, 8, 1)
        assert images.dtype == np.uint8 and labels.dtype == np.int64
        assert len(images) == len(labels)
    assert len(splits["train"][0]) + len(splits["test"][0]) == 1797
    assert abs(len(splits["test"][0]) - 0.2 * 1797) <= 10


def test_pixels_are_scaled_to_the_full_byte_range(splits):
    images = np.concatenate([splits["train"][0], splits["test"][0]])
    assert images.min() == 0 and images.max() == 255


def test_splits_partition_the_raw_data(splits, raw):
    raw_images, raw_labels = raw

    def rows(images, labels):
        return np.column_stack([images.reshape(len(images), -1), labels])

    expected = np.unique(rows(raw_images, raw_labels), axis=0)
    train, test = rows(*splits["train"]), rows(*splits["test"])
    combined = np.unique(np.concatenate([train, test]), axis=0)

    # Every raw (image, label) pair appears once, in exactly one split.
    assert len(expected) == 1797
    assert len(combined) == len(train) + len(test)
    np.testing.assert_array_equal(combined, expected)


def test_split_is_stratified(splits, raw):
    class_counts = np.bincount(raw[1], minlength=10)
    test_counts = np.bincount(splits["test"][1], minlength=10)
    train_counts = np.bincount(splits["train"][1], minlength=10)
    assert (test_counts > 0).all() and (train_counts > 0).all()
    np.testing.assert_allclose(test_counts, 0.2 * class_counts, atol=1)


def test_split_is_deterministic_and_ignores_global_rng(splits):
    for seed, split in [(1, "train"), (2, "train"), (3, "test")]:
        np.random.seed(seed)
        images, labels = load_digits_split(split)
        np.testing.assert_array_equal(images, splits[split][0])
        np.testing.assert_array_equal(labels, splits[split][1])
