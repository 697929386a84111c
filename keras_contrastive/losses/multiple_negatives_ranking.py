"""The multiple-negatives ranking loss: each anchor against every positive of the batch and every hard negative."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.distribute.cross_replica import all_gather_batch
from keras_contrastive.losses.info_nce import info_nce_and_accuracy, info_nce_per_anchor
from keras_contrastive.losses.pair_loss import PairLoss
from keras_contrastive.validation import check_optional_positive_int, check_positive


def _gathered_hard_negatives(anchors: tf.Tensor, hard_negatives: tf.Tensor | None) -> tf.Tensor | None:
    """Every replica's hard negatives, in replica order, as float32 `(M, D)` (this replica's alone on one device)."""
    if hard_negatives is None:
        return None
    hard_negatives = tf.convert_to_tensor(hard_negatives)
    dim = tf.TensorShape(getattr(anchors, "shape", None))[1:]
    if hard_negatives.shape.rank != 2 or not hard_negatives.shape[1:].is_compatible_with(dim):
        raise ValueError(
            "hard_negatives must be a (M, dim) batch with the anchors' dim "
            f"{dim[0] if dim.rank else '?'}, got shape {tuple(hard_negatives.shape)}."
        )
    return all_gather_batch(tf.cast(hard_negatives, tf.float32))[0]


def multiple_negatives_ranking_per_anchor(
    anchors: tf.Tensor,
    positives: tf.Tensor,
    hard_negatives: tf.Tensor | None = None,
    temperature: float = 0.05,
    block_size: int | None = None,
) -> tf.Tensor:
    """The loss of each of the N anchors: float32 `(N,)`. Args as in `multiple_negatives_ranking`."""
    return info_nce_per_anchor(
        anchors, positives, _gathered_hard_negatives(anchors, hard_negatives),
        check_positive(temperature, "temperature"), block_size,
    )


def multiple_negatives_ranking_and_accuracy(
    anchors: tf.Tensor,
    positives: tf.Tensor,
    hard_negatives: tf.Tensor | None = None,
    temperature: float = 0.05,
    block_size: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """The loss and how often an anchor's own positive is its most similar candidate.

    Returns:
        A tuple of float32 scalars `(loss, accuracy)`. Args as in `multiple_negatives_ranking`.
    """
    return info_nce_and_accuracy(
        anchors, positives, _gathered_hard_negatives(anchors, hard_negatives),
        check_positive(temperature, "temperature"), block_size,
    )


def multiple_negatives_ranking(
    anchors: tf.Tensor,
    positives: tf.Tensor,
    hard_negatives: tf.Tensor | None = None,
    temperature: float = 0.05,
    block_size: int | None = None,
) -> tf.Tensor:
    """The multiple-negatives ranking loss of SimCSE and sentence-transformers, the mean over anchors.

    For anchor `i`: the cross-entropy of its cosine similarities to the N
    positives of the batch and then to the M hard negatives, all divided by
    `temperature`, the target being positive `i`. The other positives are
    in-batch negatives; a hard negative (a sentence close to the anchor but
    not a paraphrase, as an entailment set's contradictions) is a negative
    for every anchor, not only its own. Inside `strategy.run` with several
    replicas the positives and the hard negatives of all replicas are
    candidates, as on one device given the global batch, and gradients reach
    the replica that owns each row (see `kc.distribute.all_gather_batch`).

    This is InfoNCE (`kc.losses.info_nce`) with the hard negatives gathered
    across replicas, and sentence-transformers' `MultipleNegativesRankingLoss`
    with `scale = 1 / temperature` (its default scale 20 is temperature 0.05).

    Args:
        anchors: `(N, D)` embeddings of the anchors (the first sentence of each pair).
        positives: `(N, D)`, row `i` the positive of anchor `i`.
        hard_negatives: Optional `(M, D)` embeddings of hard negatives, usually
            one per anchor (M = N).
        temperature: A positive number; SimCSE's 0.05 by default.
        block_size: None for the full similarity matrix, or the number of
            candidate columns per block (see `kc.losses.blockwise`).

    Returns:
        A float32 scalar.

    Example:
    >>> anchors = tf.random.normal((8, 32))
    >>> loss = multiple_negatives_ranking(anchors, anchors + 0.1, tf.random.normal((8, 32)))
    """
    return tf.reduce_mean(multiple_negatives_ranking_per_anchor(anchors, positives, hard_negatives, temperature,
                                                                block_size))


@keras.saving.register_keras_serializable(package="keras_contrastive")
class MultipleNegativesRankingLoss(PairLoss):
    """The multiple-negatives ranking loss as a Keras loss: anchors `y_pred[:, 0]`, positives `y_pred[:, 1]`.

    `y_pred` is `(N, 2, D)`, `y_true` is ignored (see `PairLoss`); the loss of
    an example is its anchor's, as `multiple_negatives_ranking` without hard
    negatives.

    Args:
        temperature: A positive number.
        block_size: None for the full similarity matrix, or candidate columns per block.
        name: The loss's name.
        **kwargs: `reduction` and `dtype`, as in `keras.losses.Loss`.

    Example:
    >>> value = MultipleNegativesRankingLoss()(None, tf.random.normal((4, 2, 8)))
    """

    def __init__(self, temperature: float = 0.05, block_size: int | None = None,
                 name: str = "multiple_negatives_ranking", **kwargs):
        super().__init__(
            multiple_negatives_ranking_per_anchor, name, per_example=True, uses_labels=False,
            temperature=check_positive(temperature, "temperature"),
            block_size=check_optional_positive_int(block_size, "block_size"), **kwargs,
        )
