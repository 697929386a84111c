import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import PairMarginLoss, pair_margin


def reference_pair_margin(embeddings, labels, margin):
    """Returns (loss, similar pairs, dissimilar pairs inside the margin), pair by pair."""
    e = np.asarray(embeddings, np.float64)
    terms, similar, inside = [], 0, 0
    for i in range(len(e)):
        for j in range(i + 1, len(e)):
            distance = np.sqrt(((e[i] - e[j]) ** 2).sum())
            if labels[i] == labels[j]:
                terms.append(0.5 * distance**2)
                similar += 1
            else:
                terms.append(0.5 * max(0.0, margin - distance) ** 2)
                inside += distance < margin
    return np.mean(terms), similar, inside


@pytest.mark.parametrize("n, d, classes", [(2, 3, 1), (3, 2, 2), (12, 8, 3), (64, 16, 10)])
def test_matches_float64_reference_on_fresh_random_inputs(n, d, classes):
    rng = np.random.default_rng()
    labels = rng.integers(0, classes, size=n)
    embeddings = rng.normal(size=(n, d)) * rng.uniform(0.5, 10.0)
    distances = np.linalg.norm(embeddings[:, None] - embeddings[None], axis=-1)
    # A margin beyond the median distance puts dissimilar pairs on both sides.
    margin = 1.2 * np.median(distances[np.triu_indices(n, 1)])
    expected, similar, inside = reference_pair_margin(embeddings, labels, margin)
    assert expected > 1e-2 and (similar > 0 or inside > 0)
    got = pair_margin(tf.constant(embeddings, tf.float32), tf.constant(labels), margin)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_both_kinds_of_pairs_count():
    rng = np.random.default_rng()
    embeddings = rng.normal(size=(16, 4))
    labels = np.repeat(np.arange(4), 4)
    expected, similar, inside = reference_pair_margin(embeddings, labels, 3.0)
    assert similar == 24 and 0 < inside < 96
    got = pair_margin(tf.constant(embeddings, tf.float32), tf.constant(labels), 3.0)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_gradient_is_finite_at_distance_zero():
    rng = np.random.default_rng()
    labels = tf.constant([0, 0, 1, 1])
    point = rng.normal(size=(1, 8))
    partly = rng.normal(size=(4, 8))
    partly[1] = partly[0]  # a similar pair at distance 0
    partly[2] = partly[0]  # and dissimilar pairs at distance 0
    for embeddings in (np.repeat(point, 4, axis=0), partly):
        variable = tf.Variable(embeddings, dtype=tf.float32)
        with tf.GradientTape() as tape:
            loss = pair_margin(variable, labels, 1.0)
        gradient = tape.gradient(loss, variable).numpy()
        assert np.isfinite(float(loss)) and float(loss) > 0
        assert np.all(np.isfinite(gradient))
    assert np.abs(gradient).max() > 0


def test_loss_class_equals_function_and_round_trips_through_config():
    rng = np.random.default_rng()
    embeddings = tf.constant(rng.normal(size=(10, 6)), tf.float32)
    labels = tf.constant(rng.integers(0, 3, size=10))
    loss = PairMarginLoss(margin=2.5)
    expected = float(pair_margin(embeddings, labels, 2.5))
    np.testing.assert_allclose(float(loss(labels, embeddings)), expected, rtol=1e-6)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, PairMarginLoss) and again.margin == 2.5 and again.name == loss.name
    np.testing.assert_allclose(float(again(labels, embeddings)), expected, rtol=1e-6)


def test_bad_arguments_are_refused():
    embeddings = tf.ones((4, 3))
    with pytest.raises(ValueError, match="margin must be a non-negative number"):
        pair_margin(embeddings, tf.constant([0, 0, 1, 1]), margin=-1.0)
    with pytest.raises(ValueError, match="margin must be a non-negative number"):
        PairMarginLoss(margin=-0.5)
    with pytest.raises(ValueError, match="The pair margin loss needs labels"):
        pair_margin(embeddings, None)
    with pytest.raises(ValueError, match="integer class labels"):
        pair_margin(embeddings, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="got 5 labels for a batch of 4"):
        pair_margin(embeddings, tf.range(5))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        pair_margin(tf.ones((4,)), tf.range(4))
    with pytest.raises(ValueError, match="at least 2 embeddings"):
        pair_margin(tf.ones((1, 3)), tf.range(1))
