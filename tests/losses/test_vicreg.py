import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import VICRegLoss, vicreg, vicreg_terms
from tests.losses.helpers import stacked


def reference_view_terms(z, epsilon):
    """One view's variance hinge and covariance penalty, entry by entry, in float64."""
    z = np.asarray(z, np.float64)
    n, d = z.shape
    mean = z.sum(axis=0) / n
    variance = covariance = 0.0
    for i in range(d):
        std = np.sqrt(sum((z[s, i] - mean[i]) ** 2 for s in range(n)) / (n - 1) + epsilon)
        variance += max(0.0, 1.0 - std) / d
        for j in range(d):
            if i != j:
                c_ij = sum((z[s, i] - mean[i]) * (z[s, j] - mean[j]) for s in range(n)) / (n - 1)
                covariance += c_ij**2 / d
    return variance, covariance


def reference_vicreg_terms(z_a, z_b, epsilon):
    """The three terms as the official code (facebookresearch/vicreg) computes them.

    The variance term is the mean of the two views' hinges, the covariance
    term the sum of the two views' penalties.
    """
    z_a, z_b = np.asarray(z_a, np.float64), np.asarray(z_b, np.float64)
    n, d = z_a.shape
    invariance = sum((z_a[s, k] - z_b[s, k]) ** 2 for s in range(n) for k in range(d)) / (n * d)
    variance_a, covariance_a = reference_view_terms(z_a, epsilon)
    variance_b, covariance_b = reference_view_terms(z_b, epsilon)
    return {
        "invariance": invariance,
        "variance": (variance_a + variance_b) / 2,
        "covariance": covariance_a + covariance_b,
        "variance_per_view": (variance_a, variance_b),
    }


def hinged_views(rng, n, d):
    """Two views whose every other column is narrower than 1, so the variance hinge is active.

    Values on a shuffled grid over [0, 1.05] (at least 0.5 / N apart, so that
    even at N = 2 centring loses little to float32 rounding), scaled;
    independent shuffles give the columns nonzero covariances; the two views'
    scales differ, so their hinges do too.
    """
    grid = (np.stack([rng.permutation(n) for _ in range(2 * d)], axis=1)
            + rng.uniform(0.0, 0.5, size=(n, 2 * d))) / n
    views = []
    for half in (grid[:, :d], grid[:, d:]):
        scales = np.where(np.arange(d) % 2 == 0, rng.uniform(0.5, 1.2, size=d), rng.uniform(5.0, 10.0, size=d))
        views.append(half * scales + rng.normal(size=d))
    return views


@pytest.mark.parametrize("n, d, epsilon", [(2, 3, 1e-4), (9, 16, 1e-4), (64, 24, 1e-2)])
def test_terms_and_weighted_sum_match_float64_reference(rng, n, d, epsilon):
    z_a, z_b = hinged_views(rng, n, d)
    expected = reference_vicreg_terms(z_a, z_b, epsilon)
    assert min(expected["invariance"], expected["variance"], expected["covariance"]) > 1e-3
    a, b = tf.constant(z_a, tf.float32), tf.constant(z_b, tf.float32)
    got = vicreg_terms(a, b, epsilon)
    assert set(got) == {"invariance", "variance", "covariance"}
    for name in got:
        assert got[name].dtype == tf.float32
        np.testing.assert_allclose(float(got[name]), expected[name], rtol=1e-5, err_msg=name)
    weights = rng.uniform(0.5, 30.0, size=3)
    total = vicreg(a, b, *weights, epsilon=epsilon)
    expected_total = (weights[0] * expected["invariance"] + weights[1] * expected["variance"]
                      + weights[2] * expected["covariance"])
    np.testing.assert_allclose(float(total), expected_total, rtol=1e-5)


def test_the_variance_term_is_the_mean_of_the_two_views_hinges(rng):
    z_a, z_b = hinged_views(rng, 16, 8)
    z_b = z_b * 3.0  # wider: a smaller hinge than z_a's
    variance_a, _ = reference_view_terms(z_a, 1e-4)
    variance_b, _ = reference_view_terms(z_b, 1e-4)
    assert variance_a > variance_b + 1e-2
    got = float(vicreg_terms(tf.constant(z_a, tf.float32), tf.constant(z_b, tf.float32))["variance"])
    np.testing.assert_allclose(got, (variance_a + variance_b) / 2, rtol=1e-5)
    # Only view a's hinge: swapping in a view with no active hinge halves it.
    wide = rng.normal(size=(16, 8)) * 5.0
    assert reference_view_terms(wide, 1e-4)[0] == 0.0
    got = float(vicreg_terms(tf.constant(z_a, tf.float32), tf.constant(wide, tf.float32))["variance"])
    np.testing.assert_allclose(got, variance_a / 2, rtol=1e-5)


