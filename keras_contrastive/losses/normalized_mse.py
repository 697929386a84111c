"""Mean squared error between L2-normalised predictions and targets (BYOL)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.negative_cosine import paired_cosine_similarity
from keras_contrastive.losses.pair_loss import PairLoss


def normalized_mse(predictions: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """BYOL's loss: mean over rows of `||p/|p| - t/|t|||^2 = 2 - 2 cos(p, t)`.

    Pure: gradients flow into both arguments. BYOL stops the gradient of the
    targets (the momentum network's projections) itself.

    Args:
        predictions: `(N, D)` predictor outputs, N >= 1. Any float dtype.
        targets: `(N, D)` target projections, same shape.

    Returns:
        A float32 scalar in [0, 4].

    Example:
    >>> p = tf.random.normal((8, 16))
    >>> round(float(normalized_mse(p, -p)), 4)
    4.0
    """
    return tf.reduce_mean(normalized_squared_error(predictions, targets))


def normalized_squared_error(predictions: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """`2 - 2 cos(p_i, t_i)` for each row: float32 `(N,)`. Args as in `normalized_mse`."""
    return 2.0 - 2.0 * paired_cosine_similarity(predictions, targets)


@keras.saving.register_keras_serializable(package="keras_contrastive")
class NormalizedMSE(PairLoss):
    """BYOL's normalised MSE as a Keras loss: predictions `y_pred[:, 0]`, targets `y_pred[:, 1]`.

    `y_pred` is `(N, 2, D)`, `y_true` is ignored (see `PairLoss`); the result
    equals `normalized_mse(predictions, targets)`.

    Args:
        name: The loss's name.
        **kwargs: `reduction` and `dtype`, as in `keras.losses.Loss`.

    Example:
    >>> value = NormalizedMSE()(None, tf.random.normal((4, 2, 8)))
    """

    def __init__(self, name: str = "normalized_mse", **kwargs):
        super().__init__(normalized_squared_error, name, per_example=True, uses_labels=False, **kwargs)
