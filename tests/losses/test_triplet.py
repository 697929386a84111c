import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import MINING_STRATEGIES, TripletMarginLoss, triplet_margin


def reference_distances(embeddings):
    e = np.asarray(embeddings, np.float64)
    return np.array([[np.sqrt(((e[i] - e[j]) ** 2).sum()) for j in range(len(e))] for i in range(len(e))])


def reference_triplet(embeddings, labels, margin, mining):
    """Returns (loss, number of terms with a positive loss, number of terms)."""
    d = reference_distances(embeddings)
    n = len(labels)
    terms = []
    for a in range(n):
        positives = [p for p in range(n) if p != a and labels[p] == labels[a]]
        negatives = [k for k in range(n) if labels[k] != labels[a]]
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


def clustered(rng, n, d, classes, separation):
    labels = rng.integers(0, classes, size=n)
    centres = rng.normal(size=(classes, d)) * separation
    return centres[labels] + rng.normal(size=(n, d)), labels


@pytest.mark.parametrize("mining", MINING_STRATEGIES)
@pytest.mark.parametrize(
    "n, d, classes, separation, margin",
    [(4, 2, 2, 0.0, 3.0), (12, 8, 3, 1.0, 0.5), (16, 4, 4, 2.0, 2.0), (32, 16, 5, 0.5, 1.0)],
)
def test_matches_float64_reference_on_fresh_random_inputs(mining, n, d, classes, separation, margin):
    rng = np.random.default_rng()
    embeddings, labels = clustered(rng, n, d, classes, separation)
    labels[:2] = [0, 1]
    labels[2:4] = labels[:2]  # at least one positive and one negative for the first anchors
    expected, active, total = reference_triplet(embeddings, labels, margin, mining)
    assert active > 0 and expected > 1e-2
    got = triplet_margin(tf.constant(embeddings, tf.float32), tf.constant(labels), margin, mining)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


@pytest.mark.parametrize("mining", MINING_STRATEGIES)
def test_separated_clusters_leave_some_terms_inactive_and_the_loss_still_matches(mining):
    rng = np.random.default_rng()
    embeddings, labels = clustered(rng, 16, 8, 4, separation=1.5)
    labels[:4] = [0, 1, 0, 1]
    expected, active, total = reference_triplet(embeddings, labels, 1.0, mining)
    assert active > 0
    if mining != "batch_hard":  # hardest triplets are rarely inactive
        assert active < total
    got = triplet_margin(tf.constant(embeddings, tf.float32), tf.constant(labels), 1.0, mining)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("mining", MINING_STRATEGIES)
def test_batches_without_a_valid_triplet_give_zero(mining):
    embeddings = tf.random.normal((6, 4))
    assert float(triplet_margin(embeddings, tf.range(6), 0.5, mining)) == 0.0
    assert float(triplet_margin(embeddings, tf.zeros(6, tf.int32), 0.5, mining)) == 0.0


@pytest.mark.parametrize("mining", MINING_STRATEGIES)
def test_gradient_is_finite_at_distance_zero(mining):
    rng = np.random.default_rng()
    labels = tf.constant([0, 0, 1, 1, 2, 2])
    point = rng.normal(size=(1, 8))
    partly = rng.normal(size=(6, 8))
    partly[1] = partly[0]  # an anchor-positive pair at distance 0
    partly[2] = partly[0]  # and a negative at distance 0
    for embeddings in (np.repeat(point, 6, axis=0), partly):
        variable = tf.Variable(embeddings, dtype=tf.float32)
        with tf.GradientTape() as tape:
            loss = triplet_margin(variable, labels, 0.5, mining)
        gradient = tape.gradient(loss, variable).numpy()
        assert np.isfinite(float(loss)) and float(loss) > 0
        assert np.all(np.isfinite(gradient))
    assert np.abs(gradient).max() > 0


def test_loss_class_equals_function_and_round_trips_through_config():
    rng = np.random.default_rng()
    embeddings = tf.constant(rng.normal(size=(12, 6)), tf.float32)
    labels = tf.constant(rng.integers(0, 3, size=12))
    loss = TripletMarginLoss(margin=0.8, mining="semi_hard")
    expected = float(triplet_margin(embeddings, labels, 0.8, "semi_hard"))
    np.testing.assert_allclose(float(loss(labels, embeddings)), expected, rtol=1e-6)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, TripletMarginLoss)
    assert (again.margin, again.mining, again.name) == (0.8, "semi_hard", loss.name)
    np.testing.assert_allclose(float(again(labels, embeddings)), expected, rtol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="whole numbers"):
        loss(tf.constant([0.5] * 12), embeddings)


def test_bad_arguments_are_refused():
    embeddings = tf.ones((4, 3))
    labels = tf.constant([0, 0, 1, 1])
    with pytest.raises(ValueError, match="mining must be one of batch_all, batch_hard, semi_hard; got 'hard'"):
        triplet_margin(embeddings, labels, mining="hard")
    with pytest.raises(ValueError, match="mining must be one of"):
        TripletMarginLoss(mining="all")
    with pytest.raises(ValueError, match="margin must be a non-negative number"):
        triplet_margin(embeddings, labels, margin=-0.1)
    with pytest.raises(ValueError, match="margin must be a non-negative number"):
        TripletMarginLoss(margin=-1.0)
    with pytest.raises(ValueError, match="The triplet loss needs labels"):
        triplet_margin(embeddings, None)
    with pytest.raises(ValueError, match="integer class labels"):
        triplet_margin(embeddings, tf.constant([0.0, 0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="got 3 labels for a batch of 4"):
        triplet_margin(embeddings, tf.constant([0, 0, 1]))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        triplet_margin(tf.ones((4, 3, 2)), labels)
    with pytest.raises(ValueError, match="at least 2 embeddings"):
        triplet_margin(tf.ones((1, 3)), tf.constant([0]))
