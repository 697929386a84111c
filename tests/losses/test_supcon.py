import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import SupConLoss, nt_xent, supcon
from tests.losses.helpers import check_weighted_reductions, stacked, weights_that_show


def reference_supcon_per_anchor(features_a, features_b, labels, temperature):
    """L_out of Khosla et al. (2020) for each of the 2N anchors, anchor by anchor, in float64.

    Labels are compared as Python integers, never cast.
    """
    z = np.concatenate([features_a, features_b]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    both_labels = [int(label) for label in labels] * 2
    losses = []
    for i in range(len(z)):
        others = [a for a in range(len(z)) if a != i]
        logits = np.array([z[i] @ z[a] / temperature for a in others])
        top = logits.max()
        log_denominator = top + np.log(np.exp(logits - top).sum())
        positives = [p for p in others if both_labels[p] == both_labels[i]]
        losses.append(-np.mean([z[i] @ z[p] / temperature - log_denominator for p in positives]))
    return np.array(losses)


def reference_supcon(features_a, features_b, labels, temperature):
    return np.mean(reference_supcon_per_anchor(features_a, features_b, labels, temperature))


def reference_supcon_per_example(features_a, features_b, labels, temperature):
    """The mean of example i's two anchors, i (view a) and i + N (view b)."""
    per_anchor = reference_supcon_per_anchor(features_a, features_b, labels, temperature)
    n = len(labels)
    return np.array([(per_anchor[i] + per_anchor[i + n]) / 2 for i in range(n)])


@pytest.mark.parametrize(
    "n, d, classes, temperature",
    [(2, 3, 1, 0.5), (8, 16, 3, 0.1), (32, 64, 5, 0.07), (64, 8, 10, 1.0), (16, 32, 2, 0.02)],
)
def test_matches_float64_reference_on_fresh_random_inputs(rng, n, d, classes, temperature):
    labels = rng.integers(0, classes, size=n)
    features_a = rng.normal(size=(n, d))
    features_b = features_a * temperature * rng.uniform(0.5, 3.0) + rng.normal(size=(n, d))
    expected = reference_supcon(features_a, features_b, labels, temperature)
    assert expected > 1e-2
    got = supcon(tf.constant(features_a, tf.float32), tf.constant(features_b, tf.float32),
                 tf.constant(labels), temperature)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_equals_nt_xent_when_every_label_is_distinct(rng):
    features_a, features_b = (tf.constant(v, tf.float32) for v in rng.normal(size=(2, 12, 16)))
    distinct = supcon(features_a, features_b, tf.range(12), 0.2)
    np.testing.assert_allclose(float(distinct), float(nt_xent(features_a, features_b, 0.2)), rtol=1e-5)


@pytest.mark.parametrize("dtype", [tf.int8, tf.uint8, tf.int16, tf.int32, tf.int64])
def test_half_precision_and_integer_labels_of_any_dtype(rng, dtype):
    features_a, features_b = rng.normal(size=(2, 10, 8))
    labels = rng.integers(0, 3, size=10)
    expected = reference_supcon(features_a, features_b, labels, 0.2)
    got = supcon(tf.constant(features_a, tf.float16), tf.constant(features_b, tf.float16),
                 tf.constant(labels, dtype), 0.2)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=2e-3)  # inputs rounded to fp16


def test_int64_labels_that_differ_only_above_2_to_the_32_are_different_classes(rng):
    n = 8
    # Examples 0-3 are one class around a centre, 4-7 another around the opposite centre, so one
    # class instead of two would make half the positives far; label 4 + 2**32 has the low 32 bits of 4.
    labels = np.array([4] * 4 + [4 + 2**32] * 4, np.int64)
    centres = np.repeat([[1.0], [-1.0]], 4, axis=0) * 3.0 * rng.normal(size=(1, 6))
    features_a, features_b = centres + rng.normal(size=(2, n, 6))
    expected = reference_supcon(features_a, features_b, labels, 0.2)
    truncated = reference_supcon(features_a, features_b, labels.astype(np.int32), 0.2)
    assert abs(expected - truncated) > 1e-2  # one class instead of two would show
    got = supcon(tf.constant(features_a, tf.float32), tf.constant(features_b, tf.float32),
                 tf.constant(labels, tf.int64), 0.2)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


@pytest.mark.parametrize("n", [2, 16])
def test_gradient_is_finite_at_low_temperature_and_on_nearly_collapsed_features(rng, n):
    centre = rng.normal(size=(1, 32))
    labels = tf.constant(rng.integers(0, 2, size=n))
    for spread in (0.0, 1e-6, 1.0):
        features_a = tf.Variable(centre + spread * rng.normal(size=(n, 32)), dtype=tf.float32)
        features_b = tf.constant(centre + spread * rng.normal(size=(n, 32)), tf.float32)
        with tf.GradientTape() as tape:
            loss = supcon(features_a, features_b, labels, temperature=0.01)
        gradient = tape.gradient(loss, features_a).numpy()
        assert np.isfinite(float(loss))
        assert np.all(np.isfinite(gradient))


def test_loss_class_takes_labels_and_stacked_views_and_matches_the_reference_per_example(rng):
    n = 10
    features_a, features_b = rng.normal(size=(2, n, 6))
    labels = rng.integers(0, 3, size=n)
    per_example = reference_supcon_per_example(features_a, features_b, labels, 0.3)
    y_pred = stacked(features_a, features_b)
    loss = SupConLoss(temperature=0.3)
    # Labels of any integer dtype, or whole floats (Keras casts y_true to float32 anyway).
    for y_true in (tf.constant(labels), tf.constant(labels, tf.int32), tf.constant(labels, tf.float32), labels):
        np.testing.assert_allclose(float(loss(y_true, y_pred)), per_example.mean(), rtol=1e-5)
    unreduced = SupConLoss(temperature=0.3, reduction="none")(labels, y_pred)
    assert unreduced.shape == (n,)
    np.testing.assert_allclose(unreduced.numpy(), per_example, rtol=1e-5)


