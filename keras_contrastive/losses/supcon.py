"""SupCon, the supervised contrastive loss of Khosla et al. (2020)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.distribute.cross_replica import all_gather_batch, all_gather_pairs
from keras_contrastive.losses import gram_blockwise
from keras_contrastive.losses.blockwise import streaming_logsumexp
from keras_contrastive.losses.pair_loss import PairLoss
from keras_contrastive.validation import check_labels, check_optional_positive_int, check_positive, check_view_pair


def supcon_per_anchor(
    features_a: tf.Tensor,
    features_b: tf.Tensor,
    labels: tf.Tensor,
    temperature: float = 0.1,
    block_size: int | None = None,
) -> tf.Tensor:
    """SupCon of each of the 2N anchors: float32 `(2N,)`, view a's anchors first. Args as in `supcon`."""
    block_size = check_optional_positive_int(block_size, "block_size")
    temperature = check_positive(temperature, "temperature")
    features_a, features_b = check_view_pair(features_a, features_b)
    labels = check_labels(labels, features_a, "SupCon")
    z_a = tf.math.l2_normalize(tf.cast(features_a, tf.float32), axis=1)
    z_b = tf.math.l2_normalize(tf.cast(features_b, tf.float32), axis=1)
    global_a, global_b, start = all_gather_pairs(z_a, z_b)
    global_labels, _ = all_gather_batch(labels)
    global_n = tf.shape(global_a)[0]
    own = start + tf.range(tf.shape(z_a)[0])
    anchors = tf.concat([z_a, z_b], axis=0)
    candidates = tf.concat([global_a, global_b], axis=0)
    selves = tf.concat([own, own + global_n], axis=0)
    candidate_labels = tf.concat([global_labels, global_labels], axis=0)
    if block_size is not None:
        return _blockwise_per_anchor(anchors, candidates, candidate_labels, selves, temperature, block_size)
    logits = tf.matmul(anchors, candidates, transpose_b=True) / temperature
    is_self = tf.cast(tf.one_hot(selves, 2 * global_n), tf.bool)
    # -inf drops the anchor from its own denominator with zero gradient.
    log_denominators = tf.reduce_logsumexp(tf.where(is_self, -float("inf"), logits), axis=1, keepdims=True)
    anchor_labels = tf.concat([labels, labels], axis=0)
    positives = tf.logical_and(
        tf.equal(anchor_labels[:, None], candidate_labels[None, :]), tf.logical_not(is_self)
    )
    log_probabilities = tf.where(positives, logits - log_denominators, 0.0)
    return -tf.reduce_sum(log_probabilities, axis=1) / tf.reduce_sum(tf.cast(positives, tf.float32), axis=1)


def _blockwise_per_anchor(anchors, candidates, candidate_labels, selves, temperature, block_size: int) -> tf.Tensor:
    """SupCon of each anchor without the `(2n, 2N)` matrix: a streaming denominator, and positives by class.

    The denominator is the log-sum-exp over every candidate but the anchor
    itself: on one device, where the anchors are the candidates, a pair of
    square tiles at a time (`kc.losses.gram_blockwise`) where the
    temperature allows, else `kc.losses.blockwise.streaming_logsumexp`. The mean logit of the positives is the
    anchor's dot product with the sum of its class's candidates less itself,
    over their count less one: `O(N x D)`, however many positives.
    """
    rows = anchors / temperature
    if gram_blockwise.fits(temperature):
        log_denominators = gram_blockwise.gram_logsumexp(anchors, 1.0 / temperature, block_size)
    else:
        log_denominators, _ = streaming_logsumexp(rows, candidates, block_size, excluded=selves)
    classes, class_of = tf.unique(candidate_labels)
    sums = tf.math.unsorted_segment_sum(candidates, class_of, tf.size(classes))
    counts = tf.math.unsorted_segment_sum(tf.ones_like(class_of, tf.float32), class_of, tf.size(classes))
    anchor_class = tf.gather(class_of, selves)
    positive_sums = tf.gather(sums, anchor_class) - tf.gather(candidates, selves)
    mean_positive_logits = tf.reduce_sum(rows * positive_sums, axis=1) / (tf.gather(counts, anchor_class) - 1.0)
    return log_denominators - mean_positive_logits


