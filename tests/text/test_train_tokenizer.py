import collections

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from tests.text.corpus import sentences


def test_the_vocabulary_is_padding_unknown_then_words_by_frequency(rng):
    corpus = sentences(rng, 300)
    tokenizer = kc.text.train_tokenizer(corpus, vocabulary_size=50, sequence_length=6)
    vocabulary = tokenizer.get_vocabulary()
    assert vocabulary[:2] == ["", "[UNK]"] and len(vocabulary) == 50
    counts = collections.Counter(word for sentence in corpus for word in sentence.split())
    kept = [counts[word] for word in vocabulary[2:]]
    assert kept == sorted(kept, reverse=True)
    assert min(kept) >= sorted(counts.values(), reverse=True)[47]  # the 48 commonest words


def test_strings_map_to_padded_truncated_ids_with_unknown_words_as_one(rng):
    tokenizer = kc.text.train_tokenizer(["the cat sat", "the dog"], vocabulary_size=200, sequence_length=4)
    index = {word: i for i, word in enumerate(tokenizer.get_vocabulary())}
    ids = tokenizer(tf.constant(["The CAT, sat!", "", "the zebra", "the the the the the the"])).numpy()
    assert ids.shape == (4, 4) and ids.dtype == np.int64
    np.testing.assert_array_equal(ids[0], [index["the"], index["cat"], index["sat"], 0])
    np.testing.assert_array_equal(ids[1], [0, 0, 0, 0])
    np.testing.assert_array_equal(ids[2], [index["the"], 1, 0, 0])
    np.testing.assert_array_equal(ids[3], [index["the"]] * 4)


@pytest.mark.parametrize("form", ["list", "array", "bytes", "generator", "dataset", "batched_dataset"])
def test_every_corpus_form_learns_the_same_vocabulary(rng, form):
    corpus = sentences(rng, 200)
    texts = {
        "list": lambda: corpus,
        "array": lambda: np.array(corpus),
        "bytes": lambda: [s.encode() for s in corpus],
        "generator": lambda: (s for s in corpus),
        "dataset": lambda: tf.data.Dataset.from_tensor_slices(corpus),
        "batched_dataset": lambda: tf.data.Dataset.from_tensor_slices(corpus).batch(7),
    }[form]()
    expected = kc.text.train_tokenizer(corpus, vocabulary_size=60).get_vocabulary()
    assert kc.text.train_tokenizer(texts, vocabulary_size=60).get_vocabulary() == expected


def test_the_vocabulary_saves_inside_the_keras_file(rng, tmp_path):
    corpus = sentences(rng, 100)
    tokenizer = kc.text.train_tokenizer(corpus, vocabulary_size=100, sequence_length=8)
    inputs = keras.Input(shape=(), dtype="string")
    model = keras.Model(inputs, tokenizer(inputs))
    model.save(tmp_path / "tokenizer.keras")
    again = keras.saving.load_model(tmp_path / "tokenizer.keras")
    unseen = tf.constant(sentences(rng, 20) + ["", "Ünïcödé 日本語 🙂"])
    np.testing.assert_array_equal(again(unseen).numpy(), model(unseen).numpy())
    assert again.layers[-1].get_vocabulary() == tokenizer.get_vocabulary()


def test_an_encoder_rebuilt_from_its_config_tokenizes_alike(rng):
    """The random-init baseline and fine-tuning clones are made from the config, which holds the vocabulary."""
    tokenizer = kc.text.train_tokenizer(sentences(rng, 100), vocabulary_size=100, sequence_length=8)
    encoder = kc.encoders.bag_of_embeddings(tokenizer, embedding_dim=8)
    copy = keras.Model.from_config(encoder.get_config())
    unseen = tf.constant(sentences(rng, 20) + ["", "Ünïcödé"])
    layer = lambda model: next(l for l in model.layers if isinstance(l, keras.layers.TextVectorization))  # noqa
    np.testing.assert_array_equal(layer(copy)(unseen).numpy(), layer(encoder)(unseen).numpy())


@pytest.mark.parametrize(
    "texts, kwargs, message",
    [
        ([], {}, "the corpus is empty"),
        (["", "  "], {}, "no words"),
        (tf.data.Dataset.from_tensor_slices(tf.constant([], tf.string)), {}, "no words"),
        (["a b", 3], {}, "item 1 is a int"),
        (np.array([1.0, 2.0]), {}, "item 0 is a float"),
        ("a single string", {}, "a single string"),
        (tf.data.Dataset.from_tensor_slices([1, 2]), {}, "the dataset's elements are"),
        (42, {}, "got int"),
        (["a b"], {"vocabulary_size": 2}, "vocabulary_size must be an integer of at least 3"),
        (["a b"], {"sequence_length": 0}, "sequence_length must be a positive integer"),
        (["a b"], {"standardize": "upper"}, "standardize must be one of"),
    ],
)
def test_bad_input_is_refused_naming_what_was_expected(texts, kwargs, message):
    with pytest.raises(ValueError, match=message):
        kc.text.train_tokenizer(texts, **kwargs)
