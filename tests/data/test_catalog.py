import dataclasses

import pytest
import tensorflow_datasets as tfds

from keras_contrastive.data.catalog import DATASETS
from keras_contrastive.data.catalog import get_info


def test_known_names():
    assert set(DATASETS) == {
        "digits", "fashion_mnist", "mnist", "cifar10", "cifar100"
    }
    for info in DATASETS.values():
        assert info.splits == ("train", "test")
        assert info.source


def test_info_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DATASETS["mnist"].num_classes = 3


@pytest.mark.parametrize("name", ["fashion_mnist", "mnist", "cifar10", "cifar100"])
def test_tfds_backed_entries_match_tfds_features(name, tmp_path):
    # Builder metadata comes with the TFDS code, so this works offline.
    builder = tfds.builder(name, data_dir=tmp_path)
    features = builder.info.features
    assert builder.info.supervised_keys == ("image", "label")
    assert DATASETS[name].image_shape == features["image"].shape
    assert DATASETS[name].num_classes == features["label"].num_classes


def test_get_info_returns_the_entry():
    assert get_info("digits") is DATASETS["digits"]


def test_get_info_rejects_unknown_name_listing_known_names():
    with pytest.raises(ValueError, match="'imagenet'") as info:
        get_info("imagenet")
    for name in DATASETS:
        assert name in str(info.value)
