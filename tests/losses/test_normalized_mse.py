import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import NormalizedMSE, normalized_mse


def reference_normalized_mse(predictions, targets):
    """BYOL's loss as the squared distance of the unit vectors, row by row."""
    errors = []
    for p, t in zip(np.asarray(predictions, np.float64), np.asarray(targets, np.float64)):
        difference = p / np.linalg.norm(p) - t / np.linalg.norm(t)
        errors.append(difference @ difference)
    return np.mean(errors)


@pytest.mark.parametrize("n, d", [(1, 3), (7, 16), (64, 128), (256, 8)])
def test_matches_float64_reference_on_fresh_random_inputs(n, d):
    rng = np.random.default_rng()
    predictions = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0)
    # Pointing the targets away from the predictions keeps the loss near 2 or above.
    targets = rng.normal(size=(n, d)) - 2.0 * predictions / np.linalg.norm(predictions, axis=1, keepdims=True)
    expected = reference_normalized_mse(predictions, targets)
    assert expected > 0.5
    got = normalized_mse(tf.constant(predictions, tf.float32), tf.constant(targets, tf.float32))
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_is_zero_for_parallel_rows_and_four_for_opposite_rows_with_finite_gradients():
    rng = np.random.default_rng()
    predictions = tf.Variable(rng.normal(size=(8, 16)), dtype=tf.float32)
    for scale, expected in ((3.0, 0.0), (-0.5, 4.0)):
        with tf.GradientTape() as tape:
            loss = normalized_mse(predictions, scale * predictions)
        np.testing.assert_allclose(float(loss), expected, atol=1e-5)
        assert np.all(np.isfinite(tape.gradient(loss, predictions).numpy()))


def test_loss_class_equals_function_and_round_trips_through_config():
    rng = np.random.default_rng()
    predictions, targets = (tf.constant(v, tf.float32) for v in rng.normal(size=(2, 10, 6)))
    loss = NormalizedMSE()
    expected = float(normalized_mse(predictions, targets))
    np.testing.assert_allclose(float(loss(targets, predictions)), expected, rtol=1e-6)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, NormalizedMSE) and again.name == loss.name
    np.testing.assert_allclose(float(again(targets, predictions)), expected, rtol=1e-6)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        normalized_mse(tf.ones((4, 3)), tf.ones((5, 3)))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        normalized_mse(tf.ones((4, 3, 1)), tf.ones((4, 3, 1)))
