import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import NTXent, nt_xent, nt_xent_logits
from tests.losses.helpers import check_weighted_reductions, stacked, weights_that_show


def reference_nt_xent_per_anchor(z_a, z_b, temperature):
    """NT-Xent of each of the 2N anchors, written out anchor by anchor in float64, as in the SimCLR paper."""
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
    return np.array(losses)


def reference_nt_xent(z_a, z_b, temperature):
    return np.mean(reference_nt_xent_per_anchor(z_a, z_b, temperature))


def reference_nt_xent_per_example(z_a, z_b, temperature):
    """The mean of example i's two anchors, i (view a) and i + N (view b)."""
    per_anchor = reference_nt_xent_per_anchor(z_a, z_b, temperature)
    n = len(z_a)
    return np.array([(per_anchor[i] + per_anchor[i + n]) / 2 for i in range(n)])


@pytest.mark.parametrize(
    "n, d, temperature",
    [(2, 3, 0.5), (7, 16, 0.1), (32, 128, 0.07), (64, 8, 1.0), (16, 64, 0.01)],
)
def test_matches_float64_reference_on_fresh_random_inputs(rng, n, d, temperature):
    z_a = rng.normal(size=(n, d))
    # A shared part scaled with the temperature keeps the loss well above zero,
    # where a relative error means something, at every temperature.
    z_b = z_a * temperature * rng.uniform(0.5, 3.0) + rng.normal(size=(n, d))
    expected = reference_nt_xent(z_a, z_b, temperature)
    assert expected > 1e-2
    got = nt_xent(tf.constant(z_a, tf.float32), tf.constant(z_b, tf.float32), temperature)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_default_temperature_is_0_1(rng):
    z_a, z_b = rng.normal(size=(2, 12, 8))
    expected = reference_nt_xent(z_a, z_b, 0.1)
    assert abs(expected - reference_nt_xent(z_a, z_b, 0.2)) > 1e-2  # the temperature shows
    np.testing.assert_allclose(float(nt_xent(z_a.astype(np.float32), z_b.astype(np.float32))), expected, rtol=1e-5)
    assert NTXent().temperature == 0.1
    np.testing.assert_allclose(float(NTXent()(None, stacked(z_a, z_b))), expected, rtol=1e-5)


def test_scale_of_inputs_does_not_matter_and_half_precision_is_computed_in_float32(rng):
    z_a, z_b = rng.normal(size=(2, 12, 32))
    expected = reference_nt_xent(z_a, z_b, 0.2)
    scaled = nt_xent(tf.constant(z_a * 50.0, tf.float32), tf.constant(z_b * 0.01, tf.float32), 0.2)
    np.testing.assert_allclose(float(scaled), expected, rtol=1e-5)
    half = nt_xent(tf.constant(z_a, tf.float16), tf.constant(z_b, tf.float16), 0.2)
    assert half.dtype == tf.float32
    np.testing.assert_allclose(float(half), expected, rtol=2e-3)  # inputs rounded to fp16


def test_gradient_is_finite_at_low_temperature_and_on_identical_views(rng):
    z_a = tf.Variable(rng.normal(size=(16, 32)), dtype=tf.float32)
    for z_b in (z_a * 1.0, tf.constant(rng.normal(size=(16, 32)), tf.float32)):
        with tf.GradientTape() as tape:
            loss = nt_xent(z_a, z_b, temperature=0.01)
        gradient = tape.gradient(loss, z_a)
        assert np.isfinite(float(loss))
        assert np.all(np.isfinite(gradient.numpy()))
        assert float(tf.reduce_max(tf.abs(gradient))) > 0


def test_gradient_matches_finite_differences_of_the_reference(rng):
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


