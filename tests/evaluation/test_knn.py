import numpy as np
import pytest

from keras_contrastive.evaluation import knn_accuracy
from tests.fashion_mnist import fashion_mnist


def reference_knn(train, train_labels, test, test_labels, k, temperature):
    """Weighted cosine kNN in float64, one query at a time."""
    train = train / np.linalg.norm(train, axis=1, keepdims=True)
    test = test / np.linalg.norm(test, axis=1, keepdims=True)
    classes = max(train_labels.max(), test_labels.max()) + 1
    correct = 0
    for query, label in zip(test, test_labels):
        similarity = train @ query
        nearest = np.argsort(-similarity, kind="stable")[:k]
        weights = np.ones(k) if temperature is None else np.exp(similarity[nearest] / temperature)
        scores = np.bincount(train_labels[nearest], weights=weights, minlength=classes)
        correct += int(np.argmax(scores) == label)
    return correct / len(test)


@pytest.mark.parametrize("k, temperature", [(1, 0.1), (5, 0.1), (20, 0.5), (7, None)])
def test_matches_reference_on_random_clustered_data(rng, k, temperature):
    centres = rng.normal(size=(4, 16))
    train_labels = rng.integers(0, 4, 300)
    test_labels = rng.integers(0, 4, 90)
    train = centres[train_labels] + rng.normal(scale=1.2, size=(300, 16))
    test = centres[test_labels] + rng.normal(scale=1.2, size=(90, 16))
    expected = reference_knn(train, train_labels, test, test_labels, k, temperature)
    got = knn_accuracy(train, train_labels, test, test_labels, k=k, temperature=temperature, batch_size=32)
    assert got == pytest.approx(expected, abs=1.5 / 90)  # at most one float32 tie may differ
    assert 0.3 < got  # the clusters are learnable: the test is not vacuous


def test_raw_fashion_mnist_pixels_give_the_known_figure():
    train_images, train_labels = fashion_mnist("train")
    test_images, test_labels = fashion_mnist("test")
    accuracy = knn_accuracy(
        train_images.reshape(len(train_images), -1) / 255.0, train_labels,
        test_images.reshape(len(test_images), -1) / 255.0, test_labels,
        k=200, temperature=0.1,
    )
    assert accuracy == pytest.approx(0.789, abs=0.005)


def test_mismatched_counts_and_k_too_large_are_refused():
    x = np.ones((10, 3))
    with pytest.raises(ValueError, match="10 training embeddings and 9 labels"):
        knn_accuracy(x, np.zeros(9), x, np.zeros(10))
    with pytest.raises(ValueError, match="k must be between 1 and the 10 training embeddings"):
        knn_accuracy(x, np.zeros(10), x, np.zeros(10), k=11)
    with pytest.raises(ValueError, match="same D"):
        knn_accuracy(x, np.zeros(10), np.ones((10, 4)), np.zeros(10), k=3)


def test_test_label_count_and_non_positive_temperature_are_refused():
    x = np.ones((10, 3))
    with pytest.raises(ValueError, match="10 test embeddings and 8 labels"):
        knn_accuracy(x, np.zeros(10), x, np.zeros(8), k=3)
    for temperature in (0, -0.1, float("inf"), float("nan"), "0.1", True):
        with pytest.raises(ValueError, match="temperature must be a positive number"):
            knn_accuracy(x, np.zeros(10), x, np.zeros(10), k=3, temperature=temperature)