def supcon_per_example(
    features_a: tf.Tensor,
    features_b: tf.Tensor,
    labels: tf.Tensor,
    temperature: float = 0.1,
    block_size: int | None = None,
) -> tf.Tensor:
    """The mean of each example's two anchors' SupCon: float32 `(N,)`. Args as in `supcon`."""
    per_anchor = supcon_per_anchor(features_a, features_b, labels, temperature, block_size)
    return tf.reduce_mean(tf.reshape(per_anchor, (2, -1)), axis=0)


def supcon(
    features_a: tf.Tensor,
    features_b: tf.Tensor,
    labels: tf.Tensor,
    temperature: float = 0.1,
    block_size: int | None = None,
) -> tf.Tensor:
    """The supervised contrastive loss L_out, the mean over all 2N anchors.

    The 2N features of both views are L2-normalised. Every other feature
    with the anchor's label is a positive (its own other view always is);
    for anchor `i` with positives `P(i)`,
    `loss_i = -1/|P(i)| sum_{p in P(i)} log(exp(s_ip / T) / sum_{a != i} exp(s_ia / T))`.
    With all labels distinct this is NT-Xent. This is the paper's equation;
    the reference code also multiplies the loss by `T / 0.07` (its
    `base_temperature`), which scales the loss and its gradient (by 1.43 at
    T = 0.1): the same steps under Adam, larger ones under SGD or LARS.
    Computed in float32 whatever the input dtype. Inside `strategy.run` of a
    `tf.distribute` strategy with several replicas, the positives and the
    denominators range over the global batch (features and labels are
    gathered as in `nt_xent`) and each replica returns the mean over its own
    2n anchors.

    With `block_size`, the `(2N, 2N)` similarity matrix is never held: the
    denominators stream over blocks of `block_size` candidate columns, with
    the gradient recomputed block by block (see `kc.losses.blockwise`), and
    the positives' mean logit comes from per-class sums of the features; the
    value and gradient are the full matrix's, in `O(N x block_size)` memory.

    Args:
        features_a: `(N, D)` projections of the first views, N >= 2.
        features_b: `(N, D)` projections of the second views, same shape.
        labels: `(N,)` integer class labels, shared by both views; any
            integer dtype (they are compared, never cast).
        temperature: A positive number.
        block_size: None for the full matrix, or the number of candidate
            columns per block, a positive int.

    Returns:
        A float32 scalar.

    Raises:
        ValueError: if `labels` is None, not integer or not `(N,)`.

    Example:
    >>> z_a, z_b = tf.random.normal((8, 16)), tf.random.normal((8, 16))
    >>> loss = supcon(z_a, z_b, tf.constant([0, 1, 0, 1, 2, 2, 3, 3]), 0.1)
    >>> blockwise = supcon(z_a, z_b, tf.constant([0, 1, 0, 1, 2, 2, 3, 3]), 0.1, block_size=4)
    """
    return tf.reduce_mean(supcon_per_anchor(features_a, features_b, labels, temperature, block_size))


@keras.saving.register_keras_serializable(package="keras_contrastive")
class SupConLoss(PairLoss):
    """SupCon as a Keras loss: `SupConLoss(0.1)(labels, features)`, features stacked `(N, 2, D)`.

    `y_true` is the `(N,)` integer labels (whole numbers after Keras's cast
    to float32); see `PairLoss`. The loss of an example is the mean of its
    two anchors' losses, so the default reduction gives `supcon`.

    Args:
        temperature: A positive number.
        block_size: None for the full similarity matrix, or candidate
            columns per block (see `supcon`).
        name: The loss's name.
        **kwargs: `reduction` and `dtype`, as in `keras.losses.Loss`.

    Example:
    >>> value = SupConLoss(0.1)(tf.constant([0, 1, 0, 1]), tf.random.normal((4, 2, 8)))
    """

    def __init__(self, temperature: float = 0.1, block_size: int | None = None, name: str = "supcon", **kwargs):
        super().__init__(
            supcon_per_example, name, per_example=True, uses_labels=True,
            temperature=check_positive(temperature, "temperature"),
            block_size=check_optional_positive_int(block_size, "block_size"), **kwargs,
        )
