"""The triplet margin loss with in-batch mining (batch-all, batch-hard, semi-hard)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.pair_loss import PairLoss
from keras_contrastive.losses.pair_margin import pairwise_squared_distances, safe_sqrt
from keras_contrastive.validation import check_choice, check_embedding_pair, check_labels, check_non_negative

#: The ways `triplet_margin` can choose its triplets.
MINING_STRATEGIES = ("batch_all", "batch_hard", "semi_hard")


def triplet_margin(
    z_a: tf.Tensor,
    z_b: tf.Tensor,
    labels: tf.Tensor,
    margin: float = 0.2,
    mining: str = "semi_hard",
) -> tf.Tensor:
    """The triplet margin loss `relu(d(a, p) - d(a, n) + margin)` over triplets mined in the batch.

    The embeddings mined are the 2N rows of both views; row `i` of `z_a` and
    row `i` of `z_b` share the label `labels[i]` (pass `tf.range(N)` to make
    the two views of an example its only positives). Distances are
    Euclidean between the embeddings as given (normalise them first for
    cosine geometry). A triplet `(a, p, n)` is valid when `a != p`, `p` has
    the anchor's label and `n` does not. Mining:

    - "batch_all": the sum over all valid triplets divided by the number of
      them whose loss is positive (Hermans et al., 2017).
    - "batch_hard": for each anchor, its farthest positive and nearest
      negative; averaged over anchors having at least one of each.
    - "semi_hard" (FaceNet, as in TensorFlow Addons): for each
      anchor-positive pair, the nearest negative farther than the positive,
      or the farthest negative if none is; averaged over the
      anchor-positive pairs whose anchor has at least one negative.

    A batch without a valid triplet (all labels the same) gives 0, not an
    error. Memory grows as N^3 for "batch_all" and "semi_hard", N^2 for
    "batch_hard". Computed in float32 whatever the input dtype; the gradient
    stays finite at distance 0. Under a `tf.distribute` strategy each
    replica mines its own batch: gathering the global batch would give every
    replica the global batch's N^3 triplets. The defaults (margin 0.2,
    semi-hard mining) are FaceNet's and `kc.methods.Triplet`'s.

    Args:
        z_a: `(N, D)` embeddings of the first views, N >= 1.
        z_b: `(N, D)` embeddings of the second views.
        labels: `(N,)` integer class labels of the examples.
        margin: The margin, >= 0.
        mining: One of `MINING_STRATEGIES`.

    Returns:
        A float32 scalar.

    Example:
    >>> z_a, z_b = tf.random.normal((4, 8)), tf.random.normal((4, 8))
    >>> loss = triplet_margin(z_a, z_b, tf.constant([0, 0, 1, 2]), margin=0.2, mining="semi_hard")
    """
    margin = check_non_negative(margin, "margin")
    check_choice(mining, "mining", MINING_STRATEGIES)
    z_a, z_b = check_embedding_pair(
        z_a, z_b, min_batch=1, requirement="The triplet loss needs a batch of at least 1 example"
    )
    labels = check_labels(labels, z_a, "The triplet loss")
    labels = tf.concat([labels, labels], axis=0)
    distances = safe_sqrt(pairwise_squared_distances(tf.concat([z_a, z_b], axis=0)))
    same_label = tf.equal(labels[:, None], labels[None, :])
    positive = tf.logical_and(same_label, tf.logical_not(tf.eye(tf.shape(labels)[0], dtype=tf.bool)))
    negative = tf.logical_not(same_label)
    if mining == "batch_all":
        return _batch_all(distances, positive, negative, margin)
    if mining == "batch_hard":
        return _batch_hard(distances, positive, negative, margin)
    return _semi_hard(distances, positive, negative, margin)


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
class TripletMarginLoss(PairLoss):
    """The mined triplet margin loss as a Keras loss: `TripletMarginLoss()(labels, features)`.

    `y_true` is the `(N,)` integer labels, `y_pred` the two views' embeddings
    stacked `(N, 2, D)` (see `PairLoss`); the result equals
    `triplet_margin(features[:, 0], features[:, 1], labels, margin, mining)`.
    Mining makes it a loss of the whole batch: no `sample_weight`.

    Args:
        margin: The margin, >= 0.
        mining: One of "batch_all", "batch_hard", "semi_hard".
        name: The loss's name.
        **kwargs: `reduction` and `dtype`, as in `keras.losses.Loss`.

    Example:
    >>> loss = TripletMarginLoss(margin=0.5, mining="batch_all")
    >>> value = loss(tf.constant([0, 0, 1, 1]), tf.random.normal((4, 2, 8)))
    """

    def __init__(self, margin: float = 0.2, mining: str = "semi_hard", name: str = "triplet_margin", **kwargs):
        super().__init__(
            triplet_margin, name, per_example=False, uses_labels=True,
            margin=check_non_negative(margin, "margin"),
            mining=check_choice(mining, "mining", MINING_STRATEGIES), **kwargs,
        )
