"""The base of the text views: a batch of strings split into words, a random subset kept, joined again."""

from __future__ import annotations

import keras
import tensorflow as tf


class WordAugmentation(keras.layers.Layer):
    """A layer from `(batch,)` strings to `(batch,)` strings that keeps some of each string's words.

    Words are the whitespace-separated pieces (`tf.strings.split`); the
    words kept, in their order, are joined by single spaces. Subclasses say
    which words are kept, from the ragged words and the layer's seed
    generator. Everything is TF ops, so the layers run inside `tf.data`
    `map` calls and in a model's graph, and each string gets its own draw on
    every call. Called with `training=False` the strings pass unchanged.

    Args:
        seed: Optional seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: Those of `keras.layers.Layer`.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, strings, training=True):
        strings = tf.convert_to_tensor(strings)
        if strings.dtype != tf.string or strings.shape.rank != 1:
            raise ValueError(
                f"{type(self).__name__} expects a batch of strings of shape (batch,), got dtype "
                f"{strings.dtype.name} and shape {tuple(strings.shape)} (batch single strings first)."
            )
        if training is False:
            return strings
        words = tf.strings.split(strings)
        keep = self.keep(words)
        return tf.strings.reduce_join(tf.ragged.boolean_mask(words, keep), axis=1, separator=" ")

    def keep(self, words: tf.RaggedTensor) -> tf.RaggedTensor:
        """A ragged boolean tensor of `words`' shape: the words kept."""
        raise NotImplementedError

    def uniform_per_row(self, words: tf.RaggedTensor) -> tf.Tensor:
        """One uniform [0, 1) draw per string."""
        return keras.random.uniform((words.nrows(),), seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(seed=self.seed)
        return config


def positions(words: tf.RaggedTensor) -> tf.Tensor:
    """The position of every word in its string, flat (aligned with `words.flat_values`)."""
    return tf.ragged.range(words.row_lengths()).flat_values


def span_mask(words: tf.RaggedTensor, start: tf.Tensor, length: tf.Tensor) -> tf.RaggedTensor:
    """Ragged booleans: True for the words at positions `start <= i < start + length` of each string."""
    rows = words.value_rowids()
    position = positions(words)
    begin, end = tf.gather(start, rows), tf.gather(start + length, rows)
    return words.with_flat_values((position >= begin) & (position < end))


def random_start(words: tf.RaggedTensor, length: tf.Tensor, uniform: tf.Tensor) -> tf.Tensor:
    """A uniform start in `[0, n - length]` of each string's span of `length` words."""
    free = words.row_lengths() - length
    start = tf.cast(tf.floor(uniform * tf.cast(free + 1, tf.float32)), tf.int64)
    return tf.clip_by_value(start, 0, tf.maximum(free, 0))
