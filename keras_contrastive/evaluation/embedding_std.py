"""Collapse metric: the per-dimension spread of L2-normalised embeddings."""

from __future__ import annotations

import tensorflow as tf


def embedding_std(embeddings) -> tf.Tensor:
    """Mean over dimensions of the per-dimension std of L2-normalised embeddings.

    Collapsed embeddings (every image mapped to the same direction) give 0;
    embeddings spread evenly over the unit sphere in `d` dimensions give about
    `1 / sqrt(d)`. Written in TensorFlow ops only, so it runs inside a compiled
    (graph or XLA) `train_step` as a metric.

    Args:
        embeddings: `(N, D)` embeddings, any float dtype.

    Returns:
        A float32 scalar tensor.

    Example:
    >>> embedding_std(tf.random.normal((1024, 128)))  # about 1 / sqrt(128)
    <tf.Tensor: shape=(), dtype=float32, numpy=0.088...>
    """
    embeddings = tf.convert_to_tensor(embeddings)
    if embeddings.shape.rank != 2:
        raise ValueError(
            f"Expected (batch, dim) embeddings, got shape {embeddings.shape}."
        )
    normalised = tf.math.l2_normalize(tf.cast(embeddings, tf.float32), axis=1)
    return tf.reduce_mean(tf.math.reduce_std(normalised, axis=0))
