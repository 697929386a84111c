"""The margin (pair) contrastive loss of Hadsell, Chopra and LeCun (2006)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.distribute.cross_replica import all_gather_batch, all_gather_pairs
from keras_contrastive.losses.pair_loss import PairLoss
from keras_contrastive.validation import check_embedding_pair, check_labels, check_non_negative


def pairwise_squared_distances(embeddings: tf.Tensor) -> tf.Tensor:
    """Squared Euclidean distances between all rows: float32 `(N, N)`.

    Computed as `|a|^2 - 2 a.b + |b|^2` (memory `N x N`, not `N x N x D`),
    clipped at 0 against rounding, with an exact zero diagonal.
    """
    embeddings = tf.cast(embeddings, tf.float32)
    squared_norms = tf.reduce_sum(tf.square(embeddings), axis=1)
    squared = (
        squared_norms[:, None]
        - 2.0 * tf.matmul(embeddings, embeddings, transpose_b=True)
        + squared_norms[None, :]
    )
    squared = tf.maximum(squared, 0.0)
    return tf.linalg.set_diag(squared, tf.zeros_like(squared_norms))


def safe_sqrt(squared: tf.Tensor) -> tf.Tensor:
    """`sqrt` of a non-negative tensor whose gradient is 0, not inf, at 0."""
    positive = squared > 0.0
    return tf.where(positive, tf.sqrt(tf.where(positive, squared, 1.0)), 0.0)


def pair_margin(z_a: tf.Tensor, z_b: tf.Tensor, labels: tf.Tensor, margin: float = 1.0) -> tf.Tensor:
    """The margin contrastive loss over all unordered pairs of the 2N embeddings of both views.

    Row `i` of `z_a` and row `i` of `z_b` share the label `labels[i]` (pass
    `tf.range(N)` to make the two views of an example its only similar
    pair). With `d` the Euclidean distance of the embeddings as given (no
    normalisation), a pair with the same label contributes `d^2 / 2` and a
    pair with different labels `max(0, margin - d)^2 / 2`; the loss is the
    mean over the 2N (2N - 1) / 2 pairs. Computed in float32 whatever the
    input dtype. Under a `tf.distribute` strategy the pairs are those of the
    global batch (`kc.distribute.all_gather_pairs`): every replica's loss is
    the single-device loss on the global batch. At distance 0 a dissimilar
    pair's gradient is 0 (the direction to push apart is undefined there),
    never NaN.

    Args:
        z_a: `(N, D)` embeddings of the first views, N >= 1.
        z_b: `(N, D)` embeddings of the second views.
        labels: `(N,)` integer class labels of the examples.
        margin: Distance beyond which dissimilar pairs cost nothing, >= 0.

    Returns:
        A float32 scalar.

    Example:
    >>> z_a, z_b = tf.random.normal((4, 8)), tf.random.normal((4, 8))
    >>> loss = pair_margin(z_a, z_b, tf.constant([0, 0, 1, 2]), margin=2.0)
    """
    margin = check_non_negative(margin, "margin")
    z_a, z_b = check_embedding_pair(
        z_a, z_b, min_batch=1, requirement="The pair margin loss needs a batch of at least 1 example"
    )
    labels = check_labels(labels, z_a, "The pair margin loss")
    global_a, global_b, _ = all_gather_pairs(tf.cast(z_a, tf.float32), tf.cast(z_b, tf.float32))
    global_labels, _ = all_gather_batch(labels)
    labels = tf.concat([global_labels, global_labels], axis=0)
    squared = pairwise_squared_distances(tf.concat([global_a, global_b], axis=0))
    similar = tf.equal(labels[:, None], labels[None, :])
    per_pair = tf.where(similar, 0.5 * squared, 0.5 * tf.square(tf.nn.relu(margin - safe_sqrt(squared))))
    upper = tf.linalg.band_part(tf.ones_like(squared), 0, -1) - tf.eye(tf.shape(squared)[0])
    return tf.reduce_sum(per_pair * upper) / tf.reduce_sum(upper)


@keras.saving.register_keras_serializable(package="keras_contrastive")
class PairMarginLoss(PairLoss):
    """The margin contrastive loss as a Keras loss: `PairMarginLoss()(labels, features)`.

    `y_true` is the `(N,)` integer labels, `y_pred` the two views' embeddings
    stacked `(N, 2, D)` (see `PairLoss`); the result equals
    `pair_margin(features[:, 0], features[:, 1], labels, margin)`. A mean
    over pairs, not examples: no `sample_weight`.

    Args:
        margin: Distance beyond which dissimilar pairs cost nothing, >= 0.
        name: The loss's name.
        **kwargs: `reduction` and `dtype`, as in `keras.losses.Loss`.

    Example:
    >>> value = PairMarginLoss(1.0)(tf.constant([0, 0, 1, 1]), tf.random.normal((4, 2, 8)))
    """

    def __init__(self, margin: float = 1.0, name: str = "pair_margin", **kwargs):
        super().__init__(
            pair_margin, name, per_example=False, uses_labels=True,
            margin=check_non_negative(margin, "margin"), **kwargs,
        )
