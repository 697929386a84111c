"""The tower of an id (a user, an item): a vocabulary lookup with out-of-vocabulary buckets, then an embedding."""

from __future__ import annotations

import collections
from typing import Iterable

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.validation import check_positive_int

#: Ids per batch while a dataset of ids is read.
_READ_BATCH = 65_536


def id_array(ids: Iterable | np.ndarray | tf.data.Dataset, name: str = "ids") -> np.ndarray:
    """`ids` as a 1-D NumPy array of Python strings (object dtype) or of int64.

    Args:
        ids: A list, tuple, NumPy array or tensor of string or integer ids, or a
            `tf.data.Dataset` of scalar ids (batched or not).
        name: The argument's name, for the messages.

    Raises:
        ValueError: for no ids, or ids that are neither all strings nor all integers.
    """
    if isinstance(ids, tf.data.Dataset):
        spec = ids.element_spec
        if not isinstance(spec, tf.TensorSpec) or spec.shape.rank not in (0, 1):
            raise ValueError(f"{name} must be a dataset of scalar ids (or batches of them), got elements {spec}.")
        scalars = ids.unbatch() if spec.shape.rank == 1 else ids
        parts = list(scalars.batch(_READ_BATCH).as_numpy_iterator())
        ids = np.concatenate(parts) if parts else np.zeros((0,), np.int64)
    elif tf.is_tensor(ids):
        ids = ids.numpy()
    array = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids))
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of ids, got shape {array.shape}.")
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "S":
        return np.array([value.decode("utf-8") for value in array], dtype=object)
    if array.dtype.kind == "U" or (array.dtype.kind == "O" and all(isinstance(v, (str, bytes)) for v in array)):
        return np.array([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in array], dtype=object)
    raise ValueError(
        f"{name} must be all strings or all integers, got dtype {array.dtype} ({array[:3].tolist()}, ...)."
    )


def id_vocabulary(ids, min_count: int = 1, name: str = "ids") -> list:
    """The distinct ids occurring at least `min_count` times, most frequent first (ties by id).

    Example:
    >>> id_vocabulary(["b", "a", "b", "c"], min_count=1)
    ['b', 'a', 'c']
    """
    min_count = check_positive_int(min_count, "min_count")
    array = id_array(ids, name)
    counts = collections.Counter(array.tolist())
    vocabulary = sorted((value for value, count in counts.items() if count >= min_count),
                        key=lambda value: (-counts[value], value))
    if not vocabulary:
        raise ValueError(f"No id of {name} occurs min_count={min_count} times; lower min_count.")
    return vocabulary


def id_lookup(vocabulary: list, num_oov_indices: int, name: str) -> keras.layers.Layer:
    """A `StringLookup` (string ids) or `IntegerLookup` (integer ids) of `vocabulary`, OOV indices first."""
    if isinstance(vocabulary[0], str):
        return keras.layers.StringLookup(vocabulary=vocabulary, num_oov_indices=num_oov_indices, mask_token=None,
                                         name=name)
    if -1 in vocabulary:
        raise ValueError("Integer ids must not include -1, the out-of-vocabulary token of keras.layers.IntegerLookup.")
    return keras.layers.IntegerLookup(vocabulary=vocabulary, num_oov_indices=num_oov_indices, mask_token=None,
                                      name=name)


def id_input(vocabulary: list, name: str) -> keras.KerasTensor:
    """A `keras.Input` of `(batch,)` ids of the vocabulary's kind: strings, or int64."""
    return keras.Input(shape=(), dtype="string" if isinstance(vocabulary[0], str) else "int64", name=name)


def id_tower(
    ids: Iterable | np.ndarray | tf.data.Dataset,
    embedding_dim: int = 64,
    min_count: int = 1,
    num_oov_buckets: int = 1,
    input_name: str = "ids",
    name: str = "id_tower",
) -> keras.Model:
    """An embedding per id, learned: the user tower of a two-tower recommender (or a plain item tower).

    The vocabulary is the distinct `ids` (e.g. the users of the training
    interactions, repeats allowed) occurring at least `min_count` times;
    `keras.layers.StringLookup` (string ids) or `IntegerLookup` (integer ids)
    maps them to rows of a `keras.layers.Embedding`, and every other id to
    one of `num_oov_buckets` rows (hashed by the id when there are several),
    so that users never seen in training still embed. An OOV row learns
    only from ids outside the vocabulary: with `min_count > 1` the rare ids
    of the training data train it, making it a "rare user" embedding; with
    `min_count=1` it keeps its initial values. The vocabulary is in the
    model's config, so it is saved in the `.keras` file and in an exported
    SavedModel, which takes the raw ids (core TensorFlow ops only).

    Args:
        ids: The ids: a list, array or tensor of strings or integers, or a
            `tf.data.Dataset` of scalar ids, read once.
        embedding_dim: The embedding's width.
        min_count: How many times an id must occur to get its own row.
        num_oov_buckets: Rows shared by the ids outside the vocabulary.
        input_name: The name of the model's input.
        name: The model's name.

    Returns:
        A functional `keras.Model` from `(batch,)` ids (strings, or int64
        for integer ids) to float32 `(batch, embedding_dim)`.

    Raises:
        ValueError: for no ids, ids of mixed kinds, or settings that are not
            positive integers.

    Example:
    >>> users = id_tower(["u1", "u2", "u1"], embedding_dim=8)
    >>> users(tf.constant(["u2", "never-seen"])).shape
    TensorShape([2, 8])
    """
    embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
    num_oov_buckets = check_positive_int(num_oov_buckets, "num_oov_buckets")
    vocabulary = id_vocabulary(ids, min_count)
    inputs = id_input(vocabulary, input_name)
    indices = id_lookup(vocabulary, num_oov_buckets, "id_lookup")(inputs)
    outputs = keras.layers.Embedding(len(vocabulary) + num_oov_buckets, embedding_dim, name="id_embedding")(indices)
    return keras.Model(inputs, outputs, name=name)
