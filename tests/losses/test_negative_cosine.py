import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import NegativeCosine, negative_cosine
from tests.losses.helpers import check_weighted_reductions, stacked, weights_that_show


def reference_negative_cosine_per_row(predictions, targets):
    cosines = []
    for p, t in zip(np.asarray(predictions, np.float64), np.asarray(targets, np.float64)):
        cosines.append(p @ t / (np.sqrt(p @ p) * np.sqrt(t @ t)))
    return -np.array(cosines)


def reference_negative_cosine(predictions, targets):
    return np.mean(reference_negative_cosine_per_row(predictions, targets))


def near(predictions, noise):
    """Noise rescaled to half each prediction's length: every target within 30 degrees, cosine >= 0.866."""
    return noise * 0.5 * np.linalg.norm(predictions, axis=1, keepdims=True) / np.linalg.norm(noise, axis=1, keepdims=True)


@pytest.mark.parametrize("n, d", [(1, 3), (7, 16), (64, 128), (256, 8)])
def test_matches_float64_reference_on_fresh_random_inputs(rng, n, d):
    predictions = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0)
    # Each target within half its prediction's length of it keeps the mean cosine well away from 0.
    targets = predictions + near(predictions, rng.normal(size=(n, d))) * rng.uniform(0.2, 1.0)
    expected = reference_negative_cosine(predictions, targets)
    assert expected < -0.3
    got = negative_cosine(tf.constant(predictions, tf.float32), tf.constant(targets, tf.float32))
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    half = negative_cosine(tf.constant(predictions, tf.float16), tf.constant(targets, tf.float64))
    assert half.dtype == tf.float32
    np.testing.assert_allclose(float(half), expected, rtol=2e-3)


def test_gradient_flows_into_both_arguments_and_is_finite_on_identical_rows(rng):
    predictions = tf.Variable(rng.normal(size=(8, 16)), dtype=tf.float32)
    targets = tf.Variable(rng.normal(size=(8, 16)), dtype=tf.float32)
    with tf.GradientTape() as tape:
        loss = negative_cosine(predictions, targets)
    for gradient in tape.gradient(loss, [predictions, targets]):
        assert np.all(np.isfinite(gradient.numpy())) and np.abs(gradient.numpy()).max() > 0
    with tf.GradientTape() as tape:
        loss = negative_cosine(predictions, predictions * 1.0)
    np.testing.assert_allclose(float(loss), -1.0, rtol=1e-6)
    assert np.all(np.isfinite(tape.gradient(loss, predictions).numpy()))


def test_loss_class_takes_stacked_predictions_and_targets_and_matches_the_reference_per_row(rng):
    n = 10
    predictions, targets = rng.normal(size=(2, n, 6))
    targets = predictions + near(predictions, targets)
    per_row = reference_negative_cosine_per_row(predictions, targets)
    y_pred = stacked(predictions, targets)
    np.testing.assert_allclose(float(NegativeCosine()(None, y_pred)), per_row.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(NegativeCosine()(rng.normal(size=n), y_pred)), per_row.mean(), rtol=1e-5)
    unreduced = NegativeCosine(reduction="none")(None, y_pred)
    assert unreduced.shape == (n,)
    np.testing.assert_allclose(unreduced.numpy(), per_row, rtol=1e-5, atol=1e-7)


def test_loss_class_weights_each_row_by_its_sample_weight(rng):
    predictions, targets = rng.normal(size=(2, 12, 6))
    targets = predictions + near(predictions, targets)
    per_row = reference_negative_cosine_per_row(predictions, targets)
    weights = weights_that_show(rng, per_row)
    check_weighted_reductions(NegativeCosine, {}, None, stacked(predictions, targets), per_row, weights)


def test_loss_class_round_trips_through_config(rng):
    predictions, targets = rng.normal(size=(2, 10, 6))
    loss = NegativeCosine(reduction="sum", name="simsiam")
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, NegativeCosine) and (again.name, again.reduction) == ("simsiam", "sum")
    expected = reference_negative_cosine_per_row(predictions, targets).sum()
    # A sum of 10 cosines of random vectors can land near 0: its float32 error is that of the terms.
    np.testing.assert_allclose(float(again(None, stacked(predictions, targets))), expected, rtol=1e-5, atol=1e-6)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        negative_cosine(tf.ones((4, 3)), tf.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        negative_cosine(tf.ones((3,)), tf.ones((3,)))
    with pytest.raises(ValueError, match="at least one row"):
        negative_cosine(tf.ones((0, 3)), tf.ones((0, 3)))
    for shape in ((4, 3), (4, 3, 3)):
        with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
            NegativeCosine()(None, tf.ones(shape))
