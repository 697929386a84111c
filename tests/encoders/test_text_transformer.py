import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.encoders import text_transformer
from tests.text.corpus import EDGE_STRINGS, sentences

SEQUENCE_LENGTH = 12


@pytest.fixture(scope="module")
def tokenizer(module_rng):
    return kc.text.train_tokenizer(sentences(module_rng, 400), vocabulary_size=200, sequence_length=SEQUENCE_LENGTH)


def tiny(tokenizer, **kwargs):
    return text_transformer(tokenizer, **dict(dict(embedding_dim=16, num_layers=1, num_heads=2, intermediate_dim=32),
                                             **kwargs))


def test_strings_in_embeddings_out_with_keras_hub_layers(tokenizer):
    encoder = tiny(tokenizer, num_layers=2)
    assert encoder.output_shape == (None, 16)
    assert kc.TowerInput.of(encoder).kind == "text"
    assert encoder.input.name == "text" and encoder.layers[1] is tokenizer
    blocks = [l for l in encoder.layers if isinstance(l, keras_hub.layers.TransformerEncoder)]
    assert len(blocks) == 2 and all(b.dropout == 0.1 for b in blocks)
    embedding = encoder.get_layer("token_and_position_embedding")
    assert embedding.token_embedding.input_dim == tokenizer.vocabulary_size()
    assert embedding.position_embedding.sequence_length == SEQUENCE_LENGTH


def test_empty_long_and_non_ascii_strings_embed_finitely(tokenizer):
    encoder = tiny(tokenizer)
    out = encoder(tf.constant(EDGE_STRINGS), training=False).numpy()
    assert out.shape == (len(EDGE_STRINGS), 16) and np.isfinite(out).all()
    np.testing.assert_array_equal(out[0], 0.0)  # nothing to pool: zeros, not NaN
    np.testing.assert_array_equal(out[1], 0.0)
    long_words = EDGE_STRINGS[2].split()
    truncated = encoder(tf.constant([" ".join(long_words[:SEQUENCE_LENGTH])]), training=False).numpy()
    np.testing.assert_allclose(out[2], truncated[0], atol=1e-6)


def test_padding_never_changes_an_embedding(tokenizer, rng):
    encoder = tiny(tokenizer)
    texts = tf.constant(sentences(rng, 8, low=1, high=SEQUENCE_LENGTH - 2))
    before = encoder(texts, training=False).numpy()
    token_table = encoder.get_layer("token_and_position_embedding").token_embedding.embeddings
    position_table = encoder.get_layer("token_and_position_embedding").position_embedding.position_embeddings
    token_table.assign(tf.tensor_scatter_nd_update(token_table, [[0]], rng.normal(size=(1, 16)) * 10))
    position_table.assign(tf.concat([position_table[:SEQUENCE_LENGTH - 2],
                                     rng.normal(size=(2, 16)).astype("float32") * 10], 0))
    np.testing.assert_allclose(encoder(texts, training=False).numpy(), before, atol=1e-5)


def test_dropout_makes_training_calls_differ_and_inference_calls_equal(tokenizer, rng):
    encoder = tiny(tokenizer, dropout=0.3)
    texts = tf.constant(sentences(rng, 4))
    assert not np.allclose(encoder(texts, training=True), encoder(texts, training=True))
    np.testing.assert_array_equal(encoder(texts, training=False), encoder(texts, training=False))
    quiet = tiny(tokenizer, dropout=0.0)
    np.testing.assert_allclose(quiet(texts, training=True), quiet(texts, training=False), atol=1e-6)


def test_save_and_load_give_identical_outputs(tokenizer, rng, tmp_path):
    encoder = tiny(tokenizer)
    encoder.save(tmp_path / "encoder.keras")
    again = keras.saving.load_model(tmp_path / "encoder.keras")
    texts = tf.constant(sentences(rng, 6) + EDGE_STRINGS)
    np.testing.assert_array_equal(again(texts, training=False), encoder(texts, training=False))


def test_a_tower_of_it_refuses_anything_but_strings(tokenizer):
    tower = kc.TowerInput.of(tiny(tokenizer))
    with pytest.raises(ValueError, match=r"Expected view_a to be a batch of strings \(batch\), got dtype int64"):
        tower.check(np.zeros((2,), "int64"), "view_a")
    with pytest.raises(ValueError, match="got shape"):
        tower.check(tf.constant([["a"]]), "view_a")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(embedding_dim=10, num_heads=4), "num_heads must divide embedding_dim"),
        (dict(num_layers=0), "num_layers must be a positive integer"),
        (dict(dropout=1.0), r"dropout must be a number in \[0, 1\)"),
    ],
)
def test_bad_arguments_are_refused(tokenizer, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny(tokenizer, **kwargs)


def test_a_tokenizer_that_cannot_give_padded_ids_is_refused():
    with pytest.raises(ValueError, match="tokenizer must be a keras.layers.TextVectorization"):
        text_transformer(keras_hub.tokenizers.WordPieceTokenizer(vocabulary=["[PAD]", "[UNK]", "a"]))
    with pytest.raises(ValueError, match="output_mode='int' and an output_sequence_length"):
        text_transformer(keras.layers.TextVectorization(output_mode="int"))
    with pytest.raises(ValueError, match="no vocabulary yet"):
        text_transformer(keras.layers.TextVectorization(output_sequence_length=8))
