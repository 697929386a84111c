"""Datasets read through TensorFlow Datasets (imported lazily)."""

import tensorflow as tf


def load_tfds(
    name: str, split: str, data_dir: str | None, shuffle_files: bool
) -> tf.data.Dataset:
    """Loads a supervised TFDS dataset, downloading it if needed.

    `tensorflow_datasets` is imported here rather than at module level so
    that the package imports fast and works without it.

    Args:
        name: The TFDS name, e.g. `"mnist"`.
        split: A TFDS split string; slicing such as `"train[:10%]"` is
            passed through.
        data_dir: The TFDS data directory, or `None` for TFDS's default.
        shuffle_files: Whether TFDS shuffles the order of its files.

    Returns:
        A `tf.data.Dataset` of `(image, label)` tuples.

    Raises:
        ImportError: If `tensorflow-datasets` is not installed.

    Example:

    >>> dataset = load_tfds("mnist", "train[:10%]", None, False)
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise ImportError(
            f"Dataset {name!r} is read through TensorFlow Datasets; install "
            "it with `pip install tensorflow-datasets`."
        ) from error
    return tfds.load(
        name,
        split=split,
        data_dir=data_dir,
        as_supervised=True,
        shuffle_files=shuffle_files,
    )
