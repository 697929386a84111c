"""Access to the real Fashion-MNIST files for tests: skip locally if absent, fail under CI."""

import os

import numpy as np

from keras_contrastive.data import load_numpy
from keras_contrastive.data.fashion_mnist import DEFAULT_DIR
from tests.real_data import missing_real_data


def fashion_mnist(split: str):
    """`(images, labels)` of a real Fashion-MNIST split from Debian's files."""
    if not os.path.exists(os.path.join(DEFAULT_DIR, "train-images-idx3-ubyte.gz")):
        message = f"Fashion-MNIST is not in {DEFAULT_DIR}: apt-get install dataset-fashion-mnist"
        missing_real_data(message)
    return load_numpy("fashion_mnist", split, data_dir=DEFAULT_DIR)


def half_size(images: np.ndarray) -> np.ndarray:
    """28x28 images averaged over 2x2 blocks to 14x14 uint8: the same pictures at a quarter of the pixels."""
    n, height, width, channels = images.shape
    blocks = images.reshape(n, height // 2, 2, width // 2, 2, channels).astype(np.float32)
    return np.round(blocks.mean(axis=(2, 4))).astype(np.uint8)
