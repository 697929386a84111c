import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import NormalizedMSE, normalized_mse
from tests.losses.helpers import check_weighted_reductions, stacked, weights_that_show


def reference_normalized_squared_errors(predictions, targets):
    """BYOL's loss of each row: the squared distance of the unit vectors."""
    errors = []
    for p, t in zip(np.asarray(predictions, np.float64), np.asarray(targets, np.float64)):
        difference = p / np.linalg.norm(p) - t / np.linalg.norm(t)
        errors.append(difference @ difference)
    return np.array(errors)


def reference_normalized_mse(predictions, targets):
    return np.mean(reference_normalized_squared_errors(predictions, targets))


@pytest.mark.parametrize("n, d", [(1, 3), (7, 16), (64, 128), (256, 8)])
def test_matches_float64_reference_on_fresh_random_inputs(rng, n, d):
    predictions = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0)
    # Pointing the targets away from the predictions keeps the loss near 2 or above.
    targets = rng.normal(size=(n, d)) - 2.0 * predictions / np.linalg.norm(predictions, axis=1, keepdims=True)
    expected = reference_normalized_mse(predictions, targets)
    assert expected > 0.5
    got = normalized_mse(tf.constant(predictions, tf.float32), tf.constant(targets, tf.float32))
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_is_zero_for_parallel_rows_and_four_for_opposite_rows_with_finite_gradients(rng):
    predictions = tf.Variable(rng.normal(size=(8, 16)), dtype=tf.float32)
    for scale, expected in ((3.0, 0.0), (-0.5, 4.0)):
        with tf.GradientTape() as tape:
            loss = normalized_mse(predictions, scale * predictions)
        np.testing.assert_allclose(float(loss), expected, atol=1e-5)
        assert np.all(np.isfinite(tape.gradient(loss, predictions).numpy()))


def test_loss_class_takes_stacked_predictions_and_targets_and_matches_the_reference_per_row(rng):
    n = 10
    predictions, targets = rng.normal(size=(2, n, 6))
    per_row = reference_normalized_squared_errors(predictions, targets)
    y_pred = stacked(predictions, targets)
    np.testing.assert_allclose(float(NormalizedMSE()(None, y_pred)), per_row.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(NormalizedMSE()(rng.normal(size=n), y_pred)), per_row.mean(), rtol=1e-5)
    unreduced = NormalizedMSE(reduction="none")(None, y_pred)
    assert unreduced.shape == (n,)
    np.testing.assert_allclose(unreduced.numpy(), per_row, rtol=1e-5, atol=1e-6)


def test_loss_class_weights_each_row_by_its_sample_weight(rng):
    predictions, targets = rng.normal(size=(2, 12, 6))
    per_row = reference_normalized_squared_errors(predictions, targets)
    weights = weights_that_show(rng, per_row)
    check_weighted_reductions(NormalizedMSE, {}, None, stacked(predictions, targets), per_row, weights)


def test_loss_class_round_trips_through_config(rng):
    predictions, targets = rng.normal(size=(2, 10, 6))
    loss = NormalizedMSE(reduction="sum", name="byol")
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, NormalizedMSE) and (again.name, again.reduction) == ("byol", "sum")
    expected = reference_normalized_squared_errors(predictions, targets).sum()
    np.testing.assert_allclose(float(again(None, stacked(predictions, targets))), expected, rtol=1e-5)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        normalized_mse(tf.ones((4, 3)), tf.ones((5, 3)))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        normalized_mse(tf.ones((4, 3, 1)), tf.ones((4, 3, 1)))
    for shape in ((4, 3), (4, 3, 3)):
        with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
            NormalizedMSE()(None, tf.ones(shape))
