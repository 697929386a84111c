"""ResNet-18 with the CIFAR stem, as in the SimCLR CIFAR-10 experiments."""

from __future__ import annotations

import keras

from keras_contrastive.encoders.blocks import conv_bn_relu
from keras_contrastive.encoders.pixel_scaling import image_input
from keras_contrastive.layers.fused_batch_normalization import FusedBatchNormalization


def _basic_block(x, filters: int, strides: int, name: str, bn_momentum: float):
    shortcut = x
    y = conv_bn_relu(x, filters, name=f"{name}_1", strides=strides, bn_momentum=bn_momentum)
    y = keras.layers.Conv2D(
        filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv"
    )(y)
    y = FusedBatchNormalization(momentum=bn_momentum, name=f"{name}_2_bn")(y)
    if strides != 1 or x.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(
            filters, 1, strides=strides, use_bias=False, name=f"{name}_shortcut_conv"
        )(x)
        shortcut = FusedBatchNormalization(momentum=bn_momentum, name=f"{name}_shortcut_bn")(
            shortcut
        )
    y = keras.layers.Add(name=f"{name}_add")([y, shortcut])
    return keras.layers.ReLU(name=f"{name}_out")(y)


def resnet18(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    width: int = 64,
    bn_momentum: float = 0.9,
    name: str = "resnet18",
) -> keras.Model:
    """ResNet-18 with the CIFAR stem: a 3x3 stride-1 convolution and no max-pool.

    Four stages of two basic blocks with `width`, 2x, 4x and 8x filters;
    the embedding is the global average pool of the last stage
    (`8 * width` wide, 512 by default).

    Args:
        input_shape: `(height, width, channels)` of the raw images.
        width: Filters of the first stage (64 in the paper; smaller for CPUs).
        bn_momentum: Momentum of the batch-norm moving statistics.
        name: The model's name.

    Returns:
        A functional `keras.Model` from raw images in [0, 255] to
        `(batch, 8 * width)` embeddings.

    Example:
    >>> resnet18((32, 32, 3)).output_shape
    (None, 512)
    """
    inputs, x = image_input(input_shape)
    x = conv_bn_relu(x, width, name="stem", bn_momentum=bn_momentum)
    for stage, multiple in enumerate((1, 2, 4, 8)):
        for block in range(2):
            strides = 2 if stage > 0 and block == 0 else 1
            x = _basic_block(
                x, width * multiple, strides, name=f"stage{stage + 1}_block{block + 1}",
                bn_momentum=bn_momentum,
            )
    outputs = keras.layers.GlobalAveragePooling2D(name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)
