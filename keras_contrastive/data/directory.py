"""from_directory: a streamed `tf.data` set of the images in a folder tree, labelled by subfolder."""

from __future__ import annotations

import os

import tensorflow as tf

from keras_contrastive.data.files import from_files
from keras_contrastive.data.index import index_directory

# Not keras.utils.image_dataset_from_directory: it drops the alpha channel
# instead of compositing it on white (transparent clip-art turns black or
# noisy), a corrupt file stops the epoch in which it is met, and with
# labels="inferred" it silently ignores images outside the class folders.
# Its reading and decoding steps are TF's own, as here.


def from_directory(
    path: str | os.PathLike,
    image_size: int | tuple[int, int],
    channels: int = 3,
    labels: str | None = "inferred",
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    cache: str | None = None,
    verbose: bool = True,
) -> tf.data.Dataset:
    """The JPEG, PNG, GIF and BMP images in a folder and its subfolders, streamed from disk.

    The files are found by `index_directory` (recursively, by extension in
    any case) and read by `from_files`: decoded in any mode (transparency
    composited on white, palette, 16-bit, a GIF's first frame) and resized
    inside `tf.data`; unreadable files are skipped, counted and named in one
    warning.

    The result has the attributes `class_names` (None without labels),
    `file_paths` (in the dataset's order) and `skipped_files`.

    Args:
        path: The folder.
        image_size: Output size, an int for a square or `(height, width)`.
        channels: 1 or 3 channels of the output.
        labels: `"inferred"`: the first level of subfolders are the classes
            (sorted names give the class ids; every image must be inside
            one, at any depth). None: images only.
        batch_size: Batch the elements when given (leave it None for
            `make_views`, which batches itself).
        shuffle: Shuffle the file order once, seeded by `seed` (otherwise
            sorted by path).
        seed: Seed of that shuffle.
        cache: None, `"memory"`, or a file path prefix for
            `tf.data.Dataset.cache`.
        verbose: Print what was found and show the validation pass's
            progress bar.

    Returns:
        A `tf.data.Dataset` of uint8 images `(height, width, channels)`, or
        of `(image, label)` pairs with int64 labels; batched when
        `batch_size` is given.

    Raises:
        ValueError: If `path` is missing, not a folder, or holds no image
            files (the message names the extensions looked for); with
            labels inferred, if images lie directly in `path`; if no file
            is readable.

    Example:
    >>> train = kc.data.from_directory("pictures/", image_size=64)
    >>> views = kc.data.make_views(train, kc.augment.simclr(64), batch_size=256)
    """
    file_paths, label_ids, class_names = index_directory(path, labels)
    if verbose:
        classes = f" in {len(class_names)} classes" if class_names is not None else ""
        print(f"Found {len(file_paths)} image files{classes} in {os.fspath(path)}.", flush=True)
    dataset = from_files(
        file_paths, image_size, channels=channels, labels=label_ids, batch_size=batch_size,
        shuffle=shuffle, seed=seed, cache=cache, verbose=verbose,
    )
    dataset.class_names = class_names
    return dataset
