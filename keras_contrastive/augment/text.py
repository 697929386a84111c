"""The text view preset: span crop, span deletion and word dropout, for the two-view methods."""

from __future__ import annotations

import keras

from keras_contrastive.augment.span_crop import SpanCrop
from keras_contrastive.augment.span_deletion import SpanDeletion
from keras_contrastive.augment.word_dropout import WordDropout


def text(
    word_dropout: float | None = 0.1,
    span_deletion: float | None = 0.1,
    span_crop: float | None = None,
    seed: int | None = None,
) -> keras.layers.Pipeline:
    """Views of sentences for SimCLR-style methods: crop a span, delete a span, drop words.

    Applied in that order, each string its own draws: `SpanCrop(span_crop)`
    keeps a span of at least that fraction of the words, `SpanDeletion`
    deletes about `span_deletion` of them in one span, `WordDropout` drops
    each remaining word with probability `word_dropout`. None (or 0) leaves
    a step out. A non-empty string never loses all its words. Works on
    `(batch,)` string tensors, inside `tf.data` (`kc.data.make_views`) and
    in a graph. (SimCSE needs no views: the encoder's dropout makes them.)

    Args:
        word_dropout: Probability in [0, 1] that a word is dropped, or None.
        span_deletion: Fraction in [0, 1) of the words deleted in one span, or None.
        span_crop: Smallest fraction in (0, 1] of the words a crop keeps, or None.
        seed: Optional seed.

    Returns:
        A `keras.layers.Pipeline` from `(batch,)` strings to `(batch,)` strings.

    Raises:
        ValueError: for a value outside its range, or when every step is left out.

    Example:
    >>> augment = text(word_dropout=0.1, span_deletion=0.1)
    >>> views = make_views(tf.data.Dataset.from_tensor_slices(sentences), augment, batch_size=256)
    """
    layers = []
    if span_crop is not None:
        layers.append(SpanCrop(span_crop, seed=seed))
    if span_deletion:
        layers.append(SpanDeletion(span_deletion, seed=seed))
    if word_dropout:
        layers.append(WordDropout(word_dropout, seed=seed))
    if not layers:
        raise ValueError(
            "text() needs at least one of word_dropout, span_deletion and span_crop; got none. "
            "For views that differ only by the encoder's dropout (SimCSE), use the sentences as they are."
        )
    return keras.layers.Pipeline(layers, name="text_views")
