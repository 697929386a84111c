"""Applies a layer to each image of a batch with a given probability."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_contrastive")
class RandomApply(keras.layers.Layer):
    """Each image gets `layer(image)` with probability `rate`, else stays as it is.

    The layer runs on the whole batch (vectorised) and the result is chosen
    per image, as torchvision's `RandomApply` does image by image.

    Args:
        layer: A Keras layer mapping a batch of images to a batch of the same shape.
        rate: Probability in [0, 1] that an image is transformed.
        seed: Optional seed.

    Example:
    >>> jitter = RandomApply(keras.layers.RandomContrast(0.4), rate=0.8)
    """

    def __init__(self, layer: keras.layers.Layer, rate: float = 0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be a probability in [0, 1], got {rate!r}.")
        self.layer = layer
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        images = tf.cast(images, tf.float32)
        transformed = tf.cast(self.layer(images, training=training), tf.float32)
        chosen = keras.random.uniform((tf.shape(images)[0], 1, 1, 1), seed=self.seed_generator)
        return tf.where(chosen < self.rate, transformed, images)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            layer=keras.saving.serialize_keras_object(self.layer),
            rate=self.rate,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)
