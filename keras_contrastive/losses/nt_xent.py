"""NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.distribute.cross_replica import all_gather_pairs
from keras_contrastive.losses import gram_blockwise
from keras_contrastive.losses.blockwise import blockwise_cross_entropy
from keras_contrastive.losses.pair_loss import PairLoss
from keras_contrastive.validation import check_optional_positive_int, check_positive, check_view_pair

# Added to an anchor's similarity with itself so that softmax gives it zero
# weight; finite (unlike -inf) so that no NaN can appear in any gradient.
_SELF_SIMILARITY_OFFSET = 1e9


def nt_xent_logits(z_a: tf.Tensor, z_b: tf.Tensor, temperature: float = 0.1) -> tuple[tf.Tensor, tf.Tensor]:
    """The logits of NT-Xent and the index of each anchor's positive.

    The anchors are the 2N embeddings, views `a` first, then views `b`. Row
    `i` holds the cosine similarities of anchor `i` with all 2N embeddings
    (in the same order) divided by `temperature`, with the anchor's
    similarity to itself pushed out of the softmax. The positive of anchor
    `i < N` is `i + N` and that of `i >= N` is `i - N`.

    Inside `strategy.run` of a `tf.distribute` strategy with several
    replicas, the candidates are the global batch: the columns are the views
    `a` of all replicas, in replica order, then their views `b`, exactly as
    on one device given the concatenated global batch. The rows are this
    replica's 2n anchors (its `a`, then its `b`), and the positives index
    the global columns. Gradients reach the replica that owns each row (see
    `kc.distribute.all_gather_pairs`).

    Args:
        z_a: `(N, D)` embeddings of the first views. Any float dtype; the
            computation is done in float32 after L2 normalisation.
        z_b: `(N, D)` embeddings of the second views, row `i` the same
            example as row `i` of `z_a`.
        temperature: A positive number or scalar tensor.

    Returns:
        A tuple `(logits, positives)`: float32 `(2n, 2N)` and int32 `(2n,)`,
        where n = N on one device and n is the replica's batch size under a
        strategy with N the global batch size.
    """
    anchors, candidates, selves, positives, temperature = _anchors_and_candidates(z_a, z_b, temperature)
    logits = tf.matmul(anchors, candidates, transpose_b=True) / temperature
    logits -= _SELF_SIMILARITY_OFFSET * tf.one_hot(selves, tf.shape(candidates)[0], dtype=tf.float32)
    return logits, positives


def _anchors_and_candidates(z_a, z_b, temperature):
    """The checked, normalised anchors and (gathered) candidates, each anchor's own column and its positive.

    Returns:
        `(anchors (2n, D), candidates (2N, D), selves (2n,), positives (2n,),
        temperature)`, as `nt_xent_logits` describes them.
    """
    temperature = check_positive(temperature, "temperature")
    z_a, z_b = check_view_pair(z_a, z_b)
    z_a = tf.math.l2_normalize(tf.cast(z_a, tf.float32), axis=1)
    z_b = tf.math.l2_normalize(tf.cast(z_b, tf.float32), axis=1)
    global_a, global_b, start = all_gather_pairs(z_a, z_b)
    global_n = tf.shape(global_a)[0]
    own = start + tf.range(tf.shape(z_a)[0])
    anchors = tf.concat([z_a, z_b], axis=0)
    candidates = tf.concat([global_a, global_b], axis=0)
    selves = tf.concat([own, own + global_n], axis=0)
    positives = tf.concat([own + global_n, own], axis=0)
    return anchors, candidates, selves, positives, temperature


def _losses_and_hits(z_a, z_b, temperature, block_size) -> tuple[tf.Tensor, tf.Tensor]:
    """Each anchor's NT-Xent, and whether its positive is its most similar candidate.

    With `block_size` None from the full matrix of `nt_xent_logits`. Else in
    blocks: on one device the anchors are the candidates, so the symmetric
    similarities are taken a pair of square tiles at a time
    (`kc.losses.gram_blockwise`, half the arithmetic) where the temperature
    allows; otherwise from blocks of candidate columns
    (`kc.losses.blockwise`).
    """
    block_size = check_optional_positive_int(block_size, "block_size")
    if block_size is None:
        logits, positives = nt_xent_logits(z_a, z_b, temperature)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=positives, logits=logits)
        return losses, tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), positives)
    anchors, candidates, selves, positives, temperature = _anchors_and_candidates(z_a, z_b, temperature)
    if gram_blockwise.fits(temperature):
        return gram_blockwise.gram_cross_entropy(anchors, 1.0 / temperature, positives, block_size)
    losses, predictions = blockwise_cross_entropy(anchors / temperature, candidates, positives, block_size,
                                                  excluded=selves)
    return losses, tf.equal(predictions, positives)


def nt_xent_per_anchor(
    z_a: tf.Tensor, z_b: tf.Tensor, temperature: float = 0.1, block_size: int | None = None
) -> tf.Tensor:
    """NT-Xent of each of the 2N anchors: float32 `(2N,)`, view a's anchors first.

    Args and shapes as in `nt_xent`. Under a strategy with several replicas,
    the `(2n,)` losses of this replica's anchors against the global batch.
    """
    return _losses_and_hits(z_a, z_b, temperature, block_size)[0]


def nt_xent_per_example(
    z_a: tf.Tensor, z_b: tf.Tensor, temperature: float = 0.1, block_size: int | None = None
) -> tf.Tensor:
    """The mean of the losses of each example's two anchors: float32 `(N,)`. Args as in `nt_xent`."""
    return tf.reduce_mean(tf.reshape(nt_xent_per_anchor(z_a, z_b, temperature, block_size), (2, -1)), axis=0)


