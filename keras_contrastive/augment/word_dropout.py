"""Drops each word of a string with a given probability, never all of them."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.augment.words import WordAugmentation
from keras_contrastive.validation import check_in_range


@keras.saving.register_keras_serializable(package="keras_contrastive")
class WordDropout(WordAugmentation):
    """Each whitespace-separated word is dropped with probability `rate`, independently.

    A non-empty string always keeps at least one word: when every word of a
    string is drawn for dropping, its word of highest draw (a uniformly
    random one) stays. Kept words keep their order and are joined by single
    spaces; an empty (or blank) string gives "". Runs inside `tf.data` and
    in a graph; each string gets its own draws on every call.

    Args:
        rate: Probability in [0, 1] that a word is dropped.
        seed: Optional seed.

    Returns (when called on `(batch,)` strings):
        `(batch,)` strings.

    Example:
    >>> WordDropout(0.3, seed=1)(tf.constant(["the quick brown fox jumps", ""]))
    <tf.Tensor: shape=(2,), dtype=string, numpy=array([b'the quick brown fox', b''], dtype=object)>
    """

    def __init__(self, rate: float = 0.1, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = check_in_range(rate, "rate", 0.0, 1.0)

    def keep(self, words: tf.RaggedTensor) -> tf.RaggedTensor:
        draws = keras.random.uniform(tf.shape(words.flat_values), seed=self.seed_generator)
        rows = words.value_rowids()
        highest = tf.gather(tf.math.unsorted_segment_max(draws, rows, words.nrows()), rows)
        return words.with_flat_values((draws >= self.rate) | (draws >= highest))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(rate=self.rate)
        return config
