import numpy as np
import pytest

from keras_contrastive.evaluation import linear_probe_accuracy


def test_learns_linearly_separable_classes_and_not_noise():
    rng = np.random.default_rng()
    directions = rng.normal(size=(3, 20))
    labels = rng.integers(0, 3, 900)
    features = directions[labels] * 3 + rng.normal(size=(900, 20))
    separable = linear_probe_accuracy(features[:600], labels[:600], features[600:], labels[600:], epochs=60)
    noise = rng.normal(size=(900, 20))
    chance = linear_probe_accuracy(noise[:600], labels[:600], noise[600:], labels[600:], epochs=60)
    assert separable > 0.95
    assert chance < 0.5


def test_mismatched_counts_are_refused():
    with pytest.raises(ValueError, match="5 training features and 4 labels"):
        linear_probe_accuracy(np.ones((5, 2)), np.zeros(4), np.ones((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="differ in width"):
        linear_probe_accuracy(np.ones((5, 2)), np.zeros(5), np.ones((3, 4)), np.zeros(3))
