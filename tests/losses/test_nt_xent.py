import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import NTXent, nt_xent, nt_xent_logits


def reference_nt_xent(z_a, z_b, temperature):
    """NT-Xent written out anchor by anchor in float64, as in the SimCLR paper."""
    z = np.concatenate([z_a, z_b]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    two_n = len(z)
    n = two_n // 2
    losses = []
    for i in range(two_n):
        positive = i + n if i < n else i - n
        others = [j for j in range(two_n) if j != i]
        logits = np.array([z[i] @ z[j] / temperature for j in others])
        top = logits.max()
        log_denominator = top + np.log(np.exp(logits - top).sum())
        losses.append(log_denominator - z[i] @ z[positive] / temperature)
    return np.mean(losses)


@pytest.mark.parametrize(
    "n, d, temperature",
    [(2, 3, 0.5), (7, 16, 0.1), (32, 128, 0.07), (64, 8, 1.0), (16, 64, 0.01)],
)
def test_matches_float64_reference_on_fresh_random_inputs(n, d, temperature):
    rng = np.random.default_rng()
    z_a = rng.normal(size=(n, d))
    # A shared part scaled with the temperature keeps the loss well above zero,
    # where a relative error means something, at every temperature.
    z_b = z_a * temperature * rng.uniform(0.5, 3.0) + rng.normal(size=(n, d))
    expected = reference_nt_xent(z_a, z_b, temperature)
    assert expected > 1e-2
    got = nt_xent(tf.constant(z_a, tf.float32), tf.constant(z_b, tf.float32), temperature)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_scale_of_inputs_does_not_matter_and_half_precision_is_computed_in_float32():
    rng = np.random.default_rng()
    z_a, z_b = rng.normal(size=(2, 12, 32))
    expected = reference_nt_xent(z_a, z_b, 0.2)
    scaled = nt_xent(tf.constant(z_a * 50.0, tf.float32), tf.constant(z_b * 0.01, tf.float32), 0.2)
    np.testing.assert_allclose(float(scaled), expected, rtol=1e-5)
    half = nt_xent(tf.constant(z_a, tf.float16), tf.constant(z_b, tf.float16), 0.2)
    assert half.dtype == tf.float32
    np.testing.assert_allclose(float(half), expected, rtol=2e-3)  # inputs rounded to fp16


def test_gradient_is_finite_at_low_temperature_and_on_identical_views():
    rng = np.random.default_rng()
    z_a = tf.Variable(rng.normal(size=(16, 32)), dtype=tf.float32)
    for z_b in (z_a * 1.0, tf.constant(rng.normal(size=(16, 32)), tf.float32)):
        with tf.GradientTape() as tape:
            loss = nt_xent(z_a, z_b if z_b is not None else z_a, temperature=0.01)
        gradient = tape.gradient(loss, z_a)
        assert np.isfinite(float(loss))
        assert np.all(np.isfinite(gradient.numpy()))
        assert float(tf.reduce_max(tf.abs(gradient))) > 0


def test_gradient_matches_finite_differences_of_the_reference():
    rng = np.random.default_rng()
    z_a, z_b = rng.normal(size=(2, 4, 5))
    variable = tf.Variable(z_a, dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = nt_xent(variable, tf.constant(z_b), 0.3)
    gradient = tape.gradient(loss, variable).numpy()
    step = 1e-4
    numeric = np.zeros_like(z_a)
    for index in np.ndindex(z_a.shape):
        plus, minus = z_a.copy(), z_a.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = (reference_nt_xent(plus, z_b, 0.3) - reference_nt_xent(minus, z_b, 0.3)) / (2 * step)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-3, atol=1e-5)


def test_logits_put_the_positive_at_the_other_view_and_exclude_self():
    rng = np.random.default_rng()
    z_a = rng.normal(size=(3, 4)).astype(np.float32)
    logits, positives = nt_xent_logits(z_a, z_a, temperature=0.5)
    np.testing.assert_array_equal(positives.numpy(), [3, 4, 5, 0, 1, 2])
    softmax = tf.nn.softmax(logits).numpy()
    np.testing.assert_allclose(np.diag(softmax), 0.0, atol=1e-30)
    np.testing.assert_allclose(logits.numpy()[np.arange(6), positives.numpy()], 2.0, rtol=1e-5)


def test_loss_class_equals_function_and_round_trips_through_config():
    rng = np.random.default_rng()
    z_a, z_b = (tf.constant(v, tf.float32) for v in rng.normal(size=(2, 10, 6)))
    loss = NTXent(temperature=0.3)
    np.testing.assert_allclose(float(loss(z_a, z_b)), float(nt_xent(z_a, z_b, 0.3)), rtol=1e-6)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, NTXent) and again.temperature == 0.3
    np.testing.assert_allclose(float(again(z_a, z_b)), float(loss(z_a, z_b)), rtol=1e-6)


@pytest.mark.parametrize("temperature", [0.0, -0.1])
def test_non_positive_temperature_is_refused(temperature):
    z = tf.ones((4, 3))
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        nt_xent(z, z, temperature)
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        NTXent(temperature)


def test_batch_of_one_and_mismatched_views_are_refused():
    with pytest.raises(ValueError, match="at least 2 images"):
        nt_xent(tf.ones((1, 3)), tf.ones((1, 3)))
    with pytest.raises(ValueError, match="same shape"):
        nt_xent(tf.ones((4, 3)), tf.ones((5, 3)))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        nt_xent(tf.ones((4, 3, 2)), tf.ones((4, 3, 2)))
