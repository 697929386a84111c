"""Labelled images as two in-memory arrays, from arrays or a tf.data pipeline."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def labelled_arrays(data, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Collects `(images, labels)` from a `tf.data.Dataset` or a pair of arrays.

    The dataset is read once, so images and labels stay paired even when it
    shuffles.

    Args:
        data: A `tf.data.Dataset` of `(image, label)` or batched
            `(images, labels)`, or a tuple `(images, labels)` of arrays.
        batch_size: Batch size used to read an unbatched dataset.

    Returns:
        `(images, labels)`: images `(N, H, W, C)` as given, int64 labels `(N,)`.

    Example:
    >>> images, labels = labelled_arrays(kc.data.load("digits", split="test"))
    """
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if not isinstance(spec, tuple) or len(spec) != 2:
            raise ValueError(
                "Expected a dataset of (image, label) pairs, got elements of spec "
                f"{spec}. Load it with labels, e.g. kc.data.load(name, with_labels=True)."
            )
        if spec[0].shape.rank == 3:
            data = data.batch(batch_size)
        elif spec[0].shape.rank != 4:
            raise ValueError(
                "Expected images of shape (height, width, channels), or batches of them, "
                f"got {spec[0].shape}."
            )
        batches = list(data.as_numpy_iterator())
        if not batches:
            raise ValueError("The dataset is empty.")
        images = np.concatenate([batch[0] for batch in batches])
        labels = np.concatenate([np.reshape(batch[1], -1) for batch in batches])
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = np.asarray(data[0]), np.asarray(data[1]).reshape(-1)
    else:
        raise ValueError(
            "Expected a tf.data.Dataset of (image, label) pairs or a tuple (images, labels), "
            f"got {type(data).__name__}."
        )
    if images.ndim != 4:
        raise ValueError(f"Expected images of shape (N, height, width, channels), got {images.shape}.")
    if len(images) != len(labels):
        raise ValueError(f"Got {len(images)} images and {len(labels)} labels; the counts must match.")
    return images, labels.astype(np.int64)
