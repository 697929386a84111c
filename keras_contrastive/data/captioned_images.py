"""The `(image, caption[, label])` dataset the image-caption loaders share, from whatever each reads its images from."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import tensorflow as tf


def captioned_images(
    sources: Sequence,
    captions: Sequence[str],
    labels: np.ndarray,
    class_names: Sequence[str],
    load: Callable[[tf.Tensor], tf.Tensor],
    with_labels: bool,
) -> tf.data.Dataset:
    """A dataset of `(image, caption)` (and the int64 label) made by `load` from each pair's source, in parallel.

    Args:
        sources: One string per pair that `load` makes the image from (PNG
            bytes, a file path).
        captions: The pairs' captions.
        labels: `(N,)` int64 class ids.
        class_names: The classes' names (for zero-shot prompts).
        load: A source string tensor to a uint8 `(H, W, 3)` image, in-graph.
        with_labels: Whether the elements carry the label.

    Returns:
        The dataset, prefetched, with the attributes `class_names`,
        `captions` and `labels` in its order.

    Example:
    >>> pairs = captioned_images(paths, captions, labels, names, lambda path: load_image(path, (64, 64)), False)
    """
    count = len(sources)
    parts = (tf.constant(list(sources), tf.string, shape=[count]), tf.constant(list(captions), tf.string, shape=[count]))
    if with_labels:
        parts += (tf.constant(labels, tf.int64),)

    def element(source, caption, *label):
        return (load(source), caption, *label)

    dataset = tf.data.Dataset.from_tensor_slices(parts).map(element, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    dataset.class_names, dataset.captions, dataset.labels = list(class_names), list(captions), labels
    return dataset
