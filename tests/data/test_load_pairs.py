"""kc.data.load_pairs and pair_class_names: the image-caption sets by name."""

import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.data.load_pairs import PAIR_DATASETS, load_pairs, pair_class_names
from tests.real_data import real_data


def test_catalog_names_sources_and_classes():
    assert sorted(PAIR_DATASETS) == ["emoji", "openclipart"]
    assert "apt-get install openclipart-png openclipart-svg" in PAIR_DATASETS["openclipart"].source
    assert "fonts-noto-color-emoji" in PAIR_DATASETS["emoji"].source and "unicode-data" in PAIR_DATASETS["emoji"].source
    assert PAIR_DATASETS["openclipart"].num_classes == 22 and PAIR_DATASETS["emoji"].num_classes == 9
    assert all(info.splits == ("train", "test", "all") for info in PAIR_DATASETS.values())
    assert kc.data.load_pairs is load_pairs and kc.data.PAIR_DATASETS is PAIR_DATASETS


def test_unknown_names_splits_and_options_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"Known ones: emoji, openclipart\. For your own .*kc.data.caption_pairs"):
        load_pairs("captions.csv")
    with pytest.raises(ValueError, match="Unknown image-caption dataset 'coco'"):
        pair_class_names("coco")
    with pytest.raises(TypeError, match=r"load_pairs\('emoji'\) got the unknown option\(s\) path; it takes test_"):
        load_pairs("emoji", path=tmp_path)
    with pytest.raises(TypeError, match=r"pair_class_names\('emoji'\) got the unknown option\(s\) path; it takes none"):
        pair_class_names("emoji", path=tmp_path)
    with pytest.raises(ValueError, match="Unknown split 'validation'. Valid splits: train, test, all"):
        load_pairs("openclipart", "validation", path=tmp_path)


def test_missing_files_name_the_debian_packages(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install openclipart-png openclipart-svg"):
        load_pairs("openclipart", path=tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install openclipart-png openclipart-svg"):
        pair_class_names("openclipart", path=tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install unicode-data"):
        load_pairs("emoji", emoji_test_path=tmp_path / "emoji-test.txt")


def test_emoji_class_names_need_no_files():
    assert pair_class_names("emoji") == [
        "Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places", "Activities",
        "Objects", "Symbols", "Flags",
    ]


def test_real_emoji_test_split_with_labels():
    pairs = real_data(load_pairs, "emoji", "test", image_size=16, with_labels=True)
    assert pairs.element_spec == (tf.TensorSpec((16, 16, 3), tf.uint8), tf.TensorSpec((), tf.string),
                                  tf.TensorSpec((), tf.int64))
    assert len(pairs.captions) == 732 and pairs.class_names == pair_class_names("emoji")
    assert np.bincount(pairs.labels).tolist() == [33, 430, 30, 27, 44, 17, 52, 45, 54]
    image, caption, label = next(iter(pairs.take(1)))
    assert image.dtype == tf.uint8 and caption.numpy().decode() == pairs.captions[0] and label == pairs.labels[0]
    assert len(load_pairs("emoji", "train", skin_tones=False).captions) == 1495


def test_real_openclipart_test_split_with_labels():
    pairs = real_data(load_pairs, "openclipart", "test", image_size=16, with_labels=True)
    assert len(pairs.captions) == 1620 and pairs.class_names == pair_class_names("openclipart")
    assert len(pairs.class_names) == 22 and pairs.class_names[17] == "signs and symbols"
    counts = dict(zip(pairs.class_names, np.bincount(pairs.labels, minlength=22).tolist()))
    assert counts["computer"] == 431 and counts["shapes"] == 329 and counts["buttons"] == 1
    assert all(count >= 1 for count in counts.values())
    train = load_pairs("openclipart", "train")
    assert len(train.captions) == 6477 and not set(train.file_paths) & set(pairs.file_paths)
    image, caption = next(iter(train.take(1)))
    assert image.shape == (64, 64, 3) and caption.numpy().decode() == train.captions[0]
