"""A small VGG-style CNN for 28x28 and 32x32 images on a CPU budget."""

from __future__ import annotations

import keras

from keras_contrastive.encoders.blocks import conv_bn_relu
from keras_contrastive.encoders.pixel_scaling import image_input


def small_cnn(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    widths: tuple[int, ...] = (32, 64, 128),
    bn_momentum: float = 0.9,
    name: str = "small_cnn",
) -> keras.Model:
    """Stages of two conv-BN-ReLU layers, 2x2 max-pool between stages, global average pool.

    With the default widths this is conv 32-32, pool, 64-64, pool, 128-128,
    global average pool: a 128-d embedding, about 290k weights.

    Args:
        input_shape: `(height, width, channels)` of the raw images.
        widths: Filters of each stage.
        bn_momentum: Momentum of the batch-norm moving statistics. 0.9 (PyTorch's
            0.1) lets them keep up with the weights in short runs; Keras's usual
            0.99 lags for hundreds of steps.
        name: The model's name.

    Returns:
        A functional `keras.Model` from raw images in [0, 255] to
        `(batch, widths[-1])` embeddings.

    Example:
    >>> encoder = small_cnn((28, 28, 1))
    >>> encoder.output_shape
    (None, 128)
    """
    inputs, x = image_input(input_shape)
    for stage, filters in enumerate(widths):
        if stage > 0:
            x = keras.layers.MaxPooling2D(2, name=f"pool{stage}")(x)
        x = conv_bn_relu(x, filters, name=f"stage{stage + 1}a", bn_momentum=bn_momentum)
        x = conv_bn_relu(x, filters, name=f"stage{stage + 1}b", bn_momentum=bn_momentum)
    outputs = keras.layers.GlobalAveragePooling2D(name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)
