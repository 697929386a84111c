"""A word-level vocabulary learned from the user's corpus, as a Keras layer that saves with the model."""

from __future__ import annotations

from typing import Iterable

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.validation import check_positive_int

#: The standardisations of `keras.layers.TextVectorization` that serialise with the model.
STANDARDIZE_CHOICES = ("lower_and_strip_punctuation", "lower", "strip_punctuation", None)
#: Strings per batch while the vocabulary is counted.
_ADAPT_BATCH = 1024


def train_tokenizer(
    texts: Iterable[str] | np.ndarray | tf.data.Dataset,
    vocabulary_size: int = 20_000,
    sequence_length: int = 64,
    standardize: str | None = "lower_and_strip_punctuation",
) -> keras.layers.TextVectorization:
    """Learns a word vocabulary from `texts` and returns the tokenizer of the text encoders.

    The tokenizer splits on whitespace (after `standardize`), keeps the
    `vocabulary_size - 2` most frequent words, and maps each string to
    `sequence_length` integer ids, truncated or padded at the end: id 0 is
    padding, id 1 every word outside the vocabulary (`[UNK]`). Put it inside
    an encoder (`kc.encoders.text_transformer`, `kc.encoders.bag_of_embeddings`):
    the vocabulary is saved in the model's `.keras` file and in an exported
    SavedModel, so the model takes raw strings everywhere.

    Why word level, with `keras.layers.TextVectorization`: its graph is made of
    core TensorFlow ops only (string lowering, regex replace, split, hash
    table lookup). TensorFlow Serving's model server embeds TF Text 2.12.1,
    so the ops of keras-hub's WordPiece and SentencePiece tokenizers, which
    come from newer TF Text builds, may not load there
    (tensorflow/serving#4057); a SavedModel of this tokenizer loads in the
    stock server. The price is a closed vocabulary: unseen words are `[UNK]`.

    Args:
        texts: The corpus: a list, tuple or other iterable of Python strings,
            a NumPy array of strings, or a `tf.data.Dataset` of strings
            (batched or not). It is read once, a batch at a time.
        vocabulary_size: Size of the vocabulary including padding and `[UNK]`
            (the embedding tables' number of rows); at least 3.
        sequence_length: Ids per string; longer strings are truncated.
        standardize: `"lower_and_strip_punctuation"`, `"lower"`,
            `"strip_punctuation"` or None (as it is). ASCII letters are
            lowered; other characters are kept as they are.

    Returns:
        An adapted `keras.layers.TextVectorization` named "tokenizer", from
        `(batch,)` strings to int64 `(batch, sequence_length)` ids.

    Raises:
        ValueError: for an empty corpus or one without any word, items that
            are not strings, a vocabulary_size below 3, a sequence_length
            that is not a positive integer, or an unknown standardize.

    Example:
    >>> tokenizer = train_tokenizer(["a red car", "a black cat"], vocabulary_size=200, sequence_length=8)
    >>> tokenizer.get_vocabulary()[:4] == ["", "[UNK]", "a", "red"]
    True
    >>> tokenizer(["A red dog!"]).numpy()  # "dog" is not in the vocabulary
    array([[2, 3, 1, 0, 0, 0, 0, 0]])
    """
    vocabulary_size = check_positive_int(vocabulary_size, "vocabulary_size", minimum=3)
    sequence_length = check_positive_int(sequence_length, "sequence_length")
    if standardize not in STANDARDIZE_CHOICES:
        raise ValueError(
            f"standardize must be one of {', '.join(map(repr, STANDARDIZE_CHOICES))}; got {standardize!r}."
        )
    dataset = _string_batches(texts)
    tokenizer = keras.layers.TextVectorization(
        max_tokens=vocabulary_size,
        standardize=standardize,
        split="whitespace",
        output_mode="int",
        output_sequence_length=sequence_length,
        name="tokenizer",
    )
    tokenizer.adapt(dataset)
    if tokenizer.vocabulary_size() <= 2:
        raise ValueError(
            "The corpus has no words to learn a vocabulary from: expected strings holding "
            "whitespace-separated words, got only empty strings (or no strings at all)."
        )
    # Made again from the learned words, so that the vocabulary is part of the layer's config: a copy of an
    # encoder from its config (the random-init baseline, a clone for fine-tuning) tokenizes as the original.
    return keras.layers.TextVectorization(
        max_tokens=vocabulary_size,
        standardize=standardize,
        split="whitespace",
        output_mode="int",
        output_sequence_length=sequence_length,
        vocabulary=[str(word) for word in tokenizer.get_vocabulary()],
        name="tokenizer",
    )


def _string_batches(texts) -> tf.data.Dataset:
    """`texts` as a dataset of `(batch,)` string tensors, or a ValueError naming what was expected."""
    expected = "an iterable, NumPy array or tf.data.Dataset of strings"
    if isinstance(texts, tf.data.Dataset):
        spec = texts.element_spec
        if not isinstance(spec, tf.TensorSpec) or spec.dtype != tf.string or spec.shape.rank not in (0, 1):
            raise ValueError(
                f"texts must be {expected}; the dataset's elements are {spec} (expected scalar strings "
                "or (batch,) batches of strings, e.g. map away the labels first)."
            )
        return texts.batch(_ADAPT_BATCH) if spec.shape.rank == 0 else texts
    if isinstance(texts, (str, bytes)):
        raise ValueError(f"texts must be {expected}, got a single string; wrap it in a list.")
    if isinstance(texts, np.ndarray):
        if texts.ndim != 1:
            raise ValueError(f"texts must be {expected} of shape (N,), got an array of shape {texts.shape}.")
        items = texts.tolist()
    else:
        try:
            items = list(texts)
        except TypeError:
            raise ValueError(f"texts must be {expected}, got {type(texts).__name__}.") from None
    if not items:
        raise ValueError(f"texts must be {expected}; the corpus is empty.")
    for position, item in enumerate(items):
        if not isinstance(item, (str, bytes)):
            raise ValueError(
                f"texts must be {expected}; item {position} is a {type(item).__name__} ({item!r:.60})."
            )
    strings = np.array([item.encode("utf-8") if isinstance(item, str) else item for item in items], dtype=object)
    return tf.data.Dataset.from_tensor_slices(strings).batch(_ADAPT_BATCH)
