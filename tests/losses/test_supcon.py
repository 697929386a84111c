import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import SupConLoss, nt_xent, supcon


def reference_supcon(features_a, features_b, labels, temperature):
    """L_out of Khosla et al. (2020), anchor by anchor, in float64."""
    z = np.concatenate([features_a, features_b]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    both_labels = np.concatenate([labels, labels])
    losses = []
    for i in range(len(z)):
        others = [a for a in range(len(z)) if a != i]
        logits = np.array([z[i] @ z[a] / temperature for a in others])
        top = logits.max()
        log_denominator = top + np.log(np.exp(logits - top).sum())
        positives = [p for p in others if both_labels[p] == both_labels[i]]
        losses.append(-np.mean([z[i] @ z[p] / temperature - log_denominator for p in positives]))
    return np.mean(losses)


@pytest.mark.parametrize(
    "n, d, classes, temperature",
    [(2, 3, 1, 0.5), (8, 16, 3, 0.1), (32, 64, 5, 0.07), (64, 8, 10, 1.0), (16, 32, 2, 0.02)],
)
def test_matches_float64_reference_on_fresh_random_inputs(n, d, classes, temperature):
    rng = np.random.default_rng()
    labels = rng.integers(0, classes, size=n)
    features_a = rng.normal(size=(n, d))
    features_b = features_a * temperature * rng.uniform(0.5, 3.0) + rng.normal(size=(n, d))
    expected = reference_supcon(features_a, features_b, labels, temperature)
    assert expected > 1e-2
    got = supcon(tf.constant(features_a, tf.float32), tf.constant(features_b, tf.float32),
                 tf.constant(labels), temperature)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_equals_nt_xent_when_every_label_is_distinct():
    rng = np.random.default_rng()
    features_a, features_b = (tf.constant(v, tf.float32) for v in rng.normal(size=(2, 12, 16)))
    distinct = supcon(features_a, features_b, tf.range(12), 0.2)
    np.testing.assert_allclose(float(distinct), float(nt_xent(features_a, features_b, 0.2)), rtol=1e-5)


def test_half_precision_and_int64_labels():
    rng = np.random.default_rng()
    features_a, features_b = rng.normal(size=(2, 10, 8))
    labels = rng.integers(0, 3, size=10)
    expected = reference_supcon(features_a, features_b, labels, 0.2)
    got = supcon(tf.constant(features_a, tf.float16), tf.constant(features_b, tf.float16),
                 tf.constant(labels, tf.int64), 0.2)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=2e-3)  # inputs rounded to fp16


@pytest.mark.parametrize("n", [2, 16])
def test_gradient_is_finite_at_low_temperature_and_on_nearly_collapsed_features(n):
    rng = np.random.default_rng()
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


def test_loss_class_takes_labels_and_stacked_views_and_round_trips_through_config():
    rng = np.random.default_rng()
    features = tf.constant(rng.normal(size=(10, 2, 6)), tf.float32)
    labels = tf.constant(rng.integers(0, 3, size=10))
    expected = float(supcon(features[:, 0], features[:, 1], labels, 0.3))
    loss = SupConLoss(temperature=0.3)
    np.testing.assert_allclose(float(loss(labels, features)), expected, rtol=1e-6)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, SupConLoss) and again.temperature == 0.3 and again.name == loss.name
    np.testing.assert_allclose(float(again(labels, features)), expected, rtol=1e-6)


def test_loss_class_refuses_unstacked_views_and_fractional_labels():
    loss = SupConLoss()
    with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
        loss(tf.constant([0, 1, 0]), tf.ones((3, 8)))
    with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
        loss(tf.constant([0, 1, 0]), tf.ones((3, 3, 8)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="whole numbers"):
        loss(tf.constant([0.0, 0.5, 1.0]), tf.ones((3, 2, 8)))


def test_missing_or_malformed_labels_are_refused():
    z = tf.ones((4, 3))
    with pytest.raises(ValueError, match="SupCon needs labels"):
        supcon(z, z, None)
    with pytest.raises(ValueError, match="integer class labels, got dtype float32"):
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
    with pytest.raises(tf.errors.InvalidArgumentError, match="one label per embedding"):
        run(tf.ones((4, 3)), tf.ones((4, 3)), tf.range(5))


@pytest.mark.parametrize("temperature", [0.0, -0.1])
def test_non_positive_temperature_is_refused(temperature):
    z = tf.ones((4, 3))
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        supcon(z, z, tf.range(4), temperature)
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        SupConLoss(temperature)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        supcon(tf.ones((4, 3)), tf.ones((5, 3)), tf.range(4))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        supcon(tf.ones((4, 3, 2)), tf.ones((4, 3, 2)), tf.range(4))
    with pytest.raises(ValueError, match="at least 2 images"):
        supcon(tf.ones((1, 3)), tf.ones((1, 3)), tf.range(1))
