"""scikit-learn's bundled 8x8 digits, with a fixed stratified split."""

import numpy as np

TEST_FRACTION = 0.2
_SPLIT_SEED = 0


def load_digits_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Loads one split of scikit-learn's digits (1797 images, no download).

    Pixels are scaled from 0..16 to 0..255 (`round(x * 255 / 16)`). The
    80/20 train/test split is stratified by class and drawn with a fixed
    seed (independent of the global random state), so it is the same on
    every call and machine. Examples keep their original order.

    Args:
        split: `"train"` (1437 images) or `"test"` (360 images).

    Returns:
        A tuple `(images, labels)`: `uint8` images of shape `[N, 8, 8, 1]`
        and `int64` labels of shape `[N]`.

    Example:

    >>> images, labels = load_digits_split("test")
    >>> images.shape, images.dtype
    ((360, 8, 8, 1), dtype('uint8'))
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.rint(digits.images * 255 / 16).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    train_indices, test_indices = train_test_split(
        np.arange(len(labels)),
        test_size=TEST_FRACTION,
        stratify=labels,
        random_state=_SPLIT_SEED,
    )
    indices = np.sort({"train": train_indices, "test": test_indices}[split])
    return images[indices, :, :, np.newaxis], labels[indices]
