import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import PairMarginLoss, pair_margin
from tests.losses.helpers import stacked


def reference_pair_margin(z_a, z_b, labels, margin):
    """Returns (loss, similar pairs, dissimilar pairs inside the margin), pair by pair.

    The rows paired are those of both views, z_a's first; row i of z_a and
    row i of z_b have the label labels[i] (compared as Python integers).
    """
    e = np.concatenate([z_a, z_b]).astype(np.float64)
    row_labels = [int(label) for label in labels] * 2
    terms, similar, inside = [], 0, 0
    for i in range(len(e)):
        for j in range(i + 1, len(e)):
            distance = np.sqrt(((e[i] - e[j]) ** 2).sum())
            if row_labels[i] == row_labels[j]:
                terms.append(0.5 * distance**2)
                similar += 1
            else:
                terms.append(0.5 * max(0.0, margin - distance) ** 2)
                inside += distance < margin
    return np.mean(terms), similar, inside


def as_f32(*arrays):
    return [tf.constant(x, tf.float32) for x in arrays]


def median_distance(z_a, z_b):
    e = np.concatenate([z_a, z_b])
    distances = np.linalg.norm(e[:, None] - e[None], axis=-1)
    return np.median(distances[np.triu_indices(len(e), 1)])


@pytest.mark.parametrize("n, d, classes", [(1, 3, 1), (2, 3, 1), (3, 2, 2), (12, 8, 3), (32, 16, 10)])
def test_matches_float64_reference_on_fresh_random_inputs(rng, n, d, classes):
    labels = rng.integers(0, classes, size=n)
    scale = rng.uniform(0.5, 10.0)
    z_a = rng.normal(size=(n, d)) * scale
    # Each coordinate of view b at least 0.5 scale from view a's: similar pairs are never near 0.
    z_b = z_a + rng.uniform(0.5, 1.0, size=(n, d)) * rng.choice([-1.0, 1.0], size=(n, d)) * scale
    # A margin beyond the median distance puts dissimilar pairs on both sides.
    margin = 1.2 * median_distance(z_a, z_b)
    expected, similar, inside = reference_pair_margin(z_a, z_b, labels, margin)
    assert expected > 1e-2 and similar >= n  # each example's two views are a similar pair
    got = pair_margin(*as_f32(z_a, z_b), tf.constant(labels), margin)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_both_kinds_of_pairs_count(rng):
    z_a = rng.normal(size=(8, 4))
    z_b = z_a + 0.5 * rng.normal(size=(8, 4))
    labels = np.repeat(np.arange(4), 2)
    expected, similar, inside = reference_pair_margin(z_a, z_b, labels, 3.0)
    assert similar == 4 * 6 and 0 < inside < 96  # 4 classes of 4 rows; 120 pairs in all
    got = pair_margin(*as_f32(z_a, z_b), tf.constant(labels), 3.0)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_distinct_labels_make_the_other_view_the_only_similar_row(rng):
    z_a, z_b = rng.normal(size=(2, 6, 4))
    expected, similar, inside = reference_pair_margin(z_a, z_b, np.arange(6), 3.0)
    assert similar == 6 and inside > 0
    got = pair_margin(*as_f32(z_a, z_b), tf.range(6), 3.0)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_default_margin_is_one(rng):
    z_a, z_b = rng.normal(size=(2, 6, 4)) * 0.3
    labels = np.array([0, 1, 2, 0, 1, 2])
    expected, _, inside = reference_pair_margin(z_a, z_b, labels, 1.0)
    assert inside > 0 and abs(expected - reference_pair_margin(z_a, z_b, labels, 2.0)[0]) > 1e-2
    np.testing.assert_allclose(float(pair_margin(*as_f32(z_a, z_b), tf.constant(labels))), expected, rtol=1e-5)
    assert PairMarginLoss().margin == 1.0
    np.testing.assert_allclose(float(PairMarginLoss()(labels, stacked(z_a, z_b))), expected, rtol=1e-5)


