import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import MINING_STRATEGIES, TripletMarginLoss, triplet_margin
from tests.losses.helpers import stacked


def reference_distances(embeddings):
    e = np.asarray(embeddings, np.float64)
    return np.array([[np.sqrt(((e[i] - e[j]) ** 2).sum()) for j in range(len(e))] for i in range(len(e))])


def reference_triplet(z_a, z_b, labels, margin, mining):
    """Returns (loss, number of terms with a positive loss, number of terms), triplet by triplet.

    The rows mined are those of both views, z_a's first; row i of z_a and row
    i of z_b have the label labels[i] (compared as Python integers).
    """
    embeddings = np.concatenate([z_a, z_b])
    row_labels = [int(label) for label in labels] * 2
    d = reference_distances(embeddings)
    n = len(row_labels)
    terms = []
    for a in range(n):
        positives = [p for p in range(n) if p != a and row_labels[p] == row_labels[a]]
        negatives = [k for k in range(n) if row_labels[k] != row_labels[a]]
        if mining == "batch_all":
            terms += [max(0.0, d[a, p] - d[a, k] + margin) for p in positives for k in negatives]
        elif mining == "batch_hard":
            if positives and negatives:
                hardest_positive = max(d[a, p] for p in positives)
                hardest_negative = min(d[a, k] for k in negatives)
                terms.append(max(0.0, hardest_positive - hardest_negative + margin))
        elif negatives:  # semi_hard
            for p in positives:
                farther = [d[a, k] for k in negatives if d[a, k] > d[a, p]]
                chosen = min(farther) if farther else max(d[a, k] for k in negatives)
                terms.append(max(0.0, d[a, p] - chosen + margin))
    active = sum(term > 0 for term in terms)
    if mining == "batch_all":
        loss = sum(terms) / active if active else 0.0
    else:
        loss = np.mean(terms) if terms else 0.0
    return loss, active, len(terms)


def clustered_views(rng, n, d, classes, separation, view_noise=0.5):
    """Two views of n examples drawn around their class's centre."""
    labels = rng.integers(0, classes, size=n)
    centres = rng.normal(size=(classes, d)) * separation
    examples = centres[labels] + rng.normal(size=(n, d))
    return (examples + view_noise * rng.normal(size=(n, d)), examples + view_noise * rng.normal(size=(n, d)),
            labels)


def as_f32(*arrays):
    return [tf.constant(x, tf.float32) for x in arrays]


@pytest.mark.parametrize("mining", MINING_STRATEGIES)
@pytest.mark.parametrize(
    "n, d, classes, separation, margin_fraction",
    [(2, 2, 2, 0.0, 1.0), (6, 8, 3, 1.0, 0.5), (8, 4, 4, 2.0, 0.5), (16, 16, 5, 0.5, 0.3)],
)
def test_matches_float64_reference_on_fresh_random_inputs(rng, mining, n, d, classes, separation, margin_fraction):
    z_a, z_b, labels = clustered_views(rng, n, d, classes, separation)
    labels[:2] = [0, 1]  # at least one negative for the first anchors
    # A margin scaled to the batch keeps some terms active however far the clusters fall
    # (all of them at a fraction of 1) and, below 1, usually leaves others inactive.
    margin = margin_fraction * reference_distances(np.concatenate([z_a, z_b])).max()
    expected, active, total = reference_triplet(z_a, z_b, labels, margin, mining)
    assert active > 0 and expected > 1e-2
    got = triplet_margin(*as_f32(z_a, z_b), tf.constant(labels), margin, mining)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


@pytest.mark.parametrize("mining", MINING_STRATEGIES)
def test_separated_clusters_leave_some_terms_inactive_and_the_loss_still_matches(rng, mining):
    z_a, z_b, labels = clustered_views(rng, 8, 8, 4, separation=1.5)
    labels[:4] = [0, 1, 0, 1]
    expected, active, total = reference_triplet(z_a, z_b, labels, 1.0, mining)
    assert active > 0
    if mining != "batch_hard":  # hardest triplets are rarely inactive
        assert active < total
    got = triplet_margin(*as_f32(z_a, z_b), tf.constant(labels), 1.0, mining)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("mining", MINING_STRATEGIES)
