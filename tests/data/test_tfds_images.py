"""`load("tfds:NAME")` on TFDS data sets built here, offline, by the real TFDS loading code."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_contrastive.data.decode import resize_image
from keras_contrastive.data.load import load
from keras_contrastive.data.load import load_numpy

SIZES = [(5, 7), (9, 4), (6, 6), (3, 8)]


def picture(index: int) -> np.ndarray:
    height, width = SIZES[index % len(SIZES)]
    return np.full((height, width, 3), 40 * index + 10, np.uint8)


class KcTestPictures(tfds.core.GeneratorBasedBuilder):
    """Pictures of varying size whose pixels all hold 40 * index + 10, labelled index % 3."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "picture": tfds.features.Image(shape=(None, None, 3)),
                "kind": tfds.features.ClassLabel(names=["a", "b", "c"]),
                "caption": tfds.features.Text(),
            }),
            supervised_keys=("picture", "kind"),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(range(4)), "test": self._generate_examples(range(4, 6))}

    def _generate_examples(self, indices):
        for index in indices:
            yield index, {"picture": picture(index), "kind": index % 3, "caption": f"picture {index}"}


class KcTestCaptions(tfds.core.GeneratorBasedBuilder):
    """Texts only: no image feature."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return self.dataset_info_from_configs(features=tfds.features.FeaturesDict({"text": tfds.features.Text()}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        yield 0, {"text": "no picture"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tfds"))


def test_any_tfds_image_data_set_loads_resized_with_its_labels(data_dir):
    dataset = load("tfds:kc_test_pictures", "train", data_dir=data_dir, image_size=(4, 6))
    assert dataset.element_spec == (tf.TensorSpec((4, 6, 3), tf.uint8), tf.TensorSpec((), tf.int64))
    examples = sorted(dataset.as_numpy_iterator(), key=lambda example: int(example[0][0, 0, 0]))
    for index, (image, label) in enumerate(examples):
        np.testing.assert_array_equal(image, np.full((4, 6, 3), 40 * index + 10))
        assert label == index % 3


def test_without_image_size_the_images_keep_their_own_sizes(data_dir):
    dataset = load("tfds:kc_test_pictures", "test", data_dir=data_dir, with_labels=False)
    assert dataset.element_spec == tf.TensorSpec((None, None, 3), tf.uint8)
    assert sorted(image.shape[:2] for image in dataset.as_numpy_iterator()) == sorted(SIZES[:2])


def test_load_numpy_stacks_resized_images_and_asks_for_a_size_otherwise(data_dir):
    images, labels = load_numpy("tfds:kc_test_pictures", "train[:3]", data_dir=data_dir, image_size=8)
    assert images.shape == (3, 8, 8, 3) and images.dtype == np.uint8 and labels.dtype == np.int64
    with pytest.raises(ValueError, match="pass image_size"):
        load_numpy("tfds:kc_test_pictures", "train", data_dir=data_dir)


def test_a_data_set_without_an_image_feature_is_a_clear_error(data_dir):
    with pytest.raises(ValueError, match="'kc_test_captions' has no image feature") as info:
        load("tfds:kc_test_captions", "train", data_dir=data_dir)
    assert "text (Text)" in str(info.value)


def test_catalogued_data_sets_are_resized_too():
    images = load("digits", "test[:5]", with_labels=False, image_size=16)
    assert images.element_spec == tf.TensorSpec((16, 16, 1), tf.uint8)
    resized, labels = load_numpy("digits", "test[:5]", image_size=(4, 2))
    assert resized.shape == (5, 4, 2, 1) and labels.shape == (5,)
    original, _ = load_numpy("digits", "test[:5]")
    np.testing.assert_array_equal(resized, resize_image(original, (4, 2)))
    assert resized.std() > 10  # still a picture, not a blank


def test_an_unknown_name_mentions_the_tfds_prefix():
    with pytest.raises(ValueError, match="'tfds:NAME'"):
        load("imagenet")
