"""InfoNCE: cross-entropy of each query against its key among the batch's keys and a queue."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.cross_replica import all_gather_batch
from keras_contrastive.losses.validation import (
    check_positive_temperature,
    check_view_pair,
)


def info_nce_logits(
    queries: tf.Tensor,
    keys: tf.Tensor,
    negatives: tf.Tensor | None = None,
    temperature: float = 0.1,
) -> tuple[tf.Tensor, tf.Tensor]:
    """The logits of InfoNCE and the index of each query's key among them.

    Row `i` holds the cosine similarities of query `i` with the N keys, then
    with the K negatives, all divided by `temperature`; its positive is
    column `i`. Inside `strategy.run` of a `tf.distribute` strategy with
    several replicas, the keys are those of all replicas, in replica order
    (as on one device given the concatenated global batch), followed by this
    replica's negatives; the rows are this replica's n queries and their
    positives are offset by the replica's first row in the global batch.
    Gradients reach the replica that owns each key (see `all_gather_batch`).

    Args and shapes as in `info_nce`.

    Returns:
        A tuple `(logits, positives)`: float32 `(n, N + K)` (`(n, N)` without
        negatives) and int32 `(n,)`, where n = N on one device.
    """
    check_positive_temperature(temperature)
    queries, keys = tf.convert_to_tensor(queries), tf.convert_to_tensor(keys)
    check_view_pair(queries, keys)
    queries = tf.math.l2_normalize(tf.cast(queries, tf.float32), axis=1)
    candidates, start = all_gather_batch(tf.math.l2_normalize(tf.cast(keys, tf.float32), axis=1))
    if negatives is not None:
        negatives = tf.convert_to_tensor(negatives)
        if negatives.shape.rank != 2 or not negatives.shape[1:].is_compatible_with(
            queries.shape[1:]
        ):
            raise ValueError(
                "negatives must be a (K, dim) batch with the queries' dim "
                f"{queries.shape[1]}, got shape {negatives.shape}."
            )
        negatives = tf.math.l2_normalize(tf.cast(negatives, tf.float32), axis=1)
        candidates = tf.concat([candidates, negatives], axis=0)
    logits = tf.matmul(queries, candidates, transpose_b=True) / temperature
    return logits, start + tf.range(tf.shape(queries)[0])


def info_nce_per_anchor(
    queries: tf.Tensor,
    keys: tf.Tensor,
    negatives: tf.Tensor | None = None,
    temperature: float = 0.1,
) -> tf.Tensor:
    """InfoNCE of each of the N queries: float32 `(N,)`. Args as in `info_nce`.

    Under a strategy with several replicas, the `(n,)` losses of this
    replica's queries against the keys of all replicas.
    """
    logits, positives = info_nce_logits(queries, keys, negatives, temperature)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=positives, logits=logits)


def info_nce_and_accuracy(
    queries: tf.Tensor,
    keys: tf.Tensor,
    negatives: tf.Tensor | None = None,
    temperature: float = 0.1,
) -> tuple[tf.Tensor, tf.Tensor]:
    """InfoNCE and the top-1 accuracy of its softmax, from one similarity matrix.

    The accuracy is how often a query's own key is the most similar of its
    N + K candidates. Args as in `info_nce`.

    Returns:
        A tuple of float32 scalars `(loss, accuracy)`.
    """
    logits, positives = info_nce_logits(queries, keys, negatives, temperature)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=positives, logits=logits)
    )
    hits = tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), positives)
    return loss, tf.reduce_mean(tf.cast(hits, tf.float32))


def info_nce(
    queries: tf.Tensor,
    keys: tf.Tensor,
    negatives: tf.Tensor | None = None,
    temperature: float = 0.1,
) -> tf.Tensor:
    """InfoNCE (MoCo's contrastive loss), the mean over the N queries.

    All embeddings are L2-normalised, so similarities are cosines. Query `i`
    is scored against every key of the batch and every negative; its own key
    `i` is the positive, the other N - 1 keys and the K negatives (a memory
    bank or MoCo's queue) are the negatives. Computed in float32 whatever the
    input dtype. Inside `strategy.run` with several replicas, the keys of all
    replicas are candidates, as on one device given the global batch; each
    replica returns the mean over its own queries.

    Args:
        queries: `(N, D)` query embeddings, N >= 2.
        keys: `(N, D)` key embeddings, row `i` the positive of query `i`.
        negatives: Optional `(K, D)` extra negatives.
        temperature: A positive float; lower values sharpen the softmax.

    Returns:
        A float32 scalar.

    Example:
    >>> q = tf.random.normal((8, 16)); queue = tf.random.normal((64, 16))
    >>> loss = info_nce(q, q + 0.1 * tf.random.normal((8, 16)), queue, 0.2)
    """
    return tf.reduce_mean(info_nce_per_anchor(queries, keys, negatives, temperature))


@keras.saving.register_keras_serializable(package="keras_contrastive")
class InfoNCE(keras.losses.Loss):
    """InfoNCE over the batch as a serialisable Keras loss: `InfoNCE(0.1)(queries, keys)`.

    Called as `loss(queries, keys)`, taking the places of Keras's `y_true`
    and `y_pred`; the result is the mean over the N queries, as `info_nce`
    without extra negatives.

    Args:
        temperature: A positive float.
        name: The loss's name.

    Example:
    >>> loss = InfoNCE(temperature=0.2)
    >>> value = loss(tf.random.normal((4, 8)), tf.random.normal((4, 8)))
    """

    def __init__(self, temperature: float = 0.1, name: str = "info_nce", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(name=name, **kwargs)
        check_positive_temperature(temperature)
        self.temperature = float(temperature)

    def call(self, queries, keys):
        return info_nce_per_anchor(queries, keys, temperature=self.temperature)

    def get_config(self) -> dict:
        config = super().get_config()
        config["temperature"] = self.temperature
        return config
