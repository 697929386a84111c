"""Checks of what similarity search takes: embeddings as unit rows, string ids, and k.

Like `kc.validation`, every check raises `ValueError` naming the argument and
what was expected, and returns the value in the form the caller stores.
"""

from __future__ import annotations

import collections

import numpy as np

from keras_contrastive.validation import check_positive_int

#: Rows normalised at once in float64.
_CHUNK_ROWS = 65536


def unit_rows(embeddings, name: str, dim: int | None = None) -> np.ndarray:
    """`embeddings` as float32 rows of unit length, for cosine similarity by inner product.

    The norms are taken in float64, so rows that already have unit length
    in exact arithmetic (and their power-of-two multiples) come out unchanged.

    Args:
        embeddings: A `(N, D)` array or tensor of finite numbers.
        name: The argument's name, for the messages.
        dim: The width the rows must have (an index's), or None for any.

    Returns:
        A float32 `(N, D)` array whose rows have L2 norm 1.

    Raises:
        ValueError: for anything but a 2-D array of numbers, another width
            than `dim`, a NaN or infinite value, or a row of zeros (whose
            cosine similarity is undefined).

    Example:
    >>> unit_rows([[3.0, 4.0]], "embeddings")
    array([[0.6, 0.8]], dtype=float32)
    """
    array = np.asarray(embeddings)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"Expected {name} to be a (N, D) array of numbers, got dtype {array.dtype}.")
    if array.ndim != 2:
        raise ValueError(f"Expected {name} to be a (N, D) array of embeddings, got shape {array.shape}.")
    if dim is not None and array.shape[1] != dim:
        raise ValueError(f"Expected {name} of width {dim} (the index's), got shape {array.shape}.")
    rows = np.empty(array.shape, np.float32)
    finite, nonzero = np.ones(len(array), bool), np.ones(len(array), bool)
    for start in range(0, len(array), _CHUNK_ROWS):  # float64 a chunk at a time, not a copy of all
        chunk = array[start : start + _CHUNK_ROWS].astype(np.float64)
        finite[start : start + len(chunk)] = np.isfinite(chunk).all(axis=1)
        norms = np.linalg.norm(chunk, axis=1, keepdims=True)
        nonzero[start : start + len(chunk)] = norms[:, 0] > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            rows[start : start + len(chunk)] = chunk / norms
    if not finite.all():
        raise ValueError(
            f"Expected finite {name}, but {int((~finite).sum())} row(s) hold NaN or infinity, "
            f"first row {int(np.argmin(finite))}."
        )
    if not nonzero.all():
        raise ValueError(
            f"Expected non-zero {name} (cosine similarity is undefined for a zero vector), but "
            f"{int((~nonzero).sum())} row(s) are all zeros, first row {int(np.argmin(nonzero))}."
        )
    return rows


def check_ids(ids, count: int | None, name: str = "ids", of: str = "embeddings") -> np.ndarray:
    """`ids` as a 1-D object array of distinct Python strings, one per embedding.

    Bytes (as TensorFlow returns strings) are decoded as UTF-8.

    Args:
        ids: A sequence or 1-D array of strings.
        count: How many there must be (the number of embeddings), or None
            when that is not known yet.
        name: The argument's name, for the messages.
        of: What the ids name, for the messages, e.g. "images".

    Returns:
        A 1-D numpy array of dtype object holding `str`.

    Raises:
        ValueError: for None, a single string, anything but strings, bytes
            that are not UTF-8, another count than `count`, or an id given
            twice (ids name their embedding: a repeated one would make
            search results ambiguous).

    Example:
    >>> check_ids(["cat.jpg", "dog.jpg"], 2)
    array(['cat.jpg', 'dog.jpg'], dtype=object)
    """
    if ids is None or isinstance(ids, (str, bytes)):
        raise ValueError(f"Expected {name} to be a sequence of strings, one for each of the {of}, got {ids!r}.")
    array = np.asarray(ids, dtype=object)
    if array.ndim != 1:
        raise ValueError(f"Expected {name} to be a 1-D sequence of strings, got shape {array.shape}.")
    strings = []
    for position, value in enumerate(array):
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(
                    f"Expected {name} to be strings, but {name}[{position}] is bytes that are not UTF-8."
                ) from None
        if not isinstance(value, str):
            raise ValueError(
                f"Expected {name} to be strings, but {name}[{position}] is {type(value).__name__} ({value!r})."
            )
        strings.append(str(value))
    if count is not None and len(strings) != count:
        raise ValueError(f"Expected {count} {name}, one for each of the {count} {of}, got {len(strings)}.")
    if len(set(strings)) != len(strings):
        repeated = [value for value, times in collections.Counter(strings).items() if times > 1]
        raise ValueError(
            f"Expected distinct {name}, but {len(repeated)} are repeated, e.g. {', '.join(map(repr, repeated[:3]))}."
        )
    result = np.empty(len(strings), dtype=object)
    result[:] = strings
    return result


def check_k(k, size: int, what: str = "rows in the index") -> int:
    """`k` as an int, or a ValueError unless 1 <= k <= `size`.

    Args:
        k: The number of neighbours asked for.
        size: How many can be returned.
        what: What `size` counts, for the message.

    Returns:
        `k` as a Python int.

    Example:
    >>> check_k(10, 1000)
    10
    """
    k = check_positive_int(k, "k")
    if k > size:
        raise ValueError(f"k must be between 1 and the {size} {what}, got {k}.")
    return k
