"""Loading image classification datasets as NumPy arrays or `tf.data`."""

import numpy as np
import tensorflow as tf

from keras_contrastive.data import fashion_mnist
from keras_contrastive.data.digits import load_digits_split
from keras_contrastive.data.catalog import get_info
from keras_contrastive.data.decode import image_size_pair
from keras_contrastive.data.decode import resize_image
from keras_contrastive.data.splits import check_tfds_split
from keras_contrastive.data.splits import parse_local_split
from keras_contrastive.data.tfds_source import TFDS_PREFIX
from keras_contrastive.data.tfds_source import load_tfds
from keras_contrastive.data.tfds_source import load_tfds_images

# Examples per batch when collecting a TFDS dataset into arrays.
_NUMPY_BATCH_SIZE = 10_000


def load_numpy(
    name: str,
    split: str = "train",
    data_dir: str | None = None,
    image_size: int | tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Loads a whole dataset split into memory.

    See `DATASETS` for the names. `"digits"` needs no download;
    `"fashion_mnist"` is read from local IDX files when present; the other
    names, and `"tfds:NAME"` for any TFDS image data set, go through
    TensorFlow Datasets.

    Args:
        name: The dataset name, e.g. `"fashion_mnist"`, or `"tfds:NAME"`.
        split: `"train"` or `"test"`. Locally stored datasets (`"digits"`,
            `"fashion_mnist"`) also accept `"train[:N]"` for the first `N`
            examples; TFDS datasets accept any TFDS split string, e.g.
            `"train[:10%]"`.
        data_dir: For `"fashion_mnist"`, a directory holding the four IDX
            files (gzipped or not); no TFDS fallback then. For TFDS
            datasets, the TFDS data directory. Unused for `"digits"`.
        image_size: Resize the images to this size (an int for a square,
            or `(height, width)`); needed for data sets whose images
            differ in size.

    Returns:
        A tuple `(images, labels)`: `uint8` images of shape
        `[N, H, W, C]` and `int64` labels of shape `[N]`.

    Raises:
        ValueError: For an unknown name or split, a corrupt IDX file, a TFDS
            data set without an image or label feature, or images of
            differing sizes without `image_size`.
        FileNotFoundError: If an explicit `data_dir` lacks the IDX files.
        RuntimeError: If Fashion-MNIST is neither found locally nor
            loadable through TFDS.

    Example:

    >>> images, labels = load_numpy("digits", split="test")
    >>> images.shape, labels.dtype
    ((360, 8, 8, 1), dtype('int64'))
    """
    if image_size is not None or name.startswith(TFDS_PREFIX):
        return _to_numpy(load(name, split, data_dir, image_size=image_size))
    data = _load_source(name, split, data_dir, shuffle_files=False)
    return _to_numpy(data) if isinstance(data, tf.data.Dataset) else data


def load(
    name: str,
    split: str = "train",
    data_dir: str | None = None,
    with_labels: bool = True,
    shuffle_files: bool = False,
    image_size: int | tuple[int, int] | None = None,
) -> tf.data.Dataset:
    """Loads a dataset split as a `tf.data.Dataset` of single examples.

    Besides the names in `DATASETS`, `"tfds:NAME"` loads any TFDS data set
    that has an image feature (see `load_tfds_images`), e.g.
    `load("tfds:oxford_flowers102", "train", image_size=64)`.

    Args:
        name: The dataset name, e.g. `"cifar10"` (see `DATASETS`), or
            `"tfds:NAME"` for any TFDS image data set.
        split: As in `load_numpy`.
        data_dir: As in `load_numpy`.
        with_labels: Whether elements are `(image, label)` tuples or
            images only.
        shuffle_files: Whether TFDS shuffles its file order. Has no effect
            on data held in memory (`"digits"`, local Fashion-MNIST).
        image_size: Resize the images to this size (an int for a square,
            or `(height, width)`), as `kc.data.from_directory` does; leave
            it None to keep their own size.

    Returns:
        A `tf.data.Dataset` of `uint8` images `[H, W, C]`, or of
        `(image, label)` tuples with `int64` scalar labels.

    Raises:
        As `load_numpy`; for `image_size`, a ValueError unless a positive
        int or pair of them.

    Example:

    >>> dataset = load("digits", with_labels=False)
    >>> dataset.element_spec
    TensorSpec(shape=(8, 8, 1), dtype=tf.uint8, name=None)
    """
    size = None if image_size is None else image_size_pair(image_size)
    if name.startswith(TFDS_PREFIX):
        data = load_tfds_images(
            name[len(TFDS_PREFIX):], split, data_dir, shuffle_files, with_labels
        )
    else:
        data = _load_source(name, split, data_dir, shuffle_files)
        if not isinstance(data, tf.data.Dataset):
            data = tf.data.Dataset.from_tensor_slices(data)
        if not with_labels:
            data = data.map(
                lambda image, label: image, num_parallel_calls=tf.data.AUTOTUNE
            )
    if size is None:
        return data
    if with_labels:
        return data.map(
            lambda image, label: (resize_image(image, size), label),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return data.map(
        lambda image: resize_image(image, size),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def _load_source(
    name: str, split: str, data_dir: str | None, shuffle_files: bool
) -> tuple[np.ndarray, np.ndarray] | tf.data.Dataset:
    """Returns in-memory `(images, labels)` or a TFDS `(image, label)` set."""
    info = get_info(name)
    if name == "digits":
        split_name, stop = parse_local_split(split, info.splits)
        images, labels = load_digits_split(split_name)
        return images[:stop], labels[:stop]
    if name == "fashion_mnist":
        return _load_fashion_mnist(split, data_dir, shuffle_files)
    check_tfds_split(split, info.splits)
    return load_tfds(name, split, data_dir, shuffle_files)


def _load_fashion_mnist(
    split: str, data_dir: str | None, shuffle_files: bool
) -> tuple[np.ndarray, np.ndarray] | tf.data.Dataset:
    """Reads local IDX files, falling back to TFDS unless `data_dir` is set."""
    split_name, stop = parse_local_split(
        split, get_info("fashion_mnist").splits
    )
    try:
        images, labels = fashion_mnist.read_split(
            fashion_mnist.local_dir(data_dir), split_name
        )
    except FileNotFoundError as missing:
        if data_dir is not None:
            raise
        try:
            return load_tfds("fashion_mnist", split, None, shuffle_files)
        except Exception as error:
            raise RuntimeError(
                f"Could not load Fashion-MNIST. {missing} Falling back to "
                f"TensorFlow Datasets failed as well ({error!r}); its "
                "download needs network access. Point data_dir or "
                f"${fashion_mnist.ENV_VAR} at a directory holding the IDX "
                "files (e.g. from the Debian package dataset-fashion-mnist)."
            ) from error
    return images[:stop], labels[:stop]


def _to_numpy(dataset: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Collects an `(image, label)` dataset into two arrays.

    Batches explicitly instead of `tfds.load(batch_size=-1)`: when TFDS does
    not know the split size (e.g. under `tfds.testing.mock_data`), that
    batches by `sys.maxsize`, which aborts the TensorFlow runtime.
    """
    image_shape = dataset.element_spec[0].shape
    if not image_shape.is_fully_defined():
        raise ValueError(
            f"The images have the shape {image_shape} (they differ in size), "
            "so they do not stack into one array: pass image_size."
        )
    images = [np.zeros((0, *image_shape), np.uint8)]
    labels = [np.zeros((0,), np.int64)]
    batches = dataset.batch(_NUMPY_BATCH_SIZE).as_numpy_iterator()
    for image_batch, label_batch in batches:
        images.append(image_batch)
        labels.append(label_batch)
    return np.concatenate(images), np.concatenate(labels)