def test_loss_class_weights_each_example_by_its_sample_weight(rng):
    n = 12
    features_a, features_b = rng.normal(size=(2, n, 8))
    labels = rng.integers(0, 4, size=n)
    per_example = reference_supcon_per_example(features_a, features_b, labels, 0.2)
    weights = weights_that_show(rng, per_example)
    check_weighted_reductions(SupConLoss, {"temperature": 0.2}, tf.constant(labels),
                              stacked(features_a, features_b), per_example, weights)


def test_loss_class_in_a_compiled_keras_model_applies_labels_and_sample_weights(rng):
    n = 16
    inputs = keras.Input((5,))
    views = [keras.layers.Dense(4)(inputs), keras.layers.Dense(4)(inputs)]
    model = keras.Model(inputs, keras.layers.Lambda(lambda pair: keras.ops.stack(pair, axis=1))(views))
    model.compile(loss=SupConLoss(temperature=0.5))
    x = rng.normal(size=(n, 5)).astype(np.float32)
    labels = rng.integers(0, 3, size=n)
    z = model.predict(x, verbose=0)
    per_example = reference_supcon_per_example(z[:, 0], z[:, 1], labels, 0.5)
    np.testing.assert_allclose(model.evaluate(x, labels, batch_size=n, verbose=0), per_example.mean(), rtol=1e-5)
    weights = weights_that_show(rng, per_example)
    weighted = model.evaluate(x, labels, sample_weight=weights, batch_size=n, verbose=0)
    np.testing.assert_allclose(weighted, (weights * per_example).sum() / n, rtol=1e-5)


def test_loss_class_round_trips_through_config(rng):
    features_a, features_b = rng.normal(size=(2, 10, 6))
    labels = rng.integers(0, 3, size=10)
    loss = SupConLoss(temperature=0.3, reduction="sum", name="supervised")
    assert loss.get_config()["temperature"] == 0.3
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, SupConLoss)
    assert (again.temperature, again.reduction, again.name) == (0.3, "sum", "supervised")
    expected = reference_supcon_per_example(features_a, features_b, labels, 0.3).sum()
    np.testing.assert_allclose(float(again(labels, stacked(features_a, features_b))), expected, rtol=1e-5)


def test_loss_class_refuses_missing_labels_unstacked_views_and_fractional_labels():
    loss = SupConLoss()
    with pytest.raises(ValueError, match="SupConLoss needs y_true"):
        loss(None, tf.ones((3, 2, 8)))
    with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
        loss(tf.constant([0, 1, 0]), tf.ones((3, 8)))
    with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
        loss(tf.constant([0, 1, 0]), tf.ones((3, 3, 8)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="whole numbers"):
        loss(tf.constant([0.0, 0.5, 1.0]), tf.ones((3, 2, 8)))
    with pytest.raises(ValueError, match="got 4 labels for a batch of 3"):
        loss(tf.constant([0, 1, 0, 1]), tf.ones((3, 2, 8)))


def test_missing_or_malformed_labels_are_refused():
    z = tf.ones((4, 3))
    with pytest.raises(ValueError, match="SupCon needs labels"):
        supcon(z, z, None)
    for floats in (tf.zeros(4), np.zeros(4, np.float64), tf.constant([0.0, 1.0, 0.0, 1.0], tf.float16)):
        with pytest.raises(ValueError, match="integer class labels"):
            supcon(z, z, floats)
    with pytest.raises(ValueError, match=r"integer class labels of shape \(batch,\), got dtype float32"):
        supcon(z, z, tf.zeros(4))
    with pytest.raises(ValueError, match=r"labels of shape \(batch,\)"):
        supcon(z, z, tf.zeros((4, 1), tf.int32))
    with pytest.raises(ValueError, match="got 5 labels for a batch of 4"):
        supcon(z, z, tf.range(5))


def test_label_count_known_only_at_run_time_is_asserted():
    spec = tf.TensorSpec((None, 3), tf.float32)
    run = tf.function(lambda a, b, y: supcon(a, b, y),
                      input_signature=[spec, spec, tf.TensorSpec((None,), tf.int32)])
    assert np.isfinite(float(run(tf.ones((4, 3)), tf.ones((4, 3)), tf.range(4))))
    with pytest.raises(tf.errors.InvalidArgumentError, match="one label per example"):
        run(tf.ones((4, 3)), tf.ones((4, 3)), tf.range(5))


@pytest.mark.parametrize("temperature", [0.0, -0.1, float("inf"), float("nan"), None, "a", True])
def test_temperature_that_is_not_a_positive_finite_number_is_refused(temperature):
    z = tf.ones((4, 3))
    message = "temperature must be a positive number, got " + re.escape(repr(temperature))
    with pytest.raises(ValueError, match=message):
        supcon(z, z, tf.range(4), temperature)
    with pytest.raises(ValueError, match=message):
        SupConLoss(temperature)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        supcon(tf.ones((4, 3)), tf.ones((5, 3)), tf.range(4))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        supcon(tf.ones((4, 3, 2)), tf.ones((4, 3, 2)), tf.range(4))
    with pytest.raises(ValueError, match="at least 2 images"):
        supcon(tf.ones((1, 3)), tf.ones((1, 3)), tf.range(1))