def test_int64_labels_that_differ_only_above_2_to_the_32_are_different_classes(rng):
    # Distances well inside the margin, so a cross-class pair costs far more as dissimilar than as similar.
    z_a, z_b = rng.normal(size=(2, 6, 4)) * 0.1
    labels = np.array([9] * 3 + [9 + 2**32] * 3, np.int64)
    expected, _, inside = reference_pair_margin(z_a, z_b, labels, 2.0)
    assert inside > 0
    assert abs(expected - reference_pair_margin(z_a, z_b, labels.astype(np.int32), 2.0)[0]) > 1e-2
    got = pair_margin(*as_f32(z_a, z_b), tf.constant(labels, tf.int64), 2.0)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_gradient_is_finite_at_distance_zero(rng):
    labels = tf.constant([0, 1])
    point = rng.normal(size=(1, 8))
    collapsed = (np.repeat(point, 2, axis=0), np.repeat(point, 2, axis=0))
    partly_a, partly_b = rng.normal(size=(2, 2, 8))
    partly_b[0] = partly_a[0]  # a similar pair at distance 0
    partly_a[1] = partly_a[0]  # and dissimilar pairs at distance 0
    for z_a, z_b in (collapsed, (partly_a, partly_b)):
        variables = [tf.Variable(z, dtype=tf.float32) for z in (z_a, z_b)]
        with tf.GradientTape() as tape:
            loss = pair_margin(*variables, labels, 1.0)
        gradients = [g.numpy() for g in tape.gradient(loss, variables)]
        assert np.isfinite(float(loss)) and float(loss) > 0
        assert all(np.all(np.isfinite(g)) for g in gradients)
    assert max(np.abs(g).max() for g in gradients) > 0


def test_loss_class_takes_labels_and_stacked_views_and_matches_the_reference(rng):
    z_a, z_b = rng.normal(size=(2, 10, 6))
    labels = rng.integers(0, 3, size=10)
    expected, _, _ = reference_pair_margin(z_a, z_b, labels, 2.5)
    y_pred = stacked(z_a, z_b)
    for y_true in (tf.constant(labels), tf.constant(labels, tf.float32), labels):
        np.testing.assert_allclose(float(PairMarginLoss(2.5)(y_true, y_pred)), expected, rtol=1e-5)
    # A mean over pairs: every reduction leaves the scalar as it is.
    for reduction in ("none", "sum", "mean_with_sample_weight"):
        got = PairMarginLoss(2.5, reduction=reduction)(labels, y_pred)
        assert got.shape == ()
        np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_loss_class_round_trips_through_config(rng):
    z_a, z_b = rng.normal(size=(2, 10, 6))
    labels = rng.integers(0, 3, size=10)
    loss = PairMarginLoss(margin=2.5, name="contrastive")
    assert loss.get_config()["margin"] == 2.5
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, PairMarginLoss) and again.margin == 2.5 and again.name == "contrastive"
    expected, _, _ = reference_pair_margin(z_a, z_b, labels, 2.5)
    np.testing.assert_allclose(float(again(labels, stacked(z_a, z_b))), expected, rtol=1e-5)


def test_loss_class_refuses_sample_weights_missing_labels_bad_shapes_and_fractional_labels():
    loss = PairMarginLoss()
    labels = tf.constant([0, 0, 1, 1])
    with pytest.raises(ValueError, match="takes no sample_weight"):
        loss(labels, tf.ones((4, 2, 3)), sample_weight=tf.ones(4))
    with pytest.raises(ValueError, match="PairMarginLoss needs y_true"):
        loss(None, tf.ones((4, 2, 3)))
    for shape in ((4, 3), (4, 3, 3)):
        with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
            loss(labels, tf.ones(shape))
    with pytest.raises(tf.errors.InvalidArgumentError, match="whole numbers"):
        loss(tf.constant([0.0, 0.5, 1.0, 1.0]), tf.ones((4, 2, 3)))


def test_bad_arguments_are_refused():
    z = tf.ones((4, 3))
    for margin in (-1.0, float("inf"), float("nan"), None, "1", True):
        with pytest.raises(ValueError, match="margin must be a non-negative number"):
            pair_margin(z, z, tf.constant([0, 0, 1, 1]), margin=margin)
        with pytest.raises(ValueError, match="margin must be a non-negative number"):
            PairMarginLoss(margin=margin)
    with pytest.raises(ValueError, match="The pair margin loss needs labels"):
        pair_margin(z, z, None)
    with pytest.raises(ValueError, match="integer class labels"):
        pair_margin(z, z, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="got 5 labels for a batch of 4"):
        pair_margin(z, z, tf.range(5))
    with pytest.raises(ValueError, match="got 8 labels for a batch of 4"):
        pair_margin(z, z, tf.range(8))  # one label per example, not per row of both views
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        pair_margin(tf.ones((4,)), tf.ones((4,)), tf.range(4))
    with pytest.raises(ValueError, match="same shape"):
        pair_margin(tf.ones((4, 3)), tf.ones((4, 5)), tf.range(4))
    with pytest.raises(ValueError, match="needs a batch of at least 1 example"):
        pair_margin(tf.ones((0, 3)), tf.ones((0, 3)), tf.zeros(0, tf.int32))
