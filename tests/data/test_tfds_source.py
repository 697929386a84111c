import sys

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_contrastive.data.tfds_source import load_tfds


@pytest.mark.parametrize(
    "name, image_shape", [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))]
)
def test_returns_supervised_uint8_int64_dataset(name, image_shape):
    with tfds.testing.mock_data(num_examples=4):
        dataset = load_tfds(name, "train", None, False)
        assert dataset.element_spec == (
            tf.TensorSpec(image_shape, tf.uint8),
            tf.TensorSpec((), tf.int64),
        )
        assert len(list(dataset)) == 4


def test_passes_arguments_through(monkeypatch):
    calls = []
    monkeypatch.setattr(
        tfds, "load", lambda *args, **kwargs: calls.append((args, kwargs))
    )
    load_tfds("cifar100", "train[:10%]+test", "/tfds", True)
    assert calls == [
        (
            ("cifar100",),
            {
                "split": "train[:10%]+test",
                "data_dir": "/tfds",
                "as_supervised": True,
                "shuffle_files": True,
            },
        )
    ]


def test_missing_tensorflow_datasets_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)
    with pytest.raises(ImportError, match="pip install tensorflow-datasets"):
        load_tfds("mnist", "train", None, False)
