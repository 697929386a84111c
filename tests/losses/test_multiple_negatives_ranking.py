import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import (
    MultipleNegativesRankingLoss,
    multiple_negatives_ranking,
    multiple_negatives_ranking_and_accuracy,
)
from tests.losses.helpers import check_weighted_reductions, stacked, weights_that_show


def reference_per_anchor(anchors, positives, hard_negatives, temperature):
    """sentence-transformers' form in float64: scores = scale * cos(a_i, [p_1..p_N, h_1..h_M]), target i."""
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    a = unit(np.asarray(anchors, np.float64))
    candidates = unit(np.asarray(positives, np.float64))
    if hard_negatives is not None:
        candidates = np.concatenate([candidates, unit(np.asarray(hard_negatives, np.float64))])
    scores = (1.0 / temperature) * a @ candidates.T
    top = scores.max(axis=1, keepdims=True)
    log_softmax = scores - top - np.log(np.exp(scores - top).sum(axis=1, keepdims=True))
    return -log_softmax[np.arange(len(a)), np.arange(len(a))], np.argmax(scores, axis=1) == np.arange(len(a))


def f32(x):
    return None if x is None else tf.constant(x, tf.float32)


@pytest.mark.parametrize("n, d, m, temperature", [(2, 3, 0, 0.05), (9, 16, 9, 0.05), (16, 32, 5, 0.2), (32, 8, 64, 1.0)])
def test_matches_a_float64_reference_with_and_without_hard_negatives(rng, n, d, m, temperature):
    # Redrawn until the loss is not vanishing (2 anchors at T=0.05 draw one of 1e-8 about a third of the
    # time). A loss is a difference of float32 logits of up to 1/T, so it is off by a few of their ulps
    # whatever its size: rtol alone failed 3 seeds in 300 on losses near 0.02.
    atol = 4 * np.finfo(np.float32).eps / temperature
    per_anchor = np.zeros(1)
    while per_anchor.mean() <= 1e-2:
        anchors = rng.normal(size=(n, d))
        positives = 0.3 * anchors + rng.normal(size=(n, d))
        hard = 0.2 * anchors[rng.integers(0, n, m)] + rng.normal(size=(m, d)) if m else None
        per_anchor, hits = reference_per_anchor(anchors, positives, hard, temperature)
    got = multiple_negatives_ranking(f32(anchors), f32(positives), f32(hard), temperature)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), per_anchor.mean(), rtol=1e-5, atol=atol)
    loss, accuracy = multiple_negatives_ranking_and_accuracy(f32(anchors), f32(positives), f32(hard), temperature)
    np.testing.assert_allclose(float(loss), per_anchor.mean(), rtol=1e-5, atol=atol)
    assert float(accuracy) == pytest.approx(hits.mean())
    blocked = multiple_negatives_ranking(f32(anchors), f32(positives), f32(hard), temperature, block_size=3)
    np.testing.assert_allclose(float(blocked), per_anchor.mean(), rtol=1e-5, atol=atol)


def test_gradient_matches_finite_differences_of_the_reference(rng):
    n, d, temperature = 5, 4, 0.3
    anchors, positives, hard = rng.normal(size=(3, n, d))
    variables = [tf.Variable(x, dtype=tf.float64) for x in (anchors, positives, hard)]
    with tf.GradientTape() as tape:
        # float64 inputs are computed in float32: compare at a float32 tolerance
        value = multiple_negatives_ranking(*variables, temperature=temperature)
    gradients = [g.numpy() for g in tape.gradient(value, variables)]
    eps = 1e-6
    for which, gradient in enumerate(gradients):
        numeric = np.zeros_like(gradient)
        for index in np.ndindex(gradient.shape):
            plus = [x.copy() for x in (anchors, positives, hard)]
            minus = [x.copy() for x in (anchors, positives, hard)]
            plus[which][index] += eps
            minus[which][index] -= eps
            numeric[index] = (reference_per_anchor(*plus, temperature)[0].mean()
                              - reference_per_anchor(*minus, temperature)[0].mean()) / (2 * eps)
        np.testing.assert_allclose(gradient, numeric, rtol=1e-3, atol=1e-5)


def test_hard_negatives_raise_the_loss_only_when_they_are_close_to_the_anchors(rng):
    anchors = rng.normal(size=(8, 16))
    positives = anchors + 0.5 * rng.normal(size=(8, 16))  # cosine about 0.9 with its anchor
    plain = float(multiple_negatives_ranking(f32(anchors), f32(positives), temperature=0.05))
    # Nearer each anchor than its positive (cosine about 0.999): each outscores the positive by about 2 logits.
    close = float(multiple_negatives_ranking(f32(anchors), f32(positives), f32(anchors + 0.02 * rng.normal(
        size=(8, 16))), temperature=0.05))
    far = float(multiple_negatives_ranking(f32(anchors), f32(positives), f32(-anchors), temperature=0.05))
    assert close > plain + 1.0
    # Opposite the anchors: -20 logits for its own anchor; the others' may fall near by chance, but add far less.
    assert plain <= far < plain + 0.2 * (close - plain)


def test_the_default_temperature_is_simcses_0_05(rng):
    anchors, positives = rng.normal(size=(2, 6, 8))
    expected = reference_per_anchor(anchors, positives, None, 0.05)[0].mean()
    np.testing.assert_allclose(float(multiple_negatives_ranking(f32(anchors), f32(positives))), expected, rtol=1e-5)
    assert MultipleNegativesRankingLoss().temperature == 0.05


def test_loss_class_reductions_weights_and_config(rng):
    anchors, positives = rng.normal(size=(2, 10, 6))
    per_anchor = reference_per_anchor(anchors, positives, None, 0.3)[0]
    loss = MultipleNegativesRankingLoss(temperature=0.3, reduction="none")
    np.testing.assert_allclose(loss(None, stacked(anchors, positives)).numpy(), per_anchor, rtol=1e-5)
    check_weighted_reductions(MultipleNegativesRankingLoss, {"temperature": 0.3}, None, stacked(anchors, positives),
                              per_anchor, weights_that_show(rng, per_anchor))
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(
        MultipleNegativesRankingLoss(temperature=0.3, block_size=4, name="mnr")))
    assert (type(again), again.temperature, again.block_size, again.name) == (MultipleNegativesRankingLoss, 0.3, 4, "mnr")


def test_bad_arguments_are_refused_by_name(rng):
    anchors = f32(rng.normal(size=(4, 8)))
    with pytest.raises(ValueError, match=r"hard_negatives must be a \(M, dim\) batch with the anchors' dim 8"):
        multiple_negatives_ranking(anchors, anchors, f32(rng.normal(size=(4, 5))))
    with pytest.raises(ValueError, match="temperature"):
        multiple_negatives_ranking(anchors, anchors, temperature=0.0)
    with pytest.raises(ValueError):
        multiple_negatives_ranking(anchors, f32(rng.normal(size=(3, 8))))
