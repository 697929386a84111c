"""Inception-style random resized crop with a different box for every image."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from keras_contrastive.validation import check_positive_int


@keras.saving.register_keras_serializable(package="keras_contrastive")
class RandomResizedCrop(keras.layers.Layer):
    """Crops a random box from each image and resizes it to `size` x `size`.

    Each image of a batch gets its own box: an area fraction drawn uniformly
    from `scale` and an aspect ratio drawn log-uniformly from `ratio`, placed
    uniformly at random (boxes wider or taller than the image are clipped to
    it). Keras's `RandomCrop` uses one offset for the whole batch, which would
    give every image in a contrastive batch the same crop.

    Args:
        size: Output height and width.
        scale: Range of the box's area as a fraction of the image's.
        ratio: Range of the box's width / height.
        seed: Optional seed for reproducible crops.

    Returns (when called):
        float32 `(batch, size, size, channels)` images, values in the input's range.

    Example:
    >>> crop = RandomResizedCrop(24, scale=(0.2, 1.0))
    >>> crop(tf.zeros((8, 28, 28, 1))).shape
    TensorShape([8, 24, 24, 1])
    """

    def __init__(
        self,
        size: int,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        size = check_positive_int(size, "size")
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f"scale must satisfy 0 < low <= high <= 1, got {scale!r}.")
        if not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"ratio must satisfy 0 < low <= high, got {ratio!r}.")
        self.size = int(size)
        self.scale = (float(scale[0]), float(scale[1]))
        self.ratio = (float(ratio[0]), float(ratio[1]))
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images):
        images = tf.convert_to_tensor(images)
        if images.shape.rank != 4:
            raise ValueError(
                "RandomResizedCrop expects a batch of images (batch, height, width, "
                f"channels), got shape {tuple(images.shape)}. (make_views batches single images itself: "
                "a dataset that is batched already gives rank 5; unbatch it first.)"
            )
        images = tf.cast(images, tf.float32)
        # A static batch size keeps the boxes' shape static, which TF's graph
        # cost model needs (unknown, it logs a warning per traced pipeline).
        batch = images.shape[0] if images.shape[0] is not None else tf.shape(images)[0]
        height = tf.cast(tf.shape(images)[1], tf.float32)
        width = tf.cast(tf.shape(images)[2], tf.float32)
        area = keras.random.uniform(
            (batch,), *self.scale, seed=self.seed_generator
        )
        log_ratio = keras.random.uniform(
            (batch,), math.log(self.ratio[0]), math.log(self.ratio[1]),
            seed=self.seed_generator,
        )
        aspect = tf.exp(log_ratio) * height / width  # box w/h in normalised units
        box_h = tf.minimum(tf.sqrt(area / aspect), 1.0)
        box_w = tf.minimum(tf.sqrt(area * aspect), 1.0)
        top = keras.random.uniform((batch,), seed=self.seed_generator) * (1.0 - box_h)
        left = keras.random.uniform((batch,), seed=self.seed_generator) * (1.0 - box_w)
        boxes = tf.stack([top, left, top + box_h, left + box_w], axis=1)
        return tf.image.crop_and_resize(
            images, boxes, tf.range(batch), (self.size, self.size), method="bilinear"
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(size=self.size, scale=self.scale, ratio=self.ratio, seed=self.seed)
        return config
