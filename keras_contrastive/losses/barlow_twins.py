"""Barlow Twins: drive the cross-correlation of two views' embeddings to the identity."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.cross_replica import all_gather_pairs
from keras_contrastive.losses.validation import (
    check_non_negative,
    check_paired_embeddings,
    check_positive,
)


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
    strategy the statistics are over the global batch (`all_gather_pairs`):
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
    check_non_negative(lambda_param, "lambda_param")
    check_positive(epsilon, "epsilon")
    z_a, z_b = tf.convert_to_tensor(z_a), tf.convert_to_tensor(z_b)
    check_paired_embeddings(
        z_a,
        z_b,
        min_batch=2,
        requirement="Barlow Twins needs a batch of at least 2 images "
        "(it standardises each dimension over the batch)",
    )
    z_a, z_b = all_gather_pairs(tf.cast(z_a, tf.float32), tf.cast(z_b, tf.float32))
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
class BarlowTwinsLoss(keras.losses.Loss):
    """Barlow Twins as a serialisable Keras loss: `BarlowTwinsLoss()(z_a, z_b)`.

    The two views take the places of Keras's `y_true` and `y_pred`; the
    result equals `barlow_twins(z_a, z_b, lambda_param, epsilon)`.

    Args:
        lambda_param: Weight of the off-diagonal term, >= 0.
        epsilon: Positive constant added to the variance.
        name: The loss's name.

    Example:
    >>> value = BarlowTwinsLoss()(tf.random.normal((16, 8)), tf.random.normal((16, 8)))
    """

    def __init__(
        self,
        lambda_param: float = 5e-3,
        epsilon: float = 1e-5,
        name: str = "barlow_twins",
        **kwargs,
    ):
        kwargs.setdefault("dtype", "float32")
        super().__init__(name=name, **kwargs)
        check_non_negative(lambda_param, "lambda_param")
        check_positive(epsilon, "epsilon")
        self.lambda_param = float(lambda_param)
        self.epsilon = float(epsilon)

    def call(self, z_a, z_b):
        return barlow_twins(z_a, z_b, self.lambda_param, self.epsilon)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(lambda_param=self.lambda_param, epsilon=self.epsilon)
        return config
