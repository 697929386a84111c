import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import NegativeCosine, negative_cosine


def reference_negative_cosine(predictions, targets):
    cosines = []
    for p, t in zip(np.asarray(predictions, np.float64), np.asarray(targets, np.float64)):
        cosines.append(p @ t / (np.sqrt(p @ p) * np.sqrt(t @ t)))
    return -np.mean(cosines)


@pytest.mark.parametrize("n, d", [(1, 3), (7, 16), (64, 128), (256, 8)])
def test_matches_float64_reference_on_fresh_random_inputs(n, d):
    rng = np.random.default_rng()
    predictions = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0)
    # A shared part keeps the mean cosine well away from 0.
    targets = predictions + rng.normal(size=(n, d)) * rng.uniform(0.1, 1.0) * np.abs(predictions).mean()
    expected = reference_negative_cosine(predictions, targets)
    assert expected < -0.3
    got = negative_cosine(tf.constant(predictions, tf.float32), tf.constant(targets, tf.float32))
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    half = negative_cosine(tf.constant(predictions, tf.float16), tf.constant(targets, tf.float64))
    assert half.dtype == tf.float32
    np.testing.assert_allclose(float(half), expected, rtol=2e-3)


def test_gradient_flows_into_both_arguments_and_is_finite_on_identical_rows():
    rng = np.random.default_rng()
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


def test_loss_class_equals_function_and_round_trips_through_config():
    rng = np.random.default_rng()
    predictions, targets = (tf.constant(v, tf.float32) for v in rng.normal(size=(2, 10, 6)))
    loss = NegativeCosine()
    expected = float(negative_cosine(predictions, targets))
    np.testing.assert_allclose(float(loss(targets, predictions)), expected, rtol=1e-6)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, NegativeCosine) and again.name == loss.name
    np.testing.assert_allclose(float(again(targets, predictions)), expected, rtol=1e-6)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        negative_cosine(tf.ones((4, 3)), tf.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        negative_cosine(tf.ones((3,)), tf.ones((3,)))
    with pytest.raises(ValueError, match="at least one row"):
        negative_cosine(tf.ones((0, 3)), tf.ones((0, 3)))
