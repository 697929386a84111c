"""Batch normalisation through TensorFlow's fused kernel, with Keras 3's semantics."""

from __future__ import annotations

import keras
import tensorflow as tf

# The fused kernel takes these input dtypes (scale, offset and statistics in float32).
_FUSED_DTYPES = ("float16", "bfloat16", "float32")
# tf.nn.fused_batch_norm raises smaller epsilons to this (a cuDNN limit).
_FUSED_MIN_EPSILON = 1.001e-5


@keras.saving.register_keras_serializable(package="keras_contrastive")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` computed by TF's fused kernel.

    Keras 3 normalises with separate moment, subtract, multiply and add ops,
    and differentiates through each of them; legacy Keras called TF's
    `FusedBatchNormV3`, which does the forward pass and its gradient in one
    kernel each, on the CPU, the GPU and under XLA. This layer does the
    same and keeps everything else of Keras 3's layer: its arguments,
    weights (same names, so weights load either way), `get_config`, and its
    moving averages, `moving = momentum * moving + (1 - momentum) * batch`
    with the biased batch variance.

    The fused path is taken for a channels-last axis and float16, bfloat16
    or float32 inputs of any rank (flattened to 4-D); anything else
    (another axis, float64, masks, renorm, synchronised statistics, an
    epsilon below 1.001e-5) runs Keras's own computation unchanged.

    Args:
        **kwargs: Those of `keras.layers.BatchNormalization`.

    Example:
    >>> bn = FusedBatchNormalization(momentum=0.9)
    >>> bn(tf.ones((8, 4, 4, 16)), training=True).shape
    TensorShape([8, 4, 4, 16])
    """

    def _fuses(self, inputs, mask) -> bool:
        rank = len(inputs.shape)
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.renorm
            and not self.synchronized
            and self.axis in (-1, rank - 1)
            and self.epsilon >= _FUSED_MIN_EPSILON
            and keras.backend.standardize_dtype(inputs.dtype) in _FUSED_DTYPES
            and inputs.shape[-1] is not None
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fuses(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        x = inputs if len(inputs.shape) == 4 else tf.reshape(inputs, (-1, 1, 1, channels))
        gamma = self.gamma if self.scale else tf.ones((channels,), tf.float32)
        beta = self.beta if self.center else tf.zeros((channels,), tf.float32)
        gamma, beta = tf.cast(gamma, tf.float32), tf.cast(beta, tf.float32)
        if training and self.trainable:
            y, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, epsilon=self.epsilon, is_training=True
            )
            # The kernel returns the Bessel-corrected variance; Keras averages
            # the biased one.
            count = tf.cast(tf.size(x) // channels, tf.float32)
            variance = unbiased_variance * tf.math.maximum(count - 1.0, 0.0) / count
            self.moving_mean.assign(
                self.moving_mean * self.momentum + tf.cast(mean, self.moving_mean.dtype) * (1.0 - self.momentum)
            )
            self.moving_variance.assign(
                self.moving_variance * self.momentum
                + tf.cast(variance, self.moving_variance.dtype) * (1.0 - self.momentum)
            )
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta,
                mean=tf.cast(self.moving_mean, tf.float32),
                variance=tf.cast(self.moving_variance, tf.float32),
                epsilon=self.epsilon, is_training=False,
            )
        if len(inputs.shape) != 4:
            y = tf.reshape(y, tf.shape(inputs))
        return tf.cast(y, self.compute_dtype)
