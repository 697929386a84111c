"""Datasets read through TensorFlow Datasets (imported lazily)."""

import tensorflow as tf

#: `load("tfds:NAME")` reads any TFDS image data set by its name.
TFDS_PREFIX = "tfds:"


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
    tfds = _import_tfds(name)
    return tfds.load(
        name,
        split=split,
        data_dir=data_dir,
        as_supervised=True,
        shuffle_files=shuffle_files,
    )


def load_tfds_images(
    name: str,
    split: str,
    data_dir: str | None,
    shuffle_files: bool,
    with_labels: bool,
) -> tf.data.Dataset:
    """Loads any TFDS data set with an image feature, downloading it if needed.

    The image feature is the data set's one `tfds.features.Image` (or the
    one named "image" among several), the label its supervised target or
    else its one `tfds.features.ClassLabel`. Images of another dtype are
    converted to uint8 (`tf.image.convert_image_dtype`).

    Args:
        name: The TFDS name, e.g. `"oxford_flowers102"`, optionally with a
            version or config as TFDS spells them (`"cifar10:3.0.2"`).
        split: A TFDS split string, e.g. `"train[:10%]"`.
        data_dir: The TFDS data directory, or `None` for TFDS's default.
        shuffle_files: Whether TFDS shuffles the order of its files.
        with_labels: Yield `(image, label)` pairs with int64 labels, else
            images only.

    Returns:
        A `tf.data.Dataset` of uint8 images `(H, W, C)` (H and W unknown when
        the images differ in size), or of `(image, label)` pairs.

    Raises:
        ImportError: If `tensorflow-datasets` is not installed.
        ValueError: If the data set has no image feature, several without
            one named "image", or (`with_labels`) no label feature; the
            message lists its features.

    Example:

    >>> dataset = load_tfds_images("beans", "train", None, False, with_labels=True)
    """
    tfds = _import_tfds(name)
    builder = tfds.builder(name, data_dir=data_dir)
    features = builder.info.features
    image_key = _image_feature(name, features, tfds)
    label_key = _label_feature(name, features, builder.info.supervised_keys, tfds) if with_labels else None
    builder.download_and_prepare()
    dataset = builder.as_dataset(split=split, shuffle_files=shuffle_files)

    def select(example):
        image = tf.image.convert_image_dtype(example[image_key], tf.uint8, saturate=True)
        if label_key is None:
            return image
        return image, tf.cast(example[label_key], tf.int64)

    return dataset.map(select, num_parallel_calls=tf.data.AUTOTUNE)


def _image_feature(name, features, tfds) -> str:
    """The key of the data set's image feature."""
    images = [key for key, feature in features.items() if isinstance(feature, tfds.features.Image)]
    if len(images) == 1:
        return images[0]
    if "image" in images:
        return "image"
    found = f"{len(images)} image features ({', '.join(images)})" if images else "no image feature"
    raise ValueError(
        f"TFDS data set {name!r} has {found}, expected one (or one named 'image'); its features: "
        f"{_describe(features)}."
    )


def _label_feature(name, features, supervised_keys, tfds) -> str:
    """The key of the data set's label: its supervised target, else its one ClassLabel."""
    if supervised_keys and isinstance(supervised_keys[1], str) and supervised_keys[1] in features:
        return supervised_keys[1]
    labels = [key for key, feature in features.items() if isinstance(feature, tfds.features.ClassLabel)]
    if len(labels) == 1:
        return labels[0]
    raise ValueError(
        f"TFDS data set {name!r} has {len(labels)} class label features, expected one to use as labels; "
        f"its features: {_describe(features)}. Load it with with_labels=False for images only."
    )


def _describe(features) -> str:
    return ", ".join(f"{key} ({type(feature).__name__})" for key, feature in features.items())


def _import_tfds(name: str):
    """`tensorflow_datasets`, or an ImportError saying how to install it."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise ImportError(
            f"Dataset {name!r} is read through TensorFlow Datasets; install "
            "it with `pip install tensorflow-datasets`."
        ) from error
    return tfds