def test_default_weights_are_the_official_codes_and_variance_weight_50_is_the_papers_sum(rng):
    z_a, z_b = rng.normal(size=(2, 16, 8)) * 0.5
    z_a = z_a.astype(np.float16).astype(np.float64)  # the value the fp16 input holds
    expected = reference_vicreg_terms(z_a, z_b, 1e-4)
    variance_a, variance_b = expected["variance_per_view"]
    _, covariance_a = reference_view_terms(z_a, 1e-4)
    _, covariance_b = reference_view_terms(z_b, 1e-4)
    official = 25.0 * expected["invariance"] + 25.0 * (variance_a + variance_b) / 2 + 1.0 * (covariance_a + covariance_b)
    paper = 25.0 * expected["invariance"] + 25.0 * (variance_a + variance_b) + 1.0 * (covariance_a + covariance_b)
    assert paper - official > 1e-2  # the hinges are active: the two conventions differ
    got = vicreg(tf.constant(z_a, tf.float16), tf.constant(z_b, tf.float32))
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), official, rtol=1e-5)
    np.testing.assert_allclose(float(VICRegLoss()(None, stacked(z_a, z_b))), official, rtol=1e-5)
    paper_weights = vicreg(tf.constant(z_a, tf.float32), tf.constant(z_b, tf.float32), variance_weight=50.0)
    np.testing.assert_allclose(float(paper_weights), paper, rtol=1e-5)
    loss = VICRegLoss()
    assert (loss.invariance_weight, loss.variance_weight, loss.covariance_weight, loss.epsilon) == (
        25.0, 25.0, 1.0, 1e-4)


@pytest.mark.parametrize("spread", [0.0, 1e-6, 1.0])
def test_gradient_is_finite_for_a_batch_of_two_and_collapsed_inputs(rng, spread):
    centre = rng.normal(size=(1, 16))
    z_a = tf.Variable(centre + spread * rng.normal(size=(2, 16)), dtype=tf.float32)
    z_b = tf.Variable(centre + spread * rng.normal(size=(2, 16)), dtype=tf.float32)
    with tf.GradientTape() as tape:
        loss = vicreg(z_a, z_b)
    assert np.isfinite(float(loss)) and float(loss) > 0
    for gradient in tape.gradient(loss, [z_a, z_b]):
        assert np.all(np.isfinite(gradient.numpy()))


def test_loss_class_takes_stacked_views_and_matches_the_reference(rng):
    z_a, z_b = hinged_views(rng, 10, 6)
    terms = reference_vicreg_terms(z_a, z_b, 1e-3)
    expected = 10.0 * terms["invariance"] + 5.0 * terms["variance"] + 2.0 * terms["covariance"]
    kwargs = dict(invariance_weight=10.0, variance_weight=5.0, covariance_weight=2.0, epsilon=1e-3)
    y_pred = stacked(z_a, z_b)
    np.testing.assert_allclose(float(VICRegLoss(**kwargs)(None, y_pred)), expected, rtol=1e-5)
    # y_true is ignored, and every reduction leaves the batch's scalar as it is.
    np.testing.assert_allclose(float(VICRegLoss(**kwargs)(rng.normal(size=10), y_pred)), expected, rtol=1e-5)
    for reduction in ("none", "sum"):
        got = VICRegLoss(reduction=reduction, **kwargs)(None, y_pred)
        assert got.shape == ()
        np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_loss_class_round_trips_through_config(rng):
    z_a, z_b = hinged_views(rng, 10, 6)
    loss = VICRegLoss(invariance_weight=10.0, variance_weight=5.0, covariance_weight=2.0, epsilon=1e-3, name="vr")
    config = loss.get_config()
    assert (config["invariance_weight"], config["variance_weight"], config["covariance_weight"], config["epsilon"]) == (
        10.0, 5.0, 2.0, 1e-3)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, VICRegLoss) and again.name == "vr"
    assert (again.invariance_weight, again.variance_weight, again.covariance_weight, again.epsilon) == (
        10.0, 5.0, 2.0, 1e-3)
    terms = reference_vicreg_terms(z_a, z_b, 1e-3)
    expected = 10.0 * terms["invariance"] + 5.0 * terms["variance"] + 2.0 * terms["covariance"]
    np.testing.assert_allclose(float(again(None, stacked(z_a, z_b))), expected, rtol=1e-5)


def test_loss_class_refuses_sample_weights_and_unstacked_views():
    with pytest.raises(ValueError, match="VICRegLoss has no loss per example.*takes no sample_weight"):
        VICRegLoss()(None, tf.ones((4, 2, 3)), sample_weight=tf.ones(4))
    for shape in ((4, 3), (4, 3, 3)):
        with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
            VICRegLoss()(None, tf.ones(shape))


@pytest.mark.parametrize("weight", ["invariance_weight", "variance_weight", "covariance_weight"])
@pytest.mark.parametrize("value", [-1.0, float("inf"), float("nan"), None, "1", True])
def test_weights_that_are_not_non_negative_finite_numbers_are_refused(weight, value):
    z = tf.ones((4, 3))
    with pytest.raises(ValueError, match=f"{weight} must be a non-negative number"):
        vicreg(z, z, **{weight: value})
    with pytest.raises(ValueError, match=f"{weight} must be a non-negative number"):
        VICRegLoss(**{weight: value})


def test_bad_epsilon_and_shapes_are_refused():
    z = tf.ones((4, 3))
    for epsilon in (0.0, -1.0, float("inf"), float("nan"), None):
        with pytest.raises(ValueError, match="epsilon must be a positive number"):
            vicreg_terms(z, z, epsilon=epsilon)
        with pytest.raises(ValueError, match="epsilon must be a positive number"):
            VICRegLoss(epsilon=epsilon)
    with pytest.raises(ValueError, match="VICReg needs a batch of at least 2 examples"):
        vicreg(tf.ones((1, 3)), tf.ones((1, 3)))
    with pytest.raises(ValueError, match="same shape"):
        vicreg(tf.ones((4, 3)), tf.ones((5, 3)))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        vicreg(tf.ones((4, 3, 2)), tf.ones((4, 3, 2)))
