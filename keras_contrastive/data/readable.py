"""The validation pass: which image files the decoding pipeline can read, checked once, in parallel."""

from __future__ import annotations

import warnings
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.data.index import first_paths

# Files checked per step of the progress bar.
_CHECK_BATCH = 64


def readable_files(
    paths: list[str], load: Callable[[tf.Tensor], tf.Tensor], verbose: bool = True
) -> np.ndarray:
    """Runs `load` on every file once and returns the indices of those it reads.

    The files are loaded in parallel in `tf.data` by the very function the
    dataset will use, so a file that passes here decodes later too; the
    failures are dropped by `ignore_errors`. When some fail, one warning
    gives their count and the first few paths.

    Args:
        paths: The file paths.
        load: Maps a scalar string path tensor to an image tensor.
        verbose: Show a progress bar (`keras.utils.Progbar`).

    Returns:
        The sorted int64 indices into `paths` of the readable files.

    Raises:
        ValueError: If no file is readable; the message names the first ones.

    Example:
    >>> kept = readable_files(paths, lambda path: load_image(path, 64))
    """
    checked = (
        tf.data.Dataset.from_tensor_slices(tf.constant(paths, tf.string))
        .enumerate()
        # A value computed from the pixels keeps the decoding from being pruned as unused.
        .map(lambda index, path: (index, tf.reduce_max(load(path))), num_parallel_calls=tf.data.AUTOTUNE)
        .ignore_errors()
        .batch(_CHECK_BATCH)
    )
    progress = keras.utils.Progbar(len(paths), unit_name="file") if verbose else None
    kept, checked_count = [np.zeros((0,), np.int64)], 0
    for indices, _ in checked.as_numpy_iterator():
        kept.append(indices)
        checked_count = int(indices[-1]) + 1
        if progress is not None:
            progress.update(checked_count)
    if progress is not None and checked_count < len(paths):  # the last files were unreadable
        progress.update(len(paths))
    kept = np.concatenate(kept)
    unreadable = sorted(set(range(len(paths))) - set(kept.tolist()))
    if len(unreadable) == len(paths):
        raise ValueError(f"None of the {len(paths)} files could be read as an image: {first_paths(paths)}.")
    if unreadable:
        warnings.warn(
            f"Skipped {len(unreadable)} of {len(paths)} files that could not be read as images (corrupt, "
            f"empty, unreadable or of an unsupported kind): {first_paths([paths[i] for i in unreadable])}.",
            stacklevel=3,
        )
    return kept