def test_distinct_labels_make_the_other_view_the_only_positive(rng, mining):
    z_a, z_b = rng.normal(size=(2, 6, 4))
    expected, active, total = reference_triplet(z_a, z_b, np.arange(6), 2.0, mining)
    assert active > 0 and expected > 1e-2
    got = triplet_margin(*as_f32(z_a, z_b), tf.range(6), 2.0, mining)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


@pytest.mark.parametrize("mining", MINING_STRATEGIES)
def test_batches_without_a_valid_triplet_give_zero(rng, mining):
    z_a, z_b = as_f32(*rng.normal(size=(2, 6, 4)))
    assert float(triplet_margin(z_a, z_b, tf.zeros(6, tf.int32), 0.5, mining)) == 0.0
    # One example: its two views are positives of each other, and there is no negative.
    assert float(triplet_margin(z_a[:1], z_b[:1], tf.constant([3]), 0.5, mining)) == 0.0
    assert float(TripletMarginLoss(0.5, mining)(tf.constant([3]), stacked(z_a[:1], z_b[:1]))) == 0.0


@pytest.mark.parametrize("mining", MINING_STRATEGIES)
def test_gradient_is_finite_at_distance_zero(rng, mining):
    labels = tf.constant([0, 1, 2])
    point = rng.normal(size=(1, 8))
    collapsed = (np.repeat(point, 3, axis=0), np.repeat(point, 3, axis=0))
    partly_a, partly_b = rng.normal(size=(2, 3, 8))
    partly_b[0] = partly_a[0]  # an anchor-positive pair (example 0's two views) at distance 0
    partly_a[1] = partly_a[0]  # and a negative at distance 0
    for z_a, z_b in (collapsed, (partly_a, partly_b)):
        assert reference_distances(np.concatenate([z_a, z_b])).max() < 10.0
        variables = [tf.Variable(z, dtype=tf.float32) for z in (z_a, z_b)]
        with tf.GradientTape() as tape:
            # A margin beyond every distance keeps every term active, those at distance 0 included.
            loss = triplet_margin(*variables, labels, 10.0, mining)
        gradients = [g.numpy() for g in tape.gradient(loss, variables)]
        assert np.isfinite(float(loss)) and float(loss) > 0
        assert all(np.all(np.isfinite(g)) for g in gradients)
    assert max(np.abs(g).max() for g in gradients) > 0


def test_defaults_are_facenets_margin_0_2_and_semi_hard_mining(rng):
    z_a, z_b, labels = clustered_views(rng, 10, 6, 3, separation=0.5)
    labels[:2] = [0, 1]
    expected, _, _ = reference_triplet(z_a, z_b, labels, 0.2, "semi_hard")
    old_defaults, _, _ = reference_triplet(z_a, z_b, labels, 0.5, "batch_hard")
    assert abs(expected - old_defaults) > 1e-2  # the defaults show
    np.testing.assert_allclose(float(triplet_margin(*as_f32(z_a, z_b), tf.constant(labels))), expected, rtol=1e-5)
    loss = TripletMarginLoss()
    assert (loss.margin, loss.mining) == (0.2, "semi_hard")
    np.testing.assert_allclose(float(loss(labels, stacked(z_a, z_b))), expected, rtol=1e-5)


@pytest.mark.parametrize("mining", MINING_STRATEGIES)
def test_int64_labels_that_differ_only_above_2_to_the_32_are_different_classes(rng, mining):
    z_a, z_b = rng.normal(size=(2, 6, 4))
    # Examples 0-2 are one class, 3-5 another; label 9 + 2**32 has the low 32 bits of label 9.
    labels = np.array([9] * 3 + [9 + 2**32] * 3, np.int64)
    expected, active, _ = reference_triplet(z_a, z_b, labels, 2.0, mining)
    assert active > 0 and expected > 1e-2
    assert reference_triplet(z_a, z_b, labels.astype(np.int32), 2.0, mining)[0] == 0.0  # one class: no triplet
    got = triplet_margin(*as_f32(z_a, z_b), tf.constant(labels, tf.int64), 2.0, mining)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


@pytest.mark.parametrize("dtype", [tf.int8, tf.uint8, tf.int16, tf.int32, tf.int64])
def test_integer_labels_of_any_dtype(rng, dtype):
    z_a, z_b, labels = clustered_views(rng, 8, 4, 3, separation=0.5)
    labels[:2] = [0, 1]
    expected, _, _ = reference_triplet(z_a, z_b, labels, 1.0, "batch_all")
    got = triplet_margin(*as_f32(z_a, z_b), tf.constant(labels, dtype), 1.0, "batch_all")
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


