"""VICReg: variance, invariance and covariance regularisation of two views' embeddings."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.distribute.cross_replica import all_gather_pairs
from keras_contrastive.losses.pair_loss import PairLoss
from keras_contrastive.validation import check_embedding_pair, check_non_negative, check_positive


def vicreg_terms(
    z_a: tf.Tensor, z_b: tf.Tensor, epsilon: float = 1e-4
) -> dict[str, tf.Tensor]:
    """The three unweighted terms of VICReg (Bardes et al., 2022).

    - invariance: mean squared difference of `z_a` and `z_b` over all N x D
      entries;
    - variance: for each view, the mean over dimensions of
      `relu(1 - sqrt(var + epsilon))` with the unbiased variance over the
      batch; the mean of the two views' values, as in the official code
      (facebookresearch/vicreg) and lightly, so the weights (25, 25, 1)
      give their loss. The paper's equation sums the two views' values:
      `variance_weight=50` reproduces it;
    - covariance: for each view, the sum of squared off-diagonal entries of
      its `(D, D)` covariance matrix (unbiased) divided by D; summed over the
      two views.

    Computed in float32 whatever the input dtype. Under a `tf.distribute`
    strategy the terms are over the global batch (`kc.distribute.all_gather_pairs`): every
    replica's terms are the single-device terms on the global batch.

    Args:
        z_a: `(N, D)` embeddings of the first views, N >= 2.
        z_b: `(N, D)` embeddings of the second views, same shape.
        epsilon: Positive constant under the square root, keeping the
            gradient finite when a dimension is constant over the batch.

    Returns:
        A dict of float32 scalars with keys "invariance", "variance" and
        "covariance".
    """
    epsilon = check_positive(epsilon, "epsilon")
    z_a, z_b = check_embedding_pair(
        z_a,
        z_b,
        min_batch=2,
        requirement="VICReg needs a batch of at least 2 examples "
        "(it measures variance over the batch)",
    )
    z_a, z_b, _ = all_gather_pairs(tf.cast(z_a, tf.float32), tf.cast(z_b, tf.float32))
    variance_a, covariance_a = _variance_and_covariance_terms(z_a, epsilon)
    variance_b, covariance_b = _variance_and_covariance_terms(z_b, epsilon)
    return {
        "invariance": tf.reduce_mean(tf.square(z_a - z_b)),
        "variance": (variance_a + variance_b) / 2.0,
        "covariance": covariance_a + covariance_b,
    }


def vicreg(
    z_a: tf.Tensor,
    z_b: tf.Tensor,
    invariance_weight: float = 25.0,
    variance_weight: float = 25.0,
    covariance_weight: float = 1.0,
    epsilon: float = 1e-4,
) -> tf.Tensor:
    """The VICReg loss: the weighted sum of the terms of `vicreg_terms`.

    Args:
        z_a: `(N, D)` embeddings of the first views, N >= 2.
        z_b: `(N, D)` embeddings of the second views, same shape.
        invariance_weight: Weight of the invariance term, >= 0 (paper: 25).
        variance_weight: Weight of the variance term, >= 0 (25 in the official
            code; 50 here is the paper's equation, see `vicreg_terms`).
        covariance_weight: Weight of the covariance term, >= 0 (paper: 1).
        epsilon: Positive constant under the square root of the variance.

    Returns:
        A float32 scalar.

    Example:
    >>> z = tf.random.normal((32, 8))
    >>> loss = vicreg(z, z + 0.1 * tf.random.normal((32, 8)))
    """
    invariance_weight = check_non_negative(invariance_weight, "invariance_weight")
    variance_weight = check_non_negative(variance_weight, "variance_weight")
    covariance_weight = check_non_negative(covariance_weight, "covariance_weight")
    terms = vicreg_terms(z_a, z_b, epsilon)
    return (
        invariance_weight * terms["invariance"]
        + variance_weight * terms["variance"]
        + covariance_weight * terms["covariance"]
    )


def _variance_and_covariance_terms(
    z: tf.Tensor, epsilon: float
) -> tuple[tf.Tensor, tf.Tensor]:
    """One view's variance hinge and off-diagonal covariance penalty."""
    batch = tf.cast(tf.shape(z)[0], tf.float32)
    dim = tf.cast(tf.shape(z)[1], tf.float32)
    centred = z - tf.reduce_mean(z, axis=0)
    covariance = tf.matmul(centred, centred, transpose_a=True) / (batch - 1.0)
    variance = tf.linalg.diag_part(covariance)
    variance_term = tf.reduce_mean(tf.nn.relu(1.0 - tf.sqrt(variance + epsilon)))
    off_diagonal = tf.linalg.set_diag(covariance, tf.zeros_like(variance))
    return variance_term, tf.reduce_sum(tf.square(off_diagonal)) / dim


@keras.saving.register_keras_serializable(package="keras_contrastive")
class VICRegLoss(PairLoss):
    """VICReg as a Keras loss: `VICRegLoss()(None, keras.ops.stack([z_a, z_b], axis=1))`.

    `y_pred` is `(N, 2, D)`, `y_true` is ignored (see `PairLoss`); the result
    equals `vicreg` with the same arguments. A loss of the batch's
    statistics: no `sample_weight`.

    Args:
        invariance_weight: Weight of the invariance term, >= 0.
        variance_weight: Weight of the variance term, >= 0.
        covariance_weight: Weight of the covariance term, >= 0.
        epsilon: Positive constant under the square root of the variance.
        name: The loss's name.
        **kwargs: `reduction` and `dtype`, as in `keras.losses.Loss`.

    Example:
    >>> value = VICRegLoss()(None, tf.random.normal((16, 2, 8)))
    """

    def __init__(
        self,
        invariance_weight: float = 25.0,
        variance_weight: float = 25.0,
        covariance_weight: float = 1.0,
        epsilon: float = 1e-4,
        name: str = "vicreg",
        **kwargs,
    ):
        super().__init__(
            vicreg, name, per_example=False, uses_labels=False,
            invariance_weight=check_non_negative(invariance_weight, "invariance_weight"),
            variance_weight=check_non_negative(variance_weight, "variance_weight"),
            covariance_weight=check_non_negative(covariance_weight, "covariance_weight"),
            epsilon=check_positive(epsilon, "epsilon"), **kwargs,
        )
