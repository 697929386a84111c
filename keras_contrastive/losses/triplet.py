"""The triplet margin loss with in-batch mining (batch-all, batch-hard, semi-hard)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.pair_margin import pairwise_squared_distances, safe_sqrt
from keras_contrastive.losses.validation import (
    check_embeddings,
    check_labels,
    check_non_negative,
    labels_from_keras,
)

#: The ways `triplet_margin` can choose its triplets.
MINING_STRATEGIES = ("batch_all", "batch_hard", "semi_hard")


def triplet_margin(
    embeddings: tf.Tensor,
    labels: tf.Tensor,
    margin: float = 0.5,
    mining: str = "batch_hard",
) -> tf.Tensor:
    """The triplet margin loss `relu(d(a, p) - d(a, n) + margin)` over mined triplets.

    Distances are Euclidean between the embeddings as given (normalise them
    first for cosine geometry). A triplet `(a, p, n)` is valid when `a != p`,
    `p` has the anchor's label and `n` does not. Mining:

    - "batch_all": the sum over all valid triplets divided by the number of
      them whose loss is positive (Hermans et al., 2017).
    - "batch_hard": for each anchor, its farthest positive and nearest
      negative; averaged over anchors having at least one of each.
    - "semi_hard" (FaceNet, as in TensorFlow Addons): for each
      anchor-positive pair, the nearest negative farther than the positive,
      or the farthest negative if none is; averaged over the
      anchor-positive pairs whose anchor has at least one negative.

    A batch without a valid triplet (every label distinct, or all the same)
    gives 0, not an error. Memory grows as N^3 for "batch_all" and
    "semi_hard", N^2 for "batch_hard". Computed in float32 whatever the
    input dtype; the gradient stays finite at distance 0. Under a
    `tf.distribute` strategy each replica mines its own batch: gathering the
    global batch would give every replica the global batch's N^3 triplets.

    Args:
        embeddings: `(N, D)` embeddings, N >= 2.
        labels: `(N,)` integer class labels.
        margin: The margin, >= 0.
        mining: One of `MINING_STRATEGIES`.

    Returns:
        A float32 scalar.

    Example:
    >>> embeddings = tf.random.normal((8, 4))
    >>> loss = triplet_margin(embeddings, tf.constant([0, 0, 1, 1, 2, 2, 3, 3]),
    ...                       margin=0.5, mining="semi_hard")
    """
    check_non_negative(margin, "margin")
    check_mining(mining)
    embeddings = tf.convert_to_tensor(embeddings)
    check_embeddings(
        embeddings,
        min_batch=2,
        requirement="The triplet loss needs a batch of at least 2 embeddings",
    )
    labels = check_labels(labels, embeddings, "The triplet loss")
    distances = safe_sqrt(pairwise_squared_distances(embeddings))
    same_label = tf.equal(labels[:, None], labels[None, :])
    positive = tf.logical_and(
        same_label, tf.logical_not(tf.eye(tf.shape(labels)[0], dtype=tf.bool))
    )
    negative = tf.logical_not(same_label)
    if mining == "batch_all":
        return _batch_all(distances, positive, negative, margin)
    if mining == "batch_hard":
        return _batch_hard(distances, positive, negative, margin)
    return _semi_hard(distances, positive, negative, margin)


def check_mining(mining: str) -> None:
    """Raises ValueError unless `mining` is one of `MINING_STRATEGIES`."""
    if mining not in MINING_STRATEGIES:
        raise ValueError(
            f"mining must be one of {', '.join(MINING_STRATEGIES)}; got {mining!r}."
        )


def _batch_all(distances, positive, negative, margin):
    # Entry [a, p, n] is the loss of the triplet (a, p, n).
    losses = tf.nn.relu(distances[:, :, None] - distances[:, None, :] + margin)
    valid = tf.logical_and(positive[:, :, None], negative[:, None, :])
    losses = tf.where(valid, losses, 0.0)
    active = tf.reduce_sum(tf.cast(losses > 0.0, tf.float32))
    return tf.math.divide_no_nan(tf.reduce_sum(losses), active)


def _batch_hard(distances, positive, negative, margin):
    hardest_positive = tf.reduce_max(tf.where(positive, distances, 0.0), axis=1)
    hardest_negative = tf.reduce_min(
        tf.where(negative, distances, tf.reduce_max(distances)), axis=1
    )
    counted = tf.logical_and(
        tf.reduce_any(positive, axis=1), tf.reduce_any(negative, axis=1)
    )
    losses = tf.where(
        counted, tf.nn.relu(hardest_positive - hardest_negative + margin), 0.0
    )
    return tf.math.divide_no_nan(
        tf.reduce_sum(losses), tf.reduce_sum(tf.cast(counted, tf.float32))
    )


def _semi_hard(distances, positive, negative, margin):
    # Entry [a, p, n]: whether n is a negative of a farther from a than p is.
    negative_distances = distances[:, None, :]
    farther = tf.logical_and(
        negative[:, None, :], negative_distances > distances[:, :, None]
    )
    nearest_farther = tf.reduce_min(
        tf.where(farther, negative_distances, tf.reduce_max(distances)), axis=2
    )
    farthest = tf.reduce_max(tf.where(negative, distances, 0.0), axis=1)
    selected = tf.where(
        tf.reduce_any(farther, axis=2), nearest_farther, farthest[:, None]
    )
    counted = tf.logical_and(positive, tf.reduce_any(negative, axis=1)[:, None])
    losses = tf.where(counted, tf.nn.relu(distances - selected + margin), 0.0)
    return tf.math.divide_no_nan(
        tf.reduce_sum(losses), tf.reduce_sum(tf.cast(counted, tf.float32))
    )


@keras.saving.register_keras_serializable(package="keras_contrastive")
class TripletMarginLoss(keras.losses.Loss):
    """The mined triplet margin loss as a serialisable Keras loss.

    Called as `loss(labels, embeddings)` (Keras's `y_true`, `y_pred`). Keras
    casts `y_true` to float32 before `call`; the labels are cast back and
    must be whole numbers. The result equals `triplet_margin(embeddings,
    labels, margin, mining)`.

    Args:
        margin: The margin, >= 0.
        mining: One of "batch_all", "batch_hard", "semi_hard".
        name: The loss's name.

    Example:
    >>> loss = TripletMarginLoss(margin=0.5, mining="batch_all")
    >>> value = loss(tf.constant([0, 0, 1, 1]), tf.random.normal((4, 8)))
    """

    def __init__(
        self,
        margin: float = 0.5,
        mining: str = "batch_hard",
        name: str = "triplet_margin",
        **kwargs,
    ):
        kwargs.setdefault("dtype", "float32")
        super().__init__(name=name, **kwargs)
        check_non_negative(margin, "margin")
        check_mining(mining)
        self.margin = float(margin)
        self.mining = mining

    def call(self, labels, embeddings):
        return triplet_margin(
            embeddings, labels_from_keras(labels), self.margin, self.mining
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(margin=self.margin, mining=self.mining)
        return config
