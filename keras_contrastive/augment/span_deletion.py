"""Deletes one contiguous span of words from each string."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.augment.words import WordAugmentation, random_start, span_mask
from keras_contrastive.validation import check_in_range


@keras.saving.register_keras_serializable(package="keras_contrastive")
class SpanDeletion(WordAugmentation):
    """Deletes a span of about `fraction` of each string's words, at a uniformly random place.

    A string of `n` words loses `fraction * n` consecutive words, rounded at
    random (down or up with the probabilities that make the mean
    `fraction * n`), at most `n - 1`: a non-empty string keeps at least one
    word. The rest keep their order, joined by single spaces.

    Args:
        fraction: Fraction in [0, 1) of the words deleted.
        seed: Optional seed.

    Returns (when called on `(batch,)` strings):
        `(batch,)` strings.

    Example:
    >>> SpanDeletion(0.4, seed=1)(tf.constant(["the quick brown fox jumps"]))
    <tf.Tensor: shape=(1,), dtype=string, numpy=array([b'brown fox jumps'], dtype=object)>
    """

    def __init__(self, fraction: float = 0.1, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.fraction = check_in_range(fraction, "fraction", 0.0, 1.0, include_high=False)

    def keep(self, words: tf.RaggedTensor) -> tf.RaggedTensor:
        count = words.row_lengths()
        exact = self.fraction * tf.cast(count, tf.float32)
        length = tf.cast(tf.floor(exact + self.uniform_per_row(words)), tf.int64)
        length = tf.clip_by_value(length, 0, tf.maximum(count - 1, 0))
        start = random_start(words, length, self.uniform_per_row(words))
        deleted = span_mask(words, start, length)
        return deleted.with_flat_values(tf.logical_not(deleted.flat_values))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(fraction=self.fraction)
        return config
