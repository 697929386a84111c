"""from_files: a streamed `tf.data` set of images decoded from a list of files."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import tensorflow as tf

from keras_contrastive.data.decode import image_size_pair
from keras_contrastive.data.decode import load_image
from keras_contrastive.data.readable import readable_files


def from_files(
    paths: Sequence[str | os.PathLike],
    image_size: int | tuple[int, int],
    channels: int = 3,
    labels: Sequence[int] | None = None,
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int | None = None,
    cache: str | None = None,
    verbose: bool = True,
) -> tf.data.Dataset:
    """Images read from files, decoded and resized inside `tf.data`, streamed from disk.

    Each file is read, decoded by `decode_image` (any format and mode;
    transparency composited on white) and resized to `image_size` in
    parallel `tf.data` calls; only the paths are held in memory. First, one
    validation pass decodes every file the same way (with a progress bar when
    `verbose`): the files that fail (corrupt, empty, missing, unreadable) are
    left out, and one warning gives their count and first paths, so a bad
    file never stops a long run.

    The result has the attributes `file_paths` (the paths it yields, in its
    order) and `skipped_files` (the unreadable ones).

    Args:
        paths: The image files.
        image_size: Output size, an int for a square or `(height, width)`.
        channels: 1 or 3 channels of the output.
        labels: Optional int class id per file; the elements are then
            `(image, label)` pairs with int64 labels.
        batch_size: Batch the elements when given (leave it None for
            `make_views`, which batches itself).
        shuffle: Shuffle the file order once (seeded by `seed`); shuffling
            every epoch is `make_views`'s (or `dataset.shuffle`'s) job.
        seed: Seed of that shuffle.
        cache: None, `"memory"`, or a file path prefix for
            `tf.data.Dataset.cache`: the decoded, resized images are kept
            after the first epoch.
        verbose: Show the validation pass's progress bar.

    Returns:
        A `tf.data.Dataset` of uint8 images `(height, width, channels)`, or of
        `(image, label)` pairs; batched when `batch_size` is given.

    Raises:
        ValueError: For no paths, labels of another length, a bad
            `image_size` or `channels`, or when no file is readable.

    Example:
    >>> images = kc.data.from_files(["a.png", "b.jpg"], image_size=64)
    >>> images.element_spec
    TensorSpec(shape=(64, 64, 3), dtype=tf.uint8, name=None)
    """
    paths = [os.fspath(path) for path in paths]
    size = image_size_pair(image_size)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}.")
    if not paths:
        raise ValueError("No image files given: paths is empty.")
    if labels is not None and len(labels) != len(paths):
        raise ValueError(f"Got {len(labels)} labels for {len(paths)} files; give one label per file.")
    if cache is not None and not isinstance(cache, (str, os.PathLike)):
        raise ValueError(f'cache must be None, "memory" or a file path prefix, got {cache!r}.')

    def load(path):
        return load_image(path, size, channels)

    order = np.random.default_rng(seed).permutation(len(paths)) if shuffle else np.arange(len(paths))
    readable = readable_files(paths, load, verbose)
    kept = order[np.isin(order, readable)]
    kept_paths = [paths[index] for index in kept]
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(kept_paths, tf.string))
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    if labels is not None:
        label_ids = tf.constant(np.asarray(labels, np.int64)[kept])
        dataset = tf.data.Dataset.zip(dataset, tf.data.Dataset.from_tensor_slices(label_ids))
    if cache is not None:
        dataset = dataset.cache("" if cache == "memory" else os.fspath(cache))
    if batch_size is not None:
        dataset = dataset.batch(batch_size)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    dataset.file_paths = kept_paths
    dataset.skipped_files = [paths[index] for index in np.setdiff1d(np.arange(len(paths)), readable)]
    return dataset
