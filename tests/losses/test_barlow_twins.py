import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import BarlowTwinsLoss, barlow_twins
from tests.losses.helpers import stacked


def reference_barlow_twins(z_a, z_b, lambda_param, epsilon):
    """The cross-correlation written entry by entry, in float64."""
    z_a, z_b = np.asarray(z_a, np.float64), np.asarray(z_b, np.float64)
    n, d = z_a.shape

    def standardise(z):
        out = np.empty_like(z)
        for k in range(d):
            column = z[:, k]
            mean = column.sum() / n
            variance = ((column - mean) ** 2).sum() / n
            out[:, k] = (column - mean) / np.sqrt(variance + epsilon)
        return out

    a, b = standardise(z_a), standardise(z_b)
    loss = 0.0
    for i in range(d):
        for j in range(d):
            c_ij = sum(a[s, i] * b[s, j] for s in range(n)) / n
            loss += (1.0 - c_ij) ** 2 if i == j else lambda_param * c_ij**2
    return loss


def spread_columns(rng, n, d):
    """Columns of random scale and offset whose values are at least 0.5 scale apart.

    Standardising subtracts the column mean; with values this far apart the
    float32 rounding of that subtraction stays within the test's tolerance
    even for N = 2.
    """
    scales = rng.uniform(0.1, 10.0, size=d)
    steps = np.stack([rng.permutation(n) for _ in range(d)], axis=1) + rng.uniform(0.0, 0.5, size=(n, d))
    return steps * scales + rng.normal(size=d) * scales


@pytest.mark.parametrize(
    "n, d, lambda_param, epsilon",
    [(2, 3, 5e-3, 1e-5), (9, 16, 5e-3, 1e-5), (64, 32, 0.05, 1e-3), (128, 8, 1.0, 1e-5)],
)
def test_matches_float64_reference_on_fresh_random_inputs(rng, n, d, lambda_param, epsilon):
    z_a, z_b = spread_columns(rng, n, d), spread_columns(rng, n, d)
    z_b[:, : d // 2] += z_a[:, : d // 2]  # correlate half the dimensions
    expected = reference_barlow_twins(z_a, z_b, lambda_param, epsilon)
    # With N = 2 every correlation is about +-1: at least the 6 off-diagonal
    # lambda terms are active.
    assert expected > 1e-2
    got = barlow_twins(tf.constant(z_a, tf.float32), tf.constant(z_b, tf.float32), lambda_param, epsilon)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_half_precision_inputs_are_computed_in_float32(rng):
    z_a, z_b = rng.normal(size=(2, 16, 8))
    got = barlow_twins(tf.constant(z_a, tf.float16), tf.constant(z_b, tf.float16))
    assert got.dtype == tf.float32
    expected = reference_barlow_twins(z_a.astype(np.float16), z_b.astype(np.float16), 5e-3, 1e-5)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


@pytest.mark.parametrize("spread", [0.0, 1e-6, 1.0])
def test_gradient_is_finite_for_a_batch_of_two_and_collapsed_inputs(rng, spread):
    centre = rng.normal(size=(1, 16))
    z_a = tf.Variable(centre + spread * rng.normal(size=(2, 16)), dtype=tf.float32)
    z_b = tf.Variable(centre + spread * rng.normal(size=(2, 16)), dtype=tf.float32)
    with tf.GradientTape() as tape:
        loss = barlow_twins(z_a, z_b)
    assert np.isfinite(float(loss)) and float(loss) > 0
    for gradient in tape.gradient(loss, [z_a, z_b]):
        assert np.all(np.isfinite(gradient.numpy()))


def test_default_lambda_and_epsilon_are_the_papers(rng):
    z_a, z_b = spread_columns(rng, 16, 8), spread_columns(rng, 16, 8)
    z_b[:, :4] += z_a[:, :4]
    expected = reference_barlow_twins(z_a, z_b, 5e-3, 1e-5)
    assert abs(expected - reference_barlow_twins(z_a, z_b, 0.05, 1e-5)) > 1e-2  # lambda shows
    got = barlow_twins(tf.constant(z_a, tf.float32), tf.constant(z_b, tf.float32))
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    loss = BarlowTwinsLoss()
    assert (loss.lambda_param, loss.epsilon) == (5e-3, 1e-5)
    np.testing.assert_allclose(float(loss(None, stacked(z_a, z_b))), expected, rtol=1e-5)


def test_loss_class_takes_stacked_views_and_matches_the_reference(rng):
    z_a, z_b = spread_columns(rng, 10, 6), spread_columns(rng, 10, 6)
    expected = reference_barlow_twins(z_a, z_b, 0.02, 1e-4)
    y_pred = stacked(z_a, z_b)
    np.testing.assert_allclose(float(BarlowTwinsLoss(0.02, 1e-4)(None, y_pred)), expected, rtol=1e-5)
    # y_true is ignored, and every reduction leaves the batch's scalar as it is.
    np.testing.assert_allclose(float(BarlowTwinsLoss(0.02, 1e-4)(rng.normal(size=10), y_pred)), expected, rtol=1e-5)
    for reduction in ("none", "sum"):
        got = BarlowTwinsLoss(0.02, 1e-4, reduction=reduction)(None, y_pred)
        assert got.shape == ()
        np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_loss_class_round_trips_through_config(rng):
    z_a, z_b = spread_columns(rng, 10, 6), spread_columns(rng, 10, 6)
    loss = BarlowTwinsLoss(lambda_param=0.02, epsilon=1e-4, name="bt")
    assert (loss.get_config()["lambda_param"], loss.get_config()["epsilon"]) == (0.02, 1e-4)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, BarlowTwinsLoss)
    assert (again.lambda_param, again.epsilon, again.name) == (0.02, 1e-4, "bt")
    expected = reference_barlow_twins(z_a, z_b, 0.02, 1e-4)
    np.testing.assert_allclose(float(again(None, stacked(z_a, z_b))), expected, rtol=1e-5)


def test_loss_class_refuses_sample_weights_and_unstacked_views():
    with pytest.raises(ValueError, match="BarlowTwinsLoss has no loss per example.*takes no sample_weight"):
        BarlowTwinsLoss()(None, tf.ones((4, 2, 3)), sample_weight=tf.ones(4))
    for shape in ((4, 3), (4, 3, 3)):
        with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
            BarlowTwinsLoss()(None, tf.ones(shape))


def test_bad_arguments_and_shapes_are_refused():
    z = tf.ones((4, 3))
    for value in (-1e-3, float("inf"), float("nan"), None, "1", True):
        with pytest.raises(ValueError, match="lambda_param must be a non-negative number"):
            barlow_twins(z, z, lambda_param=value)
        with pytest.raises(ValueError, match="lambda_param must be a non-negative number"):
            BarlowTwinsLoss(lambda_param=value)
    for value in (0.0, -1.0, float("inf"), float("nan"), None):
        with pytest.raises(ValueError, match="epsilon must be a positive number"):
            barlow_twins(z, z, epsilon=value)
        with pytest.raises(ValueError, match="epsilon must be a positive number"):
            BarlowTwinsLoss(epsilon=value)
    with pytest.raises(ValueError, match="Barlow Twins needs a batch of at least 2 examples"):
        barlow_twins(tf.ones((1, 3)), tf.ones((1, 3)))
    with pytest.raises(ValueError, match="same shape"):
        barlow_twins(tf.ones((4, 3)), tf.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        barlow_twins(tf.ones((4,)), tf.ones((4,)))
