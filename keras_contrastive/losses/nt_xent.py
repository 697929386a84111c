"""NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.cross_replica import all_gather_views
from keras_contrastive.losses.validation import (
    check_positive_temperature,
    check_view_pair,
)

# Added to an anchor's similarity with itself so that softmax gives it zero
# weight; finite (unlike -inf) so that no NaN can appear in any gradient.
_SELF_SIMILARITY_OFFSET = 1e9


def nt_xent_logits(
    z_a: tf.Tensor, z_b: tf.Tensor, temperature: float = 0.1
) -> tuple[tf.Tensor, tf.Tensor]:
    """The logits of NT-Xent and the index of each anchor's positive.

    Row `i` holds the cosine similarities of anchor `i` with all 2N
    embeddings (views `a` first, then views `b`) divided by `temperature`,
    with the anchor's similarity to itself pushed out of the softmax.
    The positive of anchor `i < N` is `i + N` and that of `i >= N` is `i - N`.

    Inside `strategy.run` of a `tf.distribute` strategy with several
    replicas, the candidates are the global batch: the columns are the views
    `a` of all replicas, in replica order, then their views `b`, exactly as
    on one device given the concatenated global batch. The rows are this
    replica's 2n anchors (its `a`, then its `b`), and the positives index
    the global columns. Gradients reach the replica that owns each row (see
    `all_gather_views`).

    Args:
        z_a: `(N, D)` embeddings of the first views. Any float dtype; the
            computation is done in float32 after L2 normalisation.
        z_b: `(N, D)` embeddings of the second views, row `i` the same
            image as row `i` of `z_a`.
        temperature: A positive float.

    Returns:
        A tuple `(logits, positives)`: float32 `(2n, 2N)` and int32 `(2n,)`,
        where n = N on one device and n is the replica's batch size under a
        strategy with N the global batch size.
    """
    check_positive_temperature(temperature)
    z_a, z_b = tf.convert_to_tensor(z_a), tf.convert_to_tensor(z_b)
    check_view_pair(z_a, z_b)
    z = tf.concat([z_a, z_b], axis=0)
    z = tf.math.l2_normalize(tf.cast(z, tf.float32), axis=1)
    candidates, selves = all_gather_views(z)
    two_global_n = tf.shape(candidates)[0]
    logits = tf.matmul(z, candidates, transpose_b=True) / temperature
    logits -= _SELF_SIMILARITY_OFFSET * tf.one_hot(selves, two_global_n, dtype=tf.float32)
    # The other view of the same image: half the candidates further on, cyclically.
    positives = (selves + two_global_n // 2) % two_global_n
    return logits, positives


def nt_xent_per_anchor(
    z_a: tf.Tensor, z_b: tf.Tensor, temperature: float = 0.1
) -> tf.Tensor:
    """NT-Xent of each of the 2N anchors: float32 `(2N,)`.

    Args and shapes as in `nt_xent`. Under a strategy with several replicas,
    the `(2n,)` losses of this replica's anchors against the global batch.
    """
    logits, positives = nt_xent_logits(z_a, z_b, temperature)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=positives, logits=logits
    )


def nt_xent_and_accuracy(
    z_a: tf.Tensor, z_b: tf.Tensor, temperature: float = 0.1
) -> tuple[tf.Tensor, tf.Tensor]:
    """NT-Xent and the top-1 accuracy of its softmax, from one similarity matrix.

    The accuracy is how often an anchor's positive is the most similar of its
    2N - 1 candidates. Args as in `nt_xent`.

    Returns:
        A tuple of float32 scalars `(loss, accuracy)`.
    """
    logits, positives = nt_xent_logits(z_a, z_b, temperature)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=positives, logits=logits)
    )
    hits = tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), positives)
    return loss, tf.reduce_mean(tf.cast(hits, tf.float32))


def nt_xent(
    z_a: tf.Tensor, z_b: tf.Tensor, temperature: float = 0.1
) -> tf.Tensor:
    """SimCLR's NT-Xent loss, the mean over all 2N anchors.

    Both batches are L2-normalised, so similarities are cosines. For each
    anchor the other view of the same image is the positive and the other
    2N - 2 embeddings are the negatives. The loss is computed in float32
    whatever the input dtype.

    Inside `strategy.run` with several replicas, the negatives are gathered
    from all replicas: each replica returns the mean over its own anchors
    against the global batch, and the mean of the replicas' values (equal
    batch sizes) is the single-device loss on the global batch.

    Args:
        z_a: `(N, D)` embeddings (projections) of the first views, N >= 2.
        z_b: `(N, D)` embeddings of the second views, same shape as `z_a`.
        temperature: A positive float; lower values sharpen the softmax.

    Returns:
        A float32 scalar.

    Example:
    >>> z_a = tf.random.normal((8, 16)); z_b = z_a + 0.1
    >>> float(nt_xent(z_a, z_b, temperature=0.1)) < float(
    ...     nt_xent(z_a, tf.random.normal((8, 16)), temperature=0.1))
    True
    """
    return tf.reduce_mean(nt_xent_per_anchor(z_a, z_b, temperature))


@keras.saving.register_keras_serializable(package="keras_contrastive")
class NTXent(keras.losses.Loss):
    """NT-Xent as a serialisable Keras loss: `NTXent(0.1)(z_a, z_b)`.

    Called as `loss(z_a, z_b)`, the two views taking the places of Keras's
    `y_true` and `y_pred`; the result is the mean over the 2N anchors, as
    `nt_xent`. Under a `tf.distribute` strategy, Keras divides a `Loss`'s
    mean by the number of replicas (so that the replicas' values sum to the
    global mean, as their gradients are summed); the negatives are gathered
    across replicas as in `nt_xent`.

    Args:
        temperature: A positive float.
        name: The loss's name.

    Example:
    >>> loss = NTXent(temperature=0.2)
    >>> value = loss(tf.random.normal((4, 8)), tf.random.normal((4, 8)))
    """

    def __init__(self, temperature: float = 0.1, name: str = "nt_xent", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(name=name, **kwargs)
        check_positive_temperature(temperature)
        self.temperature = float(temperature)

    def call(self, z_a, z_b):
        return nt_xent_per_anchor(z_a, z_b, self.temperature)

    def get_config(self) -> dict:
        config = super().get_config()
        config["temperature"] = self.temperature
        return config
