import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import BarlowTwinsLoss, barlow_twins


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
def test_matches_float64_reference_on_fresh_random_inputs(n, d, lambda_param, epsilon):
    rng = np.random.default_rng()
    z_a, z_b = spread_columns(rng, n, d), spread_columns(rng, n, d)
    z_b[:, : d // 2] += z_a[:, : d // 2]  # correlate half the dimensions
    expected = reference_barlow_twins(z_a, z_b, lambda_param, epsilon)
    # With N = 2 every correlation is about +-1: at least the 6 off-diagonal
    # lambda terms are active.
    assert expected > 1e-2
    got = barlow_twins(tf.constant(z_a, tf.float32), tf.constant(z_b, tf.float32), lambda_param, epsilon)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_half_precision_inputs_are_computed_in_float32():
    rng = np.random.default_rng()
    z_a, z_b = rng.normal(size=(2, 16, 8))
    got = barlow_twins(tf.constant(z_a, tf.float16), tf.constant(z_b, tf.float16))
    assert got.dtype == tf.float32
    expected = reference_barlow_twins(z_a.astype(np.float16), z_b.astype(np.float16), 5e-3, 1e-5)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


@pytest.mark.parametrize("spread", [0.0, 1e-6, 1.0])
def test_gradient_is_finite_for_a_batch_of_two_and_collapsed_inputs(spread):
    rng = np.random.default_rng()
    centre = rng.normal(size=(1, 16))
    z_a = tf.Variable(centre + spread * rng.normal(size=(2, 16)), dtype=tf.float32)
    z_b = tf.Variable(centre + spread * rng.normal(size=(2, 16)), dtype=tf.float32)
    with tf.GradientTape() as tape:
        loss = barlow_twins(z_a, z_b)
    assert np.isfinite(float(loss)) and float(loss) > 0
    for gradient in tape.gradient(loss, [z_a, z_b]):
        assert np.all(np.isfinite(gradient.numpy()))


def test_loss_class_equals_function_and_round_trips_through_config():
    rng = np.random.default_rng()
    z_a, z_b = (tf.constant(v, tf.float32) for v in rng.normal(size=(2, 10, 6)))
    loss = BarlowTwinsLoss(lambda_param=0.02, epsilon=1e-4)
    expected = float(barlow_twins(z_a, z_b, 0.02, 1e-4))
    np.testing.assert_allclose(float(loss(z_a, z_b)), expected, rtol=1e-6)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, BarlowTwinsLoss)
    assert (again.lambda_param, again.epsilon, again.name) == (0.02, 1e-4, loss.name)
    np.testing.assert_allclose(float(again(z_a, z_b)), expected, rtol=1e-6)


def test_bad_arguments_and_shapes_are_refused():
    z = tf.ones((4, 3))
    with pytest.raises(ValueError, match="lambda_param must be a non-negative number"):
        barlow_twins(z, z, lambda_param=-1e-3)
    with pytest.raises(ValueError, match="lambda_param must be a non-negative number"):
        BarlowTwinsLoss(lambda_param=-1.0)
    with pytest.raises(ValueError, match="epsilon must be a positive number"):
        barlow_twins(z, z, epsilon=0.0)
    with pytest.raises(ValueError, match="epsilon must be a positive number"):
        BarlowTwinsLoss(epsilon=-1.0)
    with pytest.raises(ValueError, match="at least 2 images"):
        barlow_twins(tf.ones((1, 3)), tf.ones((1, 3)))
    with pytest.raises(ValueError, match="same shape"):
        barlow_twins(tf.ones((4, 3)), tf.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        barlow_twins(tf.ones((4,)), tf.ones((4,)))
