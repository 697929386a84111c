"""kc.data.load_text: dispatch by name, its errors, and each real corpus through it."""

import importlib

import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.data.load_text import TEXT_DATASETS, load_text
from tests.real_data import real_data

# The module itself: kc.data's function `load_text` shadows it as an attribute of the package.
module = importlib.import_module("keras_contrastive.data.load_text")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="food_reviews, fortunes, simlex999, wordnet, wordsim353"):
        load_text("imdb")
    assert sorted(TEXT_DATASETS) == sorted(module._LOADERS)


def test_unknown_option_lists_the_loader_options():
    with pytest.raises(TypeError, match="unknown option.*pairz.*pairs, test_fraction, seed, path"):
        load_text("wordnet", pairz="lemma")
    with pytest.raises(TypeError, match="takes path"):
        load_text("simlex999", "test", seed=1)


def test_passes_split_and_options_to_the_loader(monkeypatch):
    calls = []
    monkeypatch.setitem(module._LOADERS, "wordnet", lambda split="train", pairs="lemma": calls.append((split, pairs)))
    load_text("wordnet", "test", pairs="synonym")
    assert calls == [("test", "synonym")]


def test_the_word_similarity_sets_refuse_a_training_split(tmp_path):
    with pytest.raises(ValueError, match="no training part"):
        load_text("wordsim353", path=tmp_path / "pairs.tsv")


def test_missing_files_name_the_debian_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install wordnet-base"):
        load_text("wordnet", path=tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install fortunes"):
        load_text("fortunes", path=tmp_path)


def test_is_exported_from_kc_data():
    for name in ["load_text", "TEXT_DATASETS", "wordnet_pairs", "wordnet_reverse_dictionary", "wordnet_synsets",
                 "food_reviews", "food_review_classes", "fortunes", "word_similarity"]:
        assert hasattr(kc.data, name), name


@pytest.mark.parametrize("name, split, options, spec", [
    ("wordnet", "test[:5]", {"pairs": "synonym"}, (tf.string, tf.string)),
    ("food_reviews", "test[:5]", {}, (tf.string, tf.int32)),
    ("fortunes", "train[:5]", {"seed": 3}, tf.string),
    ("simlex999", "test[:5]", {}, (tf.string, tf.string, tf.float32)),
    ("wordsim353", "all[:5]", {}, (tf.string, tf.string, tf.float32)),
])
def test_loads_each_real_corpus(name, split, options, spec):
    dataset = real_data(load_text, name, split, **options)
    dtypes = tf.nest.map_structure(lambda s: s.dtype, dataset.element_spec)
    assert dtypes == spec and dataset.cardinality() > 0
