"""Alignment (Wang and Isola, 2020): how close the embeddings of positive pairs are."""

from __future__ import annotations

import tensorflow as tf

from keras_contrastive.validation import check_positive


def alignment(embeddings_a, embeddings_b, alpha: float = 2.0) -> tf.Tensor:
    """Mean of `||f(x) - f(y)||^alpha` over positive pairs of L2-normalised embeddings.

    Row `i` of `embeddings_a` and row `i` of `embeddings_b` are a positive
    pair (two views of one image). 0 is perfect alignment; with `alpha=2` the
    largest value, 4, means every pair points in opposite directions.
    Written in TensorFlow ops, so it also runs inside a compiled step.

    Args:
        embeddings_a: `(N, D)` embeddings of the first views.
        embeddings_b: `(N, D)` embeddings of the second views.
        alpha: Positive exponent of the distance (the paper's default is 2).

    Returns:
        A float32 scalar tensor.

    Example:
    >>> alignment(model.predict(view_a), model.predict(view_b))
    """
    alpha = check_positive(alpha, "alpha")
    a = tf.convert_to_tensor(embeddings_a)
    b = tf.convert_to_tensor(embeddings_b)
    if a.shape.rank != 2 or not a.shape.is_compatible_with(b.shape):
        raise ValueError(
            "Expected two (N, D) embedding arrays of the same shape (row i of each is a "
            f"positive pair), got {a.shape} and {b.shape}."
        )
    a = tf.math.l2_normalize(tf.cast(a, tf.float32), axis=1)
    b = tf.math.l2_normalize(tf.cast(b, tf.float32), axis=1)
    distance = tf.norm(a - b, axis=1)
    return tf.reduce_mean(tf.pow(distance, alpha))
