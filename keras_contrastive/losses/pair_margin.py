"""The margin (pair) contrastive loss of Hadsell, Chopra and LeCun (2006)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.cross_replica import all_gather_batch
from keras_contrastive.losses.validation import (
    check_embeddings,
    check_labels,
    check_non_negative,
    labels_from_keras,
)


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


def pair_margin(
    embeddings: tf.Tensor, labels: tf.Tensor, margin: float = 1.0
) -> tf.Tensor:
    """The margin contrastive loss over all unordered pairs of a labelled batch.

    With `d` the Euclidean distance of the embeddings as given (no
    normalisation), a pair with the same label contributes `d^2 / 2` and a
    pair with different labels `max(0, margin - d)^2 / 2`; the loss is the
    mean over the N (N - 1) / 2 pairs. Computed in float32 whatever the
    input dtype. Under a `tf.distribute` strategy the pairs are those of the
    global batch (`all_gather_batch`): every replica's loss is the
    single-device loss on the global batch. At distance 0 a dissimilar pair's gradient is 0 (the
    direction to push apart is undefined there), never NaN.

    Args:
        embeddings: `(N, D)` embeddings, N >= 2.
        labels: `(N,)` integer class labels.
        margin: Distance beyond which dissimilar pairs cost nothing, >= 0.

    Returns:
        A float32 scalar.

    Example:
    >>> embeddings = tf.random.normal((8, 4))
    >>> loss = pair_margin(embeddings, tf.constant([0, 0, 1, 1, 2, 2, 3, 3]), margin=2.0)
    """
    check_non_negative(margin, "margin")
    embeddings = tf.convert_to_tensor(embeddings)
    check_embeddings(
        embeddings,
        min_batch=2,
        requirement="The pair margin loss needs a batch of at least 2 embeddings",
    )
    labels = check_labels(labels, embeddings, "The pair margin loss")
    embeddings, _ = all_gather_batch(tf.cast(embeddings, tf.float32))
    labels, _ = all_gather_batch(labels)
    squared = pairwise_squared_distances(embeddings)
    similar = tf.equal(labels[:, None], labels[None, :])
    per_pair = tf.where(
        similar,
        0.5 * squared,
        0.5 * tf.square(tf.nn.relu(margin - safe_sqrt(squared))),
    )
    upper = tf.linalg.band_part(tf.ones_like(squared), 0, -1) - tf.eye(tf.shape(squared)[0])
    return tf.reduce_sum(per_pair * upper) / tf.reduce_sum(upper)


@keras.saving.register_keras_serializable(package="keras_contrastive")
class PairMarginLoss(keras.losses.Loss):
    """The margin contrastive loss as a serialisable Keras loss.

    Called as `loss(labels, embeddings)` (Keras's `y_true`, `y_pred`). Keras
    casts `y_true` to float32 before `call`; the labels are cast back and
    must be whole numbers. The result equals `pair_margin(embeddings,
    labels, margin)`.

    Args:
        margin: Distance beyond which dissimilar pairs cost nothing, >= 0.
        name: The loss's name.

    Example:
    >>> value = PairMarginLoss(1.0)(tf.constant([0, 0, 1, 1]), tf.random.normal((4, 8)))
    """

    def __init__(self, margin: float = 1.0, name: str = "pair_margin", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(name=name, **kwargs)
        check_non_negative(margin, "margin")
        self.margin = float(margin)

    def call(self, labels, embeddings):
        return pair_margin(embeddings, labels_from_keras(labels), self.margin)

    def get_config(self) -> dict:
        config = super().get_config()
        config["margin"] = self.margin
        return config
