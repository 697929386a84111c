"""The symmetric InfoNCE (CLIP's loss): value, accuracy and gradients against a float64 NumPy reference."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import (
    SymmetricInfoNCE,
    info_nce,
    symmetric_info_nce,
    symmetric_info_nce_and_accuracy,
)
from keras_contrastive.losses.symmetric_info_nce import symmetric_info_nce_per_example
from tests.losses.helpers import check_weighted_reductions, stacked, weights_that_show


def log_softmax(logits, axis):
    top = logits.max(axis=axis, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=axis, keepdims=True))


def reference(z_a, z_b, temperature):
    """CLIP's loss in float64, written from its definition, with its analytic gradients.

    Returns a dict: `per_example` (row i's and column i's cross-entropy, averaged),
    `loss`, `accuracy` (both directions' top-1, averaged) and the gradients of
    the loss with respect to `z_a`, `z_b` and the temperature.
    """
    z_a, z_b = np.asarray(z_a, np.float64), np.asarray(z_b, np.float64)
    n = len(z_a)
    norm_a, norm_b = (np.linalg.norm(z, axis=1, keepdims=True) for z in (z_a, z_b))
    u, v = z_a / norm_a, z_b / norm_b
    cosines = u @ v.T
    logits = cosines / temperature
    by_row, by_column = log_softmax(logits, 1), log_softmax(logits, 0)
    diagonal = np.arange(n)
    per_example = -(by_row[diagonal, diagonal] + by_column[diagonal, diagonal]) / 2
    accuracy = (np.mean(logits.argmax(axis=1) == diagonal) + np.mean(logits.argmax(axis=0) == diagonal)) / 2
    # d loss / d logits: the two softmaxes minus their one-hot targets, each direction weighted 1 / (2N).
    d_logits = (np.exp(by_row) + np.exp(by_column) - 2 * np.eye(n)) / (2 * n)
    d_cosines = d_logits / temperature
    d_u, d_v = d_cosines @ v, d_cosines.T @ u
    # Through the normalisation: (I - u u^T) / |z|.
    d_a = (d_u - u * np.sum(u * d_u, axis=1, keepdims=True)) / norm_a
    d_b = (d_v - v * np.sum(v * d_v, axis=1, keepdims=True)) / norm_b
    d_temperature = -np.sum(d_logits * logits) / temperature
    return dict(per_example=per_example, loss=per_example.mean(), accuracy=accuracy, gradient_a=d_a, gradient_b=d_b,
                gradient_temperature=d_temperature)


def pairs(rng, n, d, temperature):
    """Two sides whose row i are related (so the loss is neither log N nor 0)."""
    z_a = rng.normal(size=(n, d))
    return z_a, z_a * temperature * rng.uniform(1.0, 5.0) + rng.normal(size=(n, d))


def f32(x):
    return tf.constant(x, tf.float32)


def test_the_reference_gradients_are_the_derivatives_of_the_reference_loss(rng):
    """Central differences of the float64 reference: the analytic gradients the other tests use are right."""
    z_a, z_b = pairs(rng, 4, 3, 0.3)
    expected = reference(z_a, z_b, 0.3)
    eps = 1e-6
    for name, (value, rebuild) in {
        "gradient_a": (z_a, lambda x: reference(x, z_b, 0.3)),
        "gradient_b": (z_b, lambda x: reference(z_a, x, 0.3)),
    }.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus, minus = value.copy(), value.copy()
            plus[index] += eps
            minus[index] -= eps
            numeric[index] = (rebuild(plus)["loss"] - rebuild(minus)["loss"]) / (2 * eps)
        np.testing.assert_allclose(expected[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)
    numeric = (reference(z_a, z_b, 0.3 + eps)["loss"] - reference(z_a, z_b, 0.3 - eps)["loss"]) / (2 * eps)
    np.testing.assert_allclose(expected["gradient_temperature"], numeric, rtol=1e-5)


@pytest.mark.parametrize("n, d, temperature", [(2, 3, 0.5), (7, 16, 0.07), (32, 64, 0.02), (16, 8, 1.0)])
@pytest.mark.parametrize("block_size", [None, 3])
def test_value_and_accuracy_match_the_float64_reference(rng, n, d, temperature, block_size):
    z_a, z_b = pairs(rng, n, d, temperature)
    expected = reference(z_a, z_b, temperature)
    assert expected["loss"] > 1e-2
    got = symmetric_info_nce(f32(z_a), f32(z_b), temperature, block_size)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected["loss"], rtol=1e-5)
    loss, accuracy = symmetric_info_nce_and_accuracy(f32(z_a), f32(z_b), temperature, block_size)
    np.testing.assert_allclose(float(loss), expected["loss"], rtol=1e-5)
    assert float(accuracy) == pytest.approx(expected["accuracy"])
    np.testing.assert_allclose(symmetric_info_nce_per_example(f32(z_a), f32(z_b), temperature, block_size).numpy(),
                               expected["per_example"], rtol=1e-5, atol=1e-6 / temperature)


def test_it_is_the_mean_of_info_nce_both_ways_and_symmetric_in_its_two_sides(rng):
    z_a, z_b = (f32(z) for z in pairs(rng, 10, 8, 0.1))
    one_way, other_way = float(info_nce(z_a, z_b, None, 0.1)), float(info_nce(z_b, z_a, None, 0.1))
    assert abs(one_way - other_way) > 1e-3  # each direction alone is not symmetric
    np.testing.assert_allclose(float(symmetric_info_nce(z_a, z_b, 0.1)), (one_way + other_way) / 2, rtol=1e-6)
    np.testing.assert_allclose(float(symmetric_info_nce(z_b, z_a, 0.1)), float(symmetric_info_nce(z_a, z_b, 0.1)),
                               rtol=1e-6)


@pytest.mark.parametrize("block_size, compiled", [(None, False), (3, False), (64, False), (3, True)])
def test_gradients_reach_both_sides_and_a_temperature_variable(rng, block_size, compiled):
    n, d, temperature = 9, 6, 0.15
    z_a, z_b = pairs(rng, n, d, temperature)
    expected = reference(z_a, z_b, temperature)
    variables = [tf.Variable(z, dtype=tf.float32) for z in (z_a, z_b)] + [tf.Variable(temperature, dtype=tf.float32)]

    def gradients():
        with tf.GradientTape() as tape:
            loss = symmetric_info_nce(variables[0], variables[1], variables[2], block_size)
        return loss, tape.gradient(loss, variables)

    loss, (d_a, d_b, d_t) = tf.function(gradients)() if compiled else gradients()
    np.testing.assert_allclose(float(loss), expected["loss"], rtol=1e-5)
    np.testing.assert_allclose(d_a.numpy(), expected["gradient_a"], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(d_b.numpy(), expected["gradient_b"], rtol=1e-3, atol=1e-6)
    assert abs(expected["gradient_temperature"]) > 1e-2
    np.testing.assert_allclose(float(d_t), expected["gradient_temperature"], rtol=1e-4)


def test_a_float64_log_scale_learned_as_clip_learns_it_gets_its_gradient(rng):
    """temperature = exp(-logit_scale) with a float64 variable: cast to float32 inside, the chain rule kept."""
    z_a, z_b = pairs(rng, 8, 5, 0.1)
    logit_scale = tf.Variable(np.log(1 / 0.1), dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = symmetric_info_nce(f32(z_a), f32(z_b), tf.exp(-logit_scale))
    expected = reference(z_a, z_b, 0.1)
    np.testing.assert_allclose(float(loss), expected["loss"], rtol=1e-5)
    # d loss / d s = d loss / d T * d T / d s, with T = exp(-s).
    np.testing.assert_allclose(float(tape.gradient(loss, logit_scale)), -0.1 * expected["gradient_temperature"],
                               rtol=1e-4)


def test_the_keras_loss_gives_each_examples_row_and_column_and_takes_sample_weights(rng):
    z_a, z_b = pairs(rng, 12, 8, 0.2)
    expected = reference(z_a, z_b, 0.2)["per_example"]
    y_pred = stacked(z_a, z_b)
    np.testing.assert_allclose(float(SymmetricInfoNCE(0.2)(None, y_pred)), expected.mean(), rtol=1e-5)
    unreduced = SymmetricInfoNCE(0.2, reduction="none")(None, y_pred)
    np.testing.assert_allclose(unreduced.numpy(), expected, rtol=1e-5)
    blocked = SymmetricInfoNCE(0.2, block_size=5, reduction="none")(None, y_pred)
    np.testing.assert_allclose(blocked.numpy(), expected, rtol=1e-5)
    check_weighted_reductions(SymmetricInfoNCE, {"temperature": 0.2}, None, y_pred, expected,
                              weights_that_show(rng, expected))


def test_the_keras_loss_round_trips_through_config_with_clips_default_temperature(rng):
    assert SymmetricInfoNCE().temperature == 0.07
    loss = SymmetricInfoNCE(temperature=0.3, block_size=4, reduction="sum", name="clip")
    config = loss.get_config()
    assert (config["temperature"], config["block_size"]) == (0.3, 4)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, SymmetricInfoNCE) and again.get_config() == config
    z_a, z_b = pairs(rng, 6, 4, 0.3)
    np.testing.assert_allclose(float(again(None, stacked(z_a, z_b))), reference(z_a, z_b, 0.3)["per_example"].sum(),
                               rtol=1e-5)


@pytest.mark.parametrize("temperature", [0.0, -0.1, float("inf"), float("nan"), None, "a", True])
def test_a_temperature_that_is_not_a_positive_finite_number_is_refused(temperature):
    z = tf.ones((4, 3))
    message = "temperature must be a positive number, got " + re.escape(repr(temperature))
    with pytest.raises(ValueError, match=message):
        symmetric_info_nce(z, z, temperature)
    with pytest.raises(ValueError, match=message):
        symmetric_info_nce_and_accuracy(z, z, temperature, block_size=2)
    with pytest.raises(ValueError, match=message):
        SymmetricInfoNCE(temperature)


@pytest.mark.parametrize(
    "temperature, message",
    [
        (tf.constant([0.1, 0.2]), "a positive number or a float scalar tensor, got a tensor of shape (2,) and dtype "
                                  "float32"),
        (tf.constant(1), "a float scalar tensor, got a tensor of shape () and dtype int32"),
        (tf.Variable(-0.5), "temperature must be a positive number, got a tensor holding -0.5"),
        (tf.constant(0.0), "temperature must be a positive number, got a tensor holding 0.0"),
        (keras.Variable(float("nan")), "temperature must be a positive number, got a tensor holding nan"),
    ],
)
def test_a_tensor_temperature_must_be_a_positive_float_scalar(temperature, message):
    z = tf.ones((4, 3))
    with pytest.raises(ValueError, match=re.escape(message)):
        symmetric_info_nce(z, z, temperature)


def test_bad_shapes_and_block_sizes_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        symmetric_info_nce(tf.ones((4, 3)), tf.ones((5, 3)))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        symmetric_info_nce(tf.ones((4, 3, 2)), tf.ones((4, 3, 2)))
    with pytest.raises(ValueError, match="at least 2 images"):
        symmetric_info_nce(tf.ones((1, 3)), tf.ones((1, 3)))
    for block_size in (0, 2.5, True):
        with pytest.raises(ValueError, match="block_size must be a positive integer"):
            symmetric_info_nce(tf.ones((4, 3)), tf.ones((4, 3)), 0.1, block_size)
        with pytest.raises(ValueError, match="block_size must be a positive integer"):
            SymmetricInfoNCE(block_size=block_size)
    with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
        SymmetricInfoNCE()(None, tf.ones((4, 3, 8)))
