"""Building blocks shared by the built-in encoders."""

from __future__ import annotations

import keras

from keras_contrastive.layers.fused_batch_normalization import FusedBatchNormalization


def conv_bn_relu(x, filters: int, name: str, strides: int = 1, bn_momentum: float = 0.9):
    """3x3 convolution (no bias) -> BatchNorm (TF's fused kernel) -> ReLU."""
    x = keras.layers.Conv2D(
        filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = FusedBatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)