@pytest.mark.parametrize("mining", MINING_STRATEGIES)
def test_loss_class_takes_labels_and_stacked_views_and_matches_the_reference(rng, mining):
    z_a, z_b, labels = clustered_views(rng, 12, 6, 3, separation=0.5)
    labels[:2] = [0, 1]
    expected, active, _ = reference_triplet(z_a, z_b, labels, 0.8, mining)
    assert active > 0
    y_pred = stacked(z_a, z_b)
    for y_true in (tf.constant(labels), tf.constant(labels, tf.float32), labels):
        np.testing.assert_allclose(float(TripletMarginLoss(0.8, mining)(y_true, y_pred)), expected, rtol=1e-5)
    # A loss of the whole batch: every reduction leaves the scalar as it is.
    for reduction in ("none", "sum", "mean_with_sample_weight"):
        got = TripletMarginLoss(0.8, mining, reduction=reduction)(labels, y_pred)
        assert got.shape == ()
        np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_loss_class_round_trips_through_config(rng):
    z_a, z_b = rng.normal(size=(2, 12, 6))
    labels = rng.integers(0, 3, size=12)
    labels[:2] = [0, 1]
    loss = TripletMarginLoss(margin=0.8, mining="batch_all", name="triplet")
    assert (loss.get_config()["margin"], loss.get_config()["mining"]) == (0.8, "batch_all")
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, TripletMarginLoss)
    assert (again.margin, again.mining, again.name) == (0.8, "batch_all", "triplet")
    expected, _, _ = reference_triplet(z_a, z_b, labels, 0.8, "batch_all")
    np.testing.assert_allclose(float(again(labels, stacked(z_a, z_b))), expected, rtol=1e-5)


def test_loss_class_refuses_sample_weights_missing_labels_bad_shapes_and_fractional_labels():
    loss = TripletMarginLoss()
    labels = tf.constant([0, 0, 1, 1])
    with pytest.raises(ValueError, match="takes no sample_weight"):
        loss(labels, tf.ones((4, 2, 3)), sample_weight=tf.ones(4))
    with pytest.raises(ValueError, match="TripletMarginLoss needs y_true"):
        loss(None, tf.ones((4, 2, 3)))
    for shape in ((4, 3), (4, 3, 3)):
        with pytest.raises(ValueError, match=r"\(batch, 2, dim\)"):
            loss(labels, tf.ones(shape))
    with pytest.raises(tf.errors.InvalidArgumentError, match="whole numbers"):
        loss(tf.constant([0.5] * 4), tf.ones((4, 2, 3)))


def test_bad_arguments_are_refused():
    z = tf.ones((4, 3))
    labels = tf.constant([0, 0, 1, 1])
    with pytest.raises(ValueError, match="mining must be one of 'batch_all', 'batch_hard', 'semi_hard'; got 'hard'"):
        triplet_margin(z, z, labels, mining="hard")
    with pytest.raises(ValueError, match="mining must be one of"):
        TripletMarginLoss(mining="all")
    for margin in (-0.1, float("inf"), float("nan"), None, "1", True):
        with pytest.raises(ValueError, match="margin must be a non-negative number"):
            triplet_margin(z, z, labels, margin=margin)
        with pytest.raises(ValueError, match="margin must be a non-negative number"):
            TripletMarginLoss(margin=margin)
    with pytest.raises(ValueError, match="The triplet loss needs labels"):
        triplet_margin(z, z, None)
    with pytest.raises(ValueError, match="integer class labels"):
        triplet_margin(z, z, tf.constant([0.0, 0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="got 3 labels for a batch of 4"):
        triplet_margin(z, z, tf.constant([0, 0, 1]))
    with pytest.raises(ValueError, match="got 8 labels for a batch of 4"):
        triplet_margin(z, z, tf.zeros(8, tf.int32))  # one label per example, not per row of both views
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        triplet_margin(tf.ones((4, 3, 2)), tf.ones((4, 3, 2)), labels)
    with pytest.raises(ValueError, match="same shape"):
        triplet_margin(tf.ones((4, 3)), tf.ones((5, 3)), labels)
    with pytest.raises(ValueError, match="needs a batch of at least 1 example"):
        triplet_margin(tf.ones((0, 3)), tf.ones((0, 3)), tf.zeros(0, tf.int32))
