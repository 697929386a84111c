"""Access to the real Fashion-MNIST files for tests: skip locally if absent, fail under CI."""

import os

import pytest

from keras_contrastive.data import load_numpy
from keras_contrastive.data.fashion_mnist import DEFAULT_DIR


def fashion_mnist(split: str):
    """`(images, labels)` of a real Fashion-MNIST split from Debian's files."""
    if not os.path.exists(os.path.join(DEFAULT_DIR, "train-images-idx3-ubyte.gz")):
        message = f"Fashion-MNIST is not in {DEFAULT_DIR}: apt-get install dataset-fashion-mnist"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return load_numpy("fashion_mnist", split, data_dir=DEFAULT_DIR)
