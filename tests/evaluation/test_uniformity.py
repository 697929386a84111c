import itertools

import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.evaluation import uniformity


def test_hand_made_points():
    # Three unit vectors: e1, -e1 (squared distance 4) and e2 (squared distance 2 to both).
    z = np.array([[2.0, 0.0], [-1.0, 0.0], [0.0, 5.0]], np.float32)
    expected = np.log((np.exp(-2 * 4) + 2 * np.exp(-2 * 2)) / 3)
    assert float(uniformity(z)) == pytest.approx(expected, rel=1e-6)


def test_matches_formula_on_random_points(rng):
    z = rng.normal(size=(30, 5))
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    terms = [np.exp(-1.5 * np.sum((unit[i] - unit[j]) ** 2)) for i, j in itertools.combinations(range(30), 2)]
    got = uniformity(z.astype(np.float32), t=1.5)
    assert got.dtype == tf.float32
    assert float(got) == pytest.approx(np.log(np.mean(terms)), rel=1e-5)


def test_collapsed_is_zero_and_spread_is_lower(rng):
    collapsed = np.tile(rng.normal(size=(1, 8)), (100, 1)).astype(np.float32)
    assert float(uniformity(collapsed)) == pytest.approx(0.0, abs=1e-5)
    assert float(uniformity(rng.normal(size=(100, 8)).astype(np.float32))) < -2


def test_runs_compiled_with_unknown_batch(rng):
    compiled = tf.function(uniformity, input_signature=[tf.TensorSpec((None, 4), tf.float32)], jit_compile=True)
    z = rng.normal(size=(20, 4)).astype(np.float32)
    assert float(compiled(z)) == pytest.approx(float(uniformity(z)), rel=1e-5)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="N >= 2"):
        uniformity(np.ones((1, 3)))
    for t in (0, -1, float("inf"), float("nan"), None, "2", True):
        with pytest.raises(ValueError, match="t must be a positive number"):
            uniformity(np.ones((4, 3)), t=t)