def nt_xent_and_accuracy(
    z_a: tf.Tensor, z_b: tf.Tensor, temperature: float = 0.1, block_size: int | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """NT-Xent and the top-1 accuracy of its softmax, from one pass over the similarities.

    The accuracy is how often an anchor's positive is the most similar of its
    2N - 1 candidates. Args as in `nt_xent`.

    Returns:
        A tuple of float32 scalars `(loss, accuracy)`.
    """
    losses, hits = _losses_and_hits(z_a, z_b, temperature, block_size)
    return tf.reduce_mean(losses), tf.reduce_mean(tf.cast(hits, tf.float32))


def nt_xent(z_a: tf.Tensor, z_b: tf.Tensor, temperature: float = 0.1, block_size: int | None = None) -> tf.Tensor:
    """SimCLR's NT-Xent loss, the mean over all 2N anchors.

    Both batches are L2-normalised, so similarities are cosines. For each
    anchor the other view of the same example is the positive and the other
    2N - 2 embeddings are the negatives. The loss is computed in float32
    whatever the input dtype.

    Inside `strategy.run` with several replicas, the negatives are gathered
    from all replicas: each replica returns the mean over its own anchors
    against the global batch, and the mean of the replicas' values (equal
    batch sizes) is the single-device loss on the global batch.

    With `block_size`, the `(2N, 2N)` similarity matrix is never held: the
    candidates are taken `block_size` columns at a time with a streaming
    log-sum-exp, and the backward pass recomputes each block (see
    `kc.losses.blockwise`). The value and gradient are those of the full
    matrix, in `O(N x block_size)` memory instead of `O(N^2)`, for about a
    third more arithmetic. On one device, with a Python temperature of at
    least 1/40, only the square tiles on and above the diagonal are computed
    (`kc.losses.gram_blockwise`), for two thirds of the full matrix's
    arithmetic in `O(block_size^2)`.

    Args:
        z_a: `(N, D)` embeddings (projections) of the first views, N >= 2.
        z_b: `(N, D)` embeddings of the second views, same shape as `z_a`.
        temperature: A positive number; lower values sharpen the softmax.
        block_size: None for the full matrix, or the number of candidate
            columns per block (a positive int; 2N or more is one block).

    Returns:
        A float32 scalar.

    Example:
    >>> z_a = tf.random.normal((8, 16)); z_b = z_a + 0.1
    >>> float(nt_xent(z_a, z_b, temperature=0.1)) < float(
    ...     nt_xent(z_a, tf.random.normal((8, 16)), temperature=0.1))
    True
    >>> blockwise = nt_xent(z_a, z_b, temperature=0.1, block_size=4)  # the same value, in blocks
    """
    return tf.reduce_mean(nt_xent_per_anchor(z_a, z_b, temperature, block_size))


@keras.saving.register_keras_serializable(package="keras_contrastive")
class NTXent(PairLoss):
    """NT-Xent as a Keras loss: `NTXent(0.1)(None, keras.ops.stack([z_a, z_b], axis=1))`.

    `y_pred` is the two views' embeddings stacked as `(N, 2, D)`; `y_true`
    is ignored (see `PairLoss`). The loss of an example is the mean of its
    two anchors' losses, so the default reduction gives `nt_xent(z_a, z_b)`.
    Under a `tf.distribute` strategy the negatives are gathered across
    replicas as in `nt_xent`.

    Args:
        temperature: A positive number.
        block_size: None for the full similarity matrix, or candidate
            columns per block (see `nt_xent`).
        name: The loss's name.
        **kwargs: `reduction` and `dtype`, as in `keras.losses.Loss`.

    Example:
    >>> loss = NTXent(temperature=0.2, block_size=1024)
    >>> value = loss(None, tf.random.normal((4, 2, 8)))
    """

    def __init__(self, temperature: float = 0.1, block_size: int | None = None, name: str = "nt_xent", **kwargs):
        super().__init__(
            nt_xent_per_example, name, per_example=True, uses_labels=False,
            temperature=check_positive(temperature, "temperature"),
            block_size=check_optional_positive_int(block_size, "block_size"), **kwargs,
        )
