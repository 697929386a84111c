"""Negative cosine similarity between predictions and targets (SimSiam)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.pair_loss import PairLoss
from keras_contrastive.validation import check_embedding_pair


def paired_cosine_similarity(predictions: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Cosine similarity of each row of `predictions` with the same row of `targets`.

    Args:
        predictions: `(N, D)`, any float dtype; computed in float32.
        targets: `(N, D)`, same shape.

    Returns:
        Float32 `(N,)`. A zero row has similarity 0 with anything.
    """
    predictions, targets = check_embedding_pair(
        predictions,
        targets,
        min_batch=1,
        requirement="Predictions and targets need at least one row",
    )
    predictions = tf.math.l2_normalize(tf.cast(predictions, tf.float32), axis=1)
    targets = tf.math.l2_normalize(tf.cast(targets, tf.float32), axis=1)
    return tf.reduce_sum(predictions * targets, axis=1)


def negative_cosine(predictions: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Minus the mean cosine similarity of paired rows: SimSiam's loss for one side.

    Pure: gradients flow into both arguments. SimSiam stops the gradient of
    the targets itself, before calling this.

    Args:
        predictions: `(N, D)` predictor outputs, N >= 1. Any float dtype.
        targets: `(N, D)` projections of the other view, same shape.

    Returns:
        A float32 scalar in [-1, 1].

    Example:
    >>> p = tf.random.normal((8, 16))
    >>> round(float(negative_cosine(p, 2.0 * p)), 4)
    -1.0
    """
    return -tf.reduce_mean(paired_cosine_similarity(predictions, targets))


def negative_cosine_per_example(predictions: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Minus the cosine similarity of each row pair: float32 `(N,)`. Args as in `negative_cosine`."""
    return -paired_cosine_similarity(predictions, targets)


@keras.saving.register_keras_serializable(package="keras_contrastive")
class NegativeCosine(PairLoss):
    """Negative cosine similarity as a Keras loss: predictions `y_pred[:, 0]`, targets `y_pred[:, 1]`.

    `y_pred` is `(N, 2, D)`, `y_true` is ignored (see `PairLoss`); the result
    equals `negative_cosine(predictions, targets)`.

    Args:
        name: The loss's name.
        **kwargs: `reduction` and `dtype`, as in `keras.losses.Loss`.

    Example:
    >>> value = NegativeCosine()(None, tf.random.normal((4, 2, 8)))
    """

    def __init__(self, name: str = "negative_cosine", **kwargs):
        super().__init__(negative_cosine_per_example, name, per_example=True, uses_labels=False, **kwargs)
