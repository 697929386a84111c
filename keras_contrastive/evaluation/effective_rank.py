"""Effective rank (Roy and Vetterli, 2007) of a set of embeddings."""

from __future__ import annotations

import tensorflow as tf


def effective_rank(embeddings, epsilon: float = 1e-12) -> tf.Tensor:
    """`exp` of the entropy of the embedding matrix's normalised singular values.

    With singular values `s_k` of the `(N, D)` matrix and `p_k = s_k / sum(s)`,
    the effective rank is `exp(-sum p_k log p_k)`: 1 when every embedding lies
    on one line (collapse), `D` when all `D` directions carry equal energy.
    The embeddings are used as given (not centred, not normalised), as in
    RankMe (Garrido et al., 2023). Written in TensorFlow ops.

    Args:
        embeddings: `(N, D)` embeddings.
        epsilon: Added to `p_k` inside the log, so zero singular values count 0.

    Returns:
        A float32 scalar tensor between 1 and `min(N, D)`.

    Example:
    >>> effective_rank(model.predict(test_images))
    """
    z = tf.convert_to_tensor(embeddings)
    if z.shape.rank != 2:
        raise ValueError(f"Expected (N, D) embeddings, got shape {z.shape}.")
    singular_values = tf.linalg.svd(tf.cast(z, tf.float32), compute_uv=False)
    p = singular_values / tf.reduce_sum(singular_values)
    return tf.exp(-tf.reduce_sum(p * tf.math.log(p + epsilon)))
