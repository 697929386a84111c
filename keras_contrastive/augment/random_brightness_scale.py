"""Brightness as SimCLR changes it: each image's pixels multiplied by its own random factor."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.validation import check_in_range


@keras.saving.register_keras_serializable(package="keras_contrastive")
class RandomBrightnessScale(keras.layers.Layer):
    """Multiplies each image by a factor drawn uniformly from `[1 - factor, 1 + factor]`, clipped to the range.

    torchvision's `ColorJitter(brightness=factor)`, which SimCLR uses. Keras's
    `RandomBrightness` adds `factor * 255` instead: at SimCLR's strength 0.8
    that turns a picture on a white background to pure white (or near
    black) in a large share of the views, where a scale keeps its shapes.

    Args:
        factor: Largest relative change, in [0, 1].
        value_range: The pixels' range, `(0, 255)` for raw images.
        seed: Optional seed.

    Example:
    >>> views = RandomBrightnessScale(0.8)(images)   # each image times a factor in [0.2, 1.8]
    """

    def __init__(self, factor: float, value_range: tuple[float, float] = (0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = check_in_range(factor, "factor", 0.0, 1.0)
        self.value_range = tuple(float(v) for v in value_range)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        images = tf.cast(images, tf.float32)
        if not training:
            return images
        scale = keras.random.uniform((tf.shape(images)[0], 1, 1, 1), 1.0 - self.factor, 1.0 + self.factor,
                                     seed=self.seed_generator)
        low, high = self.value_range
        return tf.clip_by_value(low + (images - low) * scale, low, high)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(factor=self.factor, value_range=self.value_range, seed=self.seed)
        return config
