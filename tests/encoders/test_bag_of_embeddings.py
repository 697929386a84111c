import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.encoders import bag_of_embeddings
from tests.text.corpus import EDGE_STRINGS, sentences


@pytest.fixture(scope="module")
def tokenizer(module_rng):
    return kc.text.train_tokenizer(sentences(module_rng, 400), vocabulary_size=200, sequence_length=12)


def test_the_embedding_is_the_mean_of_the_word_vectors(tokenizer, rng):
    encoder = bag_of_embeddings(tokenizer, embedding_dim=16)
    assert encoder.output_shape == (None, 16) and kc.TowerInput.of(encoder).kind == "text"
    texts = sentences(rng, 10, low=1, high=15) + ["kab zzz_unknown"]
    ids = tokenizer(tf.constant(texts)).numpy()
    table = encoder.get_layer("word_embedding").embeddings.numpy().astype("float64")
    expected = np.stack([table[row[row != 0]].mean(axis=0) for row in ids])
    np.testing.assert_allclose(encoder(tf.constant(texts), training=False).numpy(), expected, atol=1e-6)


def test_empty_long_and_non_ascii_strings_embed_finitely(tokenizer):
    encoder = bag_of_embeddings(tokenizer, embedding_dim=16)
    out = encoder.predict(tf.constant(EDGE_STRINGS), verbose=0)
    assert out.shape == (len(EDGE_STRINGS), 16) and np.isfinite(out).all()
    np.testing.assert_array_equal(out[:2], 0.0)
    kab = encoder(tf.constant(["kab"]), training=False).numpy()[0]
    np.testing.assert_allclose(out[2], kab, atol=1e-6)  # 10,000 words, truncated


def test_dropout_makes_training_calls_differ_and_inference_calls_equal(tokenizer, rng):
    encoder = bag_of_embeddings(tokenizer, embedding_dim=16, dropout=0.3)
    texts = tf.constant(sentences(rng, 4))
    assert not np.allclose(encoder(texts, training=True), encoder(texts, training=True))
    np.testing.assert_array_equal(encoder(texts, training=False), encoder(texts, training=False))


def test_save_and_load_give_identical_outputs(tokenizer, rng, tmp_path):
    encoder = bag_of_embeddings(tokenizer, embedding_dim=16)
    encoder.save(tmp_path / "encoder.keras")
    again = keras.saving.load_model(tmp_path / "encoder.keras")
    texts = tf.constant(sentences(rng, 6) + EDGE_STRINGS)
    np.testing.assert_array_equal(again(texts, training=False), encoder(texts, training=False))


def test_it_trains_in_a_contrastive_model(tokenizer, rng):
    model = kc.ContrastiveModel(bag_of_embeddings(tokenizer, embedding_dim=16), kc.methods.SimCLR(projection_dim=8))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    texts = tf.constant(sentences(rng, 32))
    views = tf.data.Dataset.from_tensors((texts, kc.augment.WordDropout(0.3)(texts))).repeat(3)
    history = model.fit(views, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(embedding_dim=0), "embedding_dim must be a positive integer"), (dict(dropout=-0.1), "dropout must be")],
)
def test_bad_arguments_are_refused(tokenizer, kwargs, message):
    with pytest.raises(ValueError, match=message):
        bag_of_embeddings(tokenizer, **kwargs)
