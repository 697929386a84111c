"""Mean squared error between L2-normalised predictions and targets (BYOL)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.negative_cosine import paired_cosine_similarity


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
class NormalizedMSE(keras.losses.Loss):
    """BYOL's normalised mean squared error as a serialisable Keras loss.

    Called as `loss(targets, predictions)` (Keras's `y_true`, `y_pred`); the
    result equals `normalized_mse(predictions, targets)`.

    Args:
        name: The loss's name.

    Example:
    >>> value = NormalizedMSE()(tf.random.normal((4, 8)), tf.random.normal((4, 8)))
    """

    def __init__(self, name: str = "normalized_mse", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(name=name, **kwargs)

    def call(self, targets, predictions):
        return normalized_squared_error(predictions, targets)
