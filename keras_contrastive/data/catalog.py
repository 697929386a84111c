"""The datasets `load` knows about, with their shapes, classes and splits."""

import dataclasses

from keras_contrastive.data import fashion_mnist


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a dataset looks like and where it comes from.

    Args:
        image_shape: Shape `(height, width, channels)` of one image.
        num_classes: Number of classes; labels are `0..num_classes - 1`.
        splits: Names of the splits.
        source: Human-readable description of where the data is read from.
    """

    image_shape: tuple[int, int, int]
    num_classes: int
    splits: tuple[str, ...]
    source: str


DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        image_shape=(8, 8, 1),
        num_classes=10,
        splits=("train", "test"),
        source=(
            "scikit-learn's bundled load_digits (no download), pixels scaled "
            "from 0..16 to 0..255, fixed stratified 80/20 train/test split"
        ),
    ),
    "fashion_mnist": DatasetInfo(
        image_shape=(28, 28, 1),
        num_classes=10,
        splits=("train", "test"),
        source=(
            "local IDX files in data_dir, else in "
            f"${fashion_mnist.ENV_VAR}, else in {fashion_mnist.DEFAULT_DIR}; "
            "without local files, TFDS 'fashion_mnist'"
        ),
    ),
    "mnist": DatasetInfo(
        image_shape=(28, 28, 1),
        num_classes=10,
        splits=("train", "test"),
        source="TFDS 'mnist'",
    ),
    "cifar10": DatasetInfo(
        image_shape=(32, 32, 3),
        num_classes=10,
        splits=("train", "test"),
        source="TFDS 'cifar10'",
    ),
    "cifar100": DatasetInfo(
        image_shape=(32, 32, 3),
        num_classes=100,
        splits=("train", "test"),
        source="TFDS 'cifar100' (fine labels)",
    ),
}


def get_info(name: str) -> DatasetInfo:
    """Looks up a dataset in `DATASETS`.

    Args:
        name: The dataset name.

    Returns:
        The dataset's `DatasetInfo`.

    Raises:
        ValueError: If the name is unknown; the message lists known names
            and says how to load any TFDS data set.

    Example:

    >>> get_info("cifar10").image_shape
    (32, 32, 3)
    """
    if name not in DATASETS:
        raise ValueError(
            f"Unknown dataset {name!r}. Known datasets: "
            f"{', '.join(sorted(DATASETS))}; or 'tfds:NAME' for any TFDS "
            "image data set, e.g. 'tfds:oxford_flowers102'."
        )
    return DATASETS[name]
