import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import VICRegLoss, vicreg, vicreg_terms


def reference_vicreg_terms(z_a, z_b, epsilon):
    """The three terms written out entry by entry, in float64."""
    z_a, z_b = np.asarray(z_a, np.float64), np.asarray(z_b, np.float64)
    n, d = z_a.shape
    invariance = sum((z_a[s, k] - z_b[s, k]) ** 2 for s in range(n) for k in range(d)) / (n * d)
    variance = covariance = 0.0
    for z in (z_a, z_b):
        mean = z.sum(axis=0) / n
        for i in range(d):
            std = np.sqrt(sum((z[s, i] - mean[i]) ** 2 for s in range(n)) / (n - 1) + epsilon)
            variance += max(0.0, 1.0 - std) / d
            for j in range(d):
                if i != j:
                    c_ij = sum((z[s, i] - mean[i]) * (z[s, j] - mean[j]) for s in range(n)) / (n - 1)
                    covariance += c_ij**2 / d
    return {"invariance": invariance, "variance": variance, "covariance": covariance}


@pytest.mark.parametrize("n, d, epsilon", [(2, 3, 1e-4), (9, 16, 1e-4), (64, 24, 1e-2)])
def test_terms_and_weighted_sum_match_float64_reference(n, d, epsilon):
    rng = np.random.default_rng()
    # Values on a shuffled grid over [0, 1.05] (at least 0.5 / N apart, so that
    # even at N = 2 centring loses little to float32 rounding), scaled so every
    # other column is narrower than 1 and the variance hinge is active;
    # independent shuffles give the columns nonzero covariances.
    scales = np.where(np.arange(d) % 2 == 0, rng.uniform(0.5, 1.2, size=d), rng.uniform(5.0, 10.0, size=d))
    grid = (np.stack([rng.permutation(n) for _ in range(2 * d)], axis=1)
            + rng.uniform(0.0, 0.5, size=(n, 2 * d))) / n
    z_a = grid[:, :d] * scales + rng.normal(size=d)
    z_b = grid[:, d:] * scales + rng.normal(size=d)
    expected = reference_vicreg_terms(z_a, z_b, epsilon)
    assert min(expected.values()) > 1e-3
    a, b = tf.constant(z_a, tf.float32), tf.constant(z_b, tf.float32)
    got = vicreg_terms(a, b, epsilon)
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name].dtype == tf.float32
        np.testing.assert_allclose(float(got[name]), value, rtol=1e-5, err_msg=name)
    weights = rng.uniform(0.5, 30.0, size=3)
    total = vicreg(a, b, *weights, epsilon=epsilon)
    expected_total = (weights[0] * expected["invariance"] + weights[1] * expected["variance"]
                      + weights[2] * expected["covariance"])
    np.testing.assert_allclose(float(total), expected_total, rtol=1e-5)


def test_default_weights_are_the_papers():
    rng = np.random.default_rng()
    z_a, z_b = rng.normal(size=(2, 16, 8)) * 0.5
    expected = reference_vicreg_terms(z_a, z_b, 1e-4)
    got = vicreg(tf.constant(z_a, tf.float16), tf.constant(z_b, tf.float32))
    assert got.dtype == tf.float32
    expected_total = 25.0 * expected["invariance"] + 25.0 * expected["variance"] + expected["covariance"]
    np.testing.assert_allclose(float(got), expected_total, rtol=2e-3)  # z_a rounded to fp16


@pytest.mark.parametrize("spread", [0.0, 1e-6, 1.0])
def test_gradient_is_finite_for_a_batch_of_two_and_collapsed_inputs(spread):
    rng = np.random.default_rng()
    centre = rng.normal(size=(1, 16))
    z_a = tf.Variable(centre + spread * rng.normal(size=(2, 16)), dtype=tf.float32)
    z_b = tf.Variable(centre + spread * rng.normal(size=(2, 16)), dtype=tf.float32)
    with tf.GradientTape() as tape:
        loss = vicreg(z_a, z_b)
    assert np.isfinite(float(loss)) and float(loss) > 0
    for gradient in tape.gradient(loss, [z_a, z_b]):
        assert np.all(np.isfinite(gradient.numpy()))


def test_loss_class_equals_function_and_round_trips_through_config():
    rng = np.random.default_rng()
    z_a, z_b = (tf.constant(v, tf.float32) for v in rng.normal(size=(2, 10, 6)))
    loss = VICRegLoss(invariance_weight=10.0, variance_weight=5.0, covariance_weight=2.0, epsilon=1e-3)
    expected = float(vicreg(z_a, z_b, 10.0, 5.0, 2.0, 1e-3))
    np.testing.assert_allclose(float(loss(z_a, z_b)), expected, rtol=1e-6)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, VICRegLoss)
    assert (again.invariance_weight, again.variance_weight, again.covariance_weight, again.epsilon) == (
        10.0, 5.0, 2.0, 1e-3)
    np.testing.assert_allclose(float(again(z_a, z_b)), expected, rtol=1e-6)


@pytest.mark.parametrize("weight", ["invariance_weight", "variance_weight", "covariance_weight"])
def test_negative_weights_are_refused(weight):
    z = tf.ones((4, 3))
    with pytest.raises(ValueError, match=f"{weight} must be a non-negative number"):
        vicreg(z, z, **{weight: -1.0})
    with pytest.raises(ValueError, match=f"{weight} must be a non-negative number"):
        VICRegLoss(**{weight: -1.0})


def test_bad_epsilon_and_shapes_are_refused():
    z = tf.ones((4, 3))
    with pytest.raises(ValueError, match="epsilon must be a positive number"):
        vicreg_terms(z, z, epsilon=0.0)
    with pytest.raises(ValueError, match="epsilon must be a positive number"):
        VICRegLoss(epsilon=-1.0)
    with pytest.raises(ValueError, match="at least 2 images"):
        vicreg(tf.ones((1, 3)), tf.ones((1, 3)))
    with pytest.raises(ValueError, match="same shape"):
        vicreg(tf.ones((4, 3)), tf.ones((5, 3)))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        vicreg(tf.ones((4, 3, 2)), tf.ones((4, 3, 2)))
