"""Barlow Twins: drive the cross-correlation of two views' embeddings to the identity."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.distribute.cross_replica import all_gather_pairs
from keras_contrastive.losses.pair_loss import PairLoss
from keras_contrastive.validation import check_embedding_pair, check_non_negative, check_positive


def barlow_twins(
    z_a: tf.Tensor,
    z_b: tf.Tensor,
    lambda_param: float = 5e-3,
    epsilon: float = 1e-5,
) -> tf.Tensor:
    """The Barlow Twins loss (Zbontar et al., 2021).

    Each view's embeddings are standardised along the batch (mean 0, divided
    by `sqrt(biased variance + epsilon)`); `c = z_a^T z_b / N` is their
    `(D, D)` cross-correlation, and the loss is
    `sum_i (1 - c_ii)^2 + lambda_param * sum_{i != j} c_ij^2`.
    Computed in float32 whatever the input dtype. Under a `tf.distribute`
    strategy the statistics are over the global batch
    (`kc.distribute.all_gather_pairs`):
    every replica's loss is the single-device loss on the global batch.

    Args:
        z_a: `(N, D)` embeddings of the first views, N >= 2.
        z_b: `(N, D)` embeddings of the second views, same shape.
        lambda_param: Weight of the off-diagonal (redundancy) term, >= 0.
        epsilon: Positive constant added to the variance, keeping the
            gradient finite when a dimension is constant over the batch.

    Returns:
        A float32 scalar.

    Example:
    >>> z = tf.random.normal((32, 8))
    >>> float(barlow_twins(z, z)) < float(barlow_twins(z, tf.random.normal((32, 8))))
    True
    """
    lambda_param = check_non_negative(lambda_param, "lambda_param")
    epsilon = check_positive(epsilon, "epsilon")
    z_a, z_b = check_embedding_pair(
        z_a,
        z_b,
        min_batch=2,
        requirement="Barlow Twins needs a batch of at least 2 examples "
        "(it standardises each dimension over the batch)",
    )
    z_a, z_b, _ = all_gather_pairs(tf.cast(z_a, tf.float32), tf.cast(z_b, tf.float32))
    z_a = _standardize_over_batch(z_a, epsilon)
    z_b = _standardize_over_batch(z_b, epsilon)
    batch = tf.cast(tf.shape(z_a)[0], tf.float32)
    correlation = tf.matmul(z_a, z_b, transpose_a=True) / batch
    diagonal = tf.linalg.diag_part(correlation)
    on_diagonal = tf.reduce_sum(tf.square(1.0 - diagonal))
    off_diagonal = tf.linalg.set_diag(correlation, tf.zeros_like(diagonal))
    return on_diagonal + lambda_param * tf.reduce_sum(tf.square(off_diagonal))


def _standardize_over_batch(z: tf.Tensor, epsilon: float) -> tf.Tensor:
    """Float32 `z` with each column at mean 0 and (biased) variance ~1."""
    z = tf.cast(z, tf.float32)
    centred = z - tf.reduce_mean(z, axis=0)
    variance = tf.reduce_mean(tf.square(centred), axis=0)
    return centred / tf.sqrt(variance + epsilon)


@keras.saving.register_keras_serializable(package="keras_contrastive")
class BarlowTwinsLoss(PairLoss):
    """Barlow Twins as a Keras loss: `BarlowTwinsLoss()(None, keras.ops.stack([z_a, z_b], axis=1))`.

    `y_pred` is `(N, 2, D)`, `y_true` is ignored (see `PairLoss`); the result
    equals `barlow_twins(z_a, z_b, lambda_param, epsilon)`. A loss of the
    batch's statistics: no `sample_weight`.

    Args:
        lambda_param: Weight of the off-diagonal term, >= 0.
        epsilon: Positive constant added to the variance.
        name: The loss's name.
        **kwargs: `reduction` and `dtype`, as in `keras.losses.Loss`.

    Example:
    >>> value = BarlowTwinsLoss()(None, tf.random.normal((16, 2, 8)))
    """

    def __init__(self, lambda_param: float = 5e-3, epsilon: float = 1e-5, name: str = "barlow_twins", **kwargs):
        super().__init__(
            barlow_twins, name, per_example=False, uses_labels=False,
            lambda_param=check_non_negative(lambda_param, "lambda_param"),
            epsilon=check_positive(epsilon, "epsilon"), **kwargs,
        )
