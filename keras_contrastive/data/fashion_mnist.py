"""Fashion-MNIST stored as the four original IDX files in a local directory."""

import os
from pathlib import Path

import numpy as np

from keras_contrastive.data.idx import read_idx

ENV_VAR = "KERAS_CONTRASTIVE_FASHION_MNIST_DIR"
DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"

IMAGE_SIZE = (28, 28)
NUM_CLASSES = 10
_FILE_PREFIXES = {"train": "train", "test": "t10k"}


def local_dir(data_dir: str | None = None) -> Path:
    """Returns the directory to look in for the Fashion-MNIST IDX files.

    Args:
        data_dir: An explicit directory. Takes precedence when given.

    Returns:
        `data_dir` if given, else the directory named by the environment
        variable `KERAS_CONTRASTIVE_FASHION_MNIST_DIR` if set, else
        `/usr/share/datasets/fashion-mnist` (Debian package
        `dataset-fashion-mnist`).

    Example:

    >>> local_dir("/data/fashion-mnist")
    PosixPath('/data/fashion-mnist')
    """
    if data_dir is not None:
        return Path(data_dir)
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIR)


def split_paths(directory: str | os.PathLike, split: str) -> tuple[Path, Path]:
    """Finds the images and labels IDX files of a split.

    Each file may be plain (`train-images-idx3-ubyte`) or gzipped
    (`train-images-idx3-ubyte.gz`); the plain one wins if both exist.

    Args:
        directory: The directory holding the IDX files.
        split: `"train"` or `"test"` (stored with the prefix `t10k`).

    Returns:
        The paths `(images_path, labels_path)`.

    Raises:
        FileNotFoundError: If a file is missing; the message names the
            paths looked for.

    Example:

    >>> images_path, labels_path = split_paths(DEFAULT_DIR, "test")
    >>> images_path.name
    't10k-images-idx3-ubyte.gz'
    """
    directory = Path(directory)
    prefix = _FILE_PREFIXES[split]
    found, missing = [], []
    for stem in (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"):
        candidates = [directory / stem, directory / f"{stem}.gz"]
        existing = [path for path in candidates if path.is_file()]
        if existing:
            found.append(existing[0])
        else:
            missing.append(f"{candidates[0]} (or {candidates[1]})")
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST {split!r} IDX files not found in {directory}: "
            f"missing {', '.join(missing)}."
        )
    images_path, labels_path = found
    return images_path, labels_path


def read_split(
    directory: str | os.PathLike, split: str
) -> tuple[np.ndarray, np.ndarray]:
    """Reads one Fashion-MNIST split from its IDX files.

    Args:
        directory: The directory holding the IDX files.
        split: `"train"` or `"test"`.

    Returns:
        A tuple `(images, labels)`: `uint8` images of shape
        `[N, 28, 28, 1]` and `int64` labels of shape `[N]`.

    Raises:
        FileNotFoundError: If a file of the split is missing.
        ValueError: If a file is corrupt or the two files disagree; the
            message names the file.

    Example:

    >>> images, labels = read_split(DEFAULT_DIR, "test")
    >>> images.shape, labels.dtype
    ((10000, 28, 28, 1), dtype('int64'))
    """
    images_path, labels_path = split_paths(directory, split)
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if images.shape[1:] != IMAGE_SIZE:
        raise ValueError(
            f"{images_path} holds images of size {images.shape[1:]}; "
            f"Fashion-MNIST images are {IMAGE_SIZE}."
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} "
            f"holds {len(labels)} labels."
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise ValueError(
            f"{labels_path} holds the label {labels.max()}; Fashion-MNIST "
            f"labels are 0..{NUM_CLASSES - 1}."
        )
    return images[..., np.newaxis], labels.astype(np.int64)
