"""InfoNCE: cross-entropy of each query against its key among the batch's keys and extra negatives."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.distribute.cross_replica import all_gather_batch
from keras_contrastive.losses.blockwise import blockwise_cross_entropy
from keras_contrastive.losses.pair_loss import PairLoss
from keras_contrastive.validation import check_optional_positive_int, check_positive, check_view_pair


def info_nce_logits(
    queries: tf.Tensor,
    keys: tf.Tensor,
    negatives: tf.Tensor | None = None,
    temperature: float = 0.2,
) -> tuple[tf.Tensor, tf.Tensor]:
    """The logits of InfoNCE and the index of each query's key among them.

    Row `i` holds the cosine similarities of query `i` with the N keys, then
    with the K negatives, all divided by `temperature`; its positive is
    column `i`. Inside `strategy.run` of a `tf.distribute` strategy with
    several replicas, the keys are those of all replicas, in replica order
    (as on one device given the concatenated global batch), followed by this
    replica's negatives; the rows are this replica's n queries and their
    positives are offset by the replica's first row in the global batch.
    Gradients reach the replica that owns each key (see
    `kc.distribute.all_gather_batch`).

    Args and shapes as in `info_nce`.

    Returns:
        A tuple `(logits, positives)`: float32 `(n, N + K)` (`(n, N)` without
        negatives) and int32 `(n,)`, where n = N on one device.
    """
    queries, candidates, positives, temperature = _queries_and_candidates(queries, keys, negatives, temperature)
    return tf.matmul(queries, candidates, transpose_b=True) / temperature, positives


def _queries_and_candidates(queries, keys, negatives, temperature):
    """The checked, normalised queries and candidates (gathered keys, then negatives), and the positives.

    Returns:
        `(queries (n, D), candidates (N + K, D), positives (n,),
        temperature)`, as `info_nce_logits` describes them.
    """
    temperature = check_positive(temperature, "temperature")
    queries, keys = check_view_pair(queries, keys)
    queries = tf.math.l2_normalize(tf.cast(queries, tf.float32), axis=1)
    candidates, start = all_gather_batch(tf.math.l2_normalize(tf.cast(keys, tf.float32), axis=1))
    if negatives is not None:
        negatives = tf.convert_to_tensor(negatives)
        if negatives.shape.rank != 2 or not negatives.shape[1:].is_compatible_with(queries.shape[1:]):
            raise ValueError(
                "negatives must be a (K, dim) batch with the queries' dim "
                f"{queries.shape[1]}, got shape {negatives.shape}."
            )
        negatives = tf.math.l2_normalize(tf.cast(negatives, tf.float32), axis=1)
        candidates = tf.concat([candidates, negatives], axis=0)
    return queries, candidates, start + tf.range(tf.shape(queries)[0]), temperature


def _losses_and_predictions(queries, keys, negatives, temperature, block_size):
    """Each query's InfoNCE, the index of its most similar candidate, and of its key.

    With `block_size` None from the full matrix of `info_nce_logits`, else
    from blocks of `block_size` candidate columns (`kc.losses.blockwise`).
    """
    block_size = check_optional_positive_int(block_size, "block_size")
    if block_size is None:
        logits, positives = info_nce_logits(queries, keys, negatives, temperature)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=positives, logits=logits)
        return losses, tf.argmax(logits, axis=1, output_type=tf.int32), positives
    queries, candidates, positives, temperature = _queries_and_candidates(queries, keys, negatives, temperature)
    losses, predictions = blockwise_cross_entropy(queries / temperature, candidates, positives, block_size)
    return losses, predictions, positives


def info_nce_per_anchor(
    queries: tf.Tensor,
    keys: tf.Tensor,
    negatives: tf.Tensor | None = None,
    temperature: float = 0.2,
    block_size: int | None = None,
) -> tf.Tensor:
    """InfoNCE of each of the N queries: float32 `(N,)`. Args as in `info_nce`.

    Under a strategy with several replicas, the `(n,)` losses of this
    replica's queries against the keys of all replicas.
    """
    return _losses_and_predictions(queries, keys, negatives, temperature, block_size)[0]


def info_nce_and_accuracy(
    queries: tf.Tensor,
    keys: tf.Tensor,
    negatives: tf.Tensor | None = None,
    temperature: float = 0.2,
    block_size: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """InfoNCE and the top-1 accuracy of its softmax, from one pass over the similarities.

    The accuracy is how often a query's own key is the most similar of its
    N + K candidates. Args as in `info_nce`.

    Returns:
        A tuple of float32 scalars `(loss, accuracy)`.
    """
    losses, predictions, positives = _losses_and_predictions(queries, keys, negatives, temperature, block_size)
    hits = tf.equal(predictions, positives)
    return tf.reduce_mean(losses), tf.reduce_mean(tf.cast(hits, tf.float32))


def info_nce(
    queries: tf.Tensor,
    keys: tf.Tensor,
    negatives: tf.Tensor | None = None,
    temperature: float = 0.2,
    block_size: int | None = None,
) -> tf.Tensor:
    """InfoNCE (MoCo's contrastive loss), the mean over the N queries.

    All embeddings are L2-normalised, so similarities are cosines. Query `i`
    is scored against every key of the batch and every negative; its own key
    `i` is the positive, the other N - 1 keys and the K negatives (a memory
    bank or MoCo's queue) are the negatives. MoCo's reference code scores a
    query against its own key and the queue only; here the batch's other
    keys are negatives too, which makes the loss defined without a queue and
    equal to the in-batch softmax of CLIP's and sentence-transformers' losses
    (one direction). Computed in float32 whatever the input dtype. Inside
    `strategy.run` with several replicas, the keys of all replicas are
    candidates, as on one device given the global batch; each replica
    returns the mean over its own queries.

    With `block_size`, the `(N, N + K)` similarity matrix is never held: the
    keys and negatives are taken `block_size` at a time with a streaming
    log-sum-exp whose gradient is recomputed block by block (see
    `kc.losses.blockwise`), for the same value and gradient in
    `O(N x block_size)` memory.

    Args:
        queries: `(N, D)` query embeddings, N >= 2.
        keys: `(N, D)` key embeddings, row `i` the positive of query `i`.
        negatives: Optional `(K, D)` extra negatives.
        temperature: A positive number (MoCo v2's 0.2 by default); lower
            values sharpen the softmax.
        block_size: None for the full matrix, or the number of candidate
            columns (keys, then negatives) per block, a positive int.

    Returns:
        A float32 scalar.

    Example:
    >>> q = tf.random.normal((8, 16)); queue = tf.random.normal((64, 16))
    >>> loss = info_nce(q, q + 0.1 * tf.random.normal((8, 16)), queue, 0.2)
    >>> blockwise = info_nce(q, q + 0.1, queue, 0.2, block_size=16)
    """
    return tf.reduce_mean(info_nce_per_anchor(queries, keys, negatives, temperature, block_size))


@keras.saving.register_keras_serializable(package="keras_contrastive")
class InfoNCE(PairLoss):
    """InfoNCE over the batch as a Keras loss: queries `y_pred[:, 0]`, keys `y_pred[:, 1]`.

    `y_pred` is `(N, 2, D)`, `y_true` is ignored (see `PairLoss`); the loss
    of an example is its query's, as `info_nce` without extra negatives.

    Args:
        temperature: A positive number.
        block_size: None for the full similarity matrix, or key columns per
            block (see `info_nce`).
        name: The loss's name.
        **kwargs: `reduction` and `dtype`, as in `keras.losses.Loss`.

    Example:
    >>> value = InfoNCE(temperature=0.2)(None, tf.random.normal((4, 2, 8)))
    """

    def __init__(self, temperature: float = 0.2, block_size: int | None = None, name: str = "info_nce", **kwargs):
        super().__init__(
            info_nce_per_anchor, name, per_example=True, uses_labels=False,
            temperature=check_positive(temperature, "temperature"),
            block_size=check_optional_positive_int(block_size, "block_size"), **kwargs,
        )