def test_logits_put_the_positive_at_the_other_view_and_exclude_self(rng):
    z_a = rng.normal(size=(3, 4)).astype(np.float32)
    logits, positives = nt_xent_logits(z_a, z_a, temperature=0.5)
    np.testing.assert_array_equal(positives.numpy(), [3, 4, 5, 0, 1, 2])
    softmax = tf.nn.softmax(logits).numpy()
    np.testing.assert_allclose(np.diag(softmax), 0.0, atol=1e-30)
    np.testing.assert_allclose(logits.numpy()[np.arange(6), positives.numpy()], 2.0, rtol=1e-5)


def test_loss_class_takes_stacked_views_and_matches_the_reference_per_example(rng):
    n = 10
    z_a, z_b = rng.normal(size=(2, n, 6))
    y_pred = stacked(z_a, z_b)
    per_example = reference_nt_xent_per_example(z_a, z_b, 0.3)
    loss = NTXent(temperature=0.3)
    np.testing.assert_allclose(float(loss(None, y_pred)), reference_nt_xent(z_a, z_b, 0.3), rtol=1e-5)
    # y_true is ignored, whatever it holds.
    np.testing.assert_allclose(float(loss(rng.integers(0, 3, n), y_pred)), float(loss(None, y_pred)), rtol=1e-6)
    unreduced = NTXent(temperature=0.3, reduction="none")(None, y_pred)
    assert unreduced.shape == (n,)
    np.testing.assert_allclose(unreduced.numpy(), per_example, rtol=1e-5)
    np.testing.assert_allclose(float(NTXent(0.3, reduction="sum")(None, y_pred)), per_example.sum(), rtol=1e-5)


def test_loss_class_weights_each_example_by_its_sample_weight(rng):
    z_a, z_b = rng.normal(size=(2, 12, 8))
    per_example = reference_nt_xent_per_example(z_a, z_b, 0.2)
    weights = weights_that_show(rng, per_example)
    check_weighted_reductions(NTXent, {"temperature": 0.2}, None, stacked(z_a, z_b), per_example, weights)


def test_loss_class_round_trips_through_config(rng):
    z_a, z_b = rng.normal(size=(2, 10, 6))
    loss = NTXent(temperature=0.3, reduction="sum", name="contrastive")
    assert loss.get_config()["temperature"] == 0.3
    for again in (keras.losses.deserialize(keras.losses.serialize(loss)),
                  keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))):
        assert isinstance(again, NTXent)
        assert (again.temperature, again.reduction, again.name) == (0.3, "sum", "contrastive")
        expected = reference_nt_xent_per_example(z_a, z_b, 0.3).sum()
        np.testing.assert_allclose(float(again(None, stacked(z_a, z_b))), expected, rtol=1e-5)


def test_loss_class_refuses_views_not_stacked_on_axis_1():
    loss = NTXent()
    for shape in ((4, 8), (4, 3, 8), (4, 2, 3, 8)):
        with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
            loss(None, tf.ones(shape))


@pytest.mark.parametrize("temperature", [0.0, -0.1, float("inf"), float("nan"), None, "a", True])
def test_temperature_that_is_not_a_positive_finite_number_is_refused(temperature):
    z = tf.ones((4, 3))
    message = "temperature must be a positive number, got " + re.escape(repr(temperature))
    with pytest.raises(ValueError, match=message):
        nt_xent(z, z, temperature)
    with pytest.raises(ValueError, match=message):
        nt_xent_logits(z, z, temperature)
    with pytest.raises(ValueError, match=message):
        NTXent(temperature)


def test_batch_of_one_and_mismatched_views_are_refused():
    with pytest.raises(ValueError, match="at least 2 images"):
        nt_xent(tf.ones((1, 3)), tf.ones((1, 3)))
    with pytest.raises(ValueError, match="at least 2 images"):
        NTXent()(None, tf.ones((1, 2, 3)))
    with pytest.raises(ValueError, match="same shape"):
        nt_xent(tf.ones((4, 3)), tf.ones((5, 3)))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        nt_xent(tf.ones((4, 3, 2)), tf.ones((4, 3, 2)))
