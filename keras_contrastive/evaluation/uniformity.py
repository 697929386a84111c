"""Uniformity (Wang and Isola, 2020): how evenly embeddings spread over the sphere."""

from __future__ import annotations

import math

import tensorflow as tf

from keras_contrastive.validation import check_positive


def uniformity(embeddings, t: float = 2.0) -> tf.Tensor:
    """`log mean exp(-t ||f(x) - f(y)||^2)` over distinct pairs of L2-normalised embeddings.

    Lower is more uniform; collapsed embeddings give 0, the maximum. The mean
    is over the `N (N - 1) / 2` pairs `i < j`, computed with a log-sum-exp
    from an `(N, N)` distance matrix, so pass a sample of a few thousand
    embeddings. Written in TensorFlow ops.

    Args:
        embeddings: `(N, D)` embeddings, N >= 2.
        t: Positive temperature of the Gaussian potential (the paper's 2).

    Returns:
        A float32 scalar tensor.

    Example:
    >>> uniformity(model.predict(test_images[:2000]))
    """
    t = check_positive(t, "t")
    z = tf.convert_to_tensor(embeddings)
    if z.shape.rank != 2 or (z.shape[0] is not None and z.shape[0] < 2):
        raise ValueError(f"Expected (N, D) embeddings with N >= 2, got shape {z.shape}.")
    z = tf.math.l2_normalize(tf.cast(z, tf.float32), axis=1)
    n = tf.shape(z)[0]
    squared_distance = tf.maximum(2.0 - 2.0 * tf.matmul(z, z, transpose_b=True), 0.0)
    upper = tf.linalg.band_part(tf.ones((n, n), tf.bool), 0, -1)  # i <= j
    distinct = tf.logical_and(upper, tf.logical_not(tf.eye(n, dtype=tf.bool)))
    exponent = tf.where(distinct, -t * squared_distance, -math.inf)
    pairs = tf.cast(n * (n - 1) // 2, tf.float32)
    return tf.reduce_logsumexp(exponent) - tf.math.log(pairs)
