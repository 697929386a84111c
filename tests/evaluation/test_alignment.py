import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.evaluation import alignment


def test_hand_made_pairs():
    # Unit vectors: pair 1 identical (distance 0), pair 2 orthogonal (sqrt 2),
    # pair 3 opposite (2). Lengths differ to check the normalisation.
    a = np.array([[3.0, 0.0], [0.0, 1.0], [0.5, 0.0]], np.float32)
    b = np.array([[1.0, 0.0], [2.0, 0.0], [-4.0, 0.0]], np.float32)
    assert float(alignment(a, b)) == pytest.approx((0 + 2 + 4) / 3, rel=1e-6)
    assert float(alignment(a, b, alpha=1)) == pytest.approx((0 + np.sqrt(2) + 2) / 3, rel=1e-6)


def test_matches_formula_on_random_pairs(rng):
    a, b = rng.normal(size=(40, 9)), rng.normal(size=(40, 9))
    expected = np.mean([
        np.linalg.norm(x / np.linalg.norm(x) - y / np.linalg.norm(y)) ** 3 for x, y in zip(a, b)
    ])
    got = alignment(a.astype(np.float32), b.astype(np.float32), alpha=3)
    assert got.dtype == tf.float32
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same shape"):
        alignment(np.ones((4, 3)), np.ones((5, 3)))
    for alpha in (0, -1.0, float("inf"), float("nan"), None, "2", True):
        with pytest.raises(ValueError, match="alpha must be a positive number"):
            alignment(np.ones((4, 3)), np.ones((4, 3)), alpha=alpha)
