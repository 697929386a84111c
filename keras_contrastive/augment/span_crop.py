"""Keeps one contiguous span of words of each string: a random crop of text."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.augment.words import WordAugmentation, random_start, span_mask
from keras_contrastive.validation import check_in_range


@keras.saving.register_keras_serializable(package="keras_contrastive")
class SpanCrop(WordAugmentation):
    """Keeps a span of at least `min_fraction` of each string's words, at a uniformly random place.

    A string of `n` words keeps `L` consecutive words, `L` drawn uniformly
    from `ceil(min_fraction * n)` to `n` (at least one word of a non-empty
    string), the span's start uniformly from the places it fits. The text
    analogue of a random resized crop.

    Args:
        min_fraction: Smallest fraction in (0, 1] of the words kept.
        seed: Optional seed.

    Returns (when called on `(batch,)` strings):
        `(batch,)` strings.

    Example:
    >>> crop = SpanCrop(0.5)
    >>> crop(tf.constant(["the quick brown fox jumps", ""])).shape  # e.g. b'quick brown fox', b''
    TensorShape([2])
    """

    def __init__(self, min_fraction: float = 0.5, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.min_fraction = check_in_range(min_fraction, "min_fraction", 0.0, 1.0)
        if self.min_fraction == 0.0:
            raise ValueError(f"min_fraction must be a number in (0, 1], got {min_fraction!r}.")

    def keep(self, words: tf.RaggedTensor) -> tf.RaggedTensor:
        count = words.row_lengths()
        shortest = tf.minimum(tf.cast(tf.math.ceil(self.min_fraction * tf.cast(count, tf.float64)), tf.int64), count)
        choices = tf.cast(count - shortest + 1, tf.float32)
        length = shortest + tf.cast(tf.floor(self.uniform_per_row(words) * choices), tf.int64)
        length = tf.minimum(length, count)
        return span_mask(words, random_start(words, length, self.uniform_per_row(words)), length)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(min_fraction=self.min_fraction)
        return config
