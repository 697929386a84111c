"""SimCSE: the ranking loss of the encoders' own embeddings, unsupervised (dropout) and with hard negatives."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from tests.losses.test_multiple_negatives_ranking import reference_per_anchor

VOCABULARY, LENGTH = 50, 6


def token_encoder(dropout=0.3, name="tokens"):
    """Token ids (batch, 6) -> mean of their embeddings, with dropout on them (SimCSE's augmentation)."""
    inputs = keras.Input((LENGTH,), dtype="int32")
    x = keras.layers.Embedding(VOCABULARY, 16)(inputs)
    x = keras.layers.Dropout(dropout)(x)
    return keras.Model(inputs, keras.layers.Dense(8)(keras.layers.GlobalAveragePooling1D()(x)), name=name)


def string_encoder():
    inputs = keras.Input((), dtype="string")
    x = keras.layers.StringLookup(vocabulary=[f"w{i}" for i in range(VOCABULARY)])(inputs)
    return keras.Model(inputs, keras.layers.Dense(8)(keras.layers.Embedding(VOCABULARY + 1, 16)(x)), name="docs")


def tokens(rng, n):
    return rng.integers(1, VOCABULARY, size=(n, LENGTH)).astype("int32")


def test_the_loss_is_the_ranking_loss_of_the_encoders_embeddings_with_every_hard_negative(rng):
    model = kc.ContrastiveModel(token_encoder(), kc.methods.SimCSE(temperature=0.1))
    anchors, positives, hard = tokens(rng, 8), tokens(rng, 8), tokens(rng, 8)
    results = model.method.compute_loss_and_metrics(model.towers, anchors, positives, hard, training=False)
    embed = lambda x: model.encoder(x, training=False).numpy()  # noqa: E731
    per_anchor, hits = reference_per_anchor(embed(anchors), embed(positives), embed(hard), 0.1)
    np.testing.assert_allclose(float(results["loss"]), per_anchor.mean(), rtol=1e-5)
    assert float(results["contrastive_accuracy"]) == pytest.approx(hits.mean())
    without = model.method.compute_loss_and_metrics(model.towers, anchors, positives, None, training=False)
    np.testing.assert_allclose(float(without["loss"]), reference_per_anchor(embed(anchors), embed(positives), None,
                                                                            0.1)[0].mean(), rtol=1e-5)


def test_unsupervised_copies_differ_only_by_dropout_in_training(rng):
    model = kc.ContrastiveModel(token_encoder(dropout=0.3), kc.methods.SimCSE())
    sentences = tokens(rng, 16)
    ((h_a, h_b),) = model.towers.forward(sentences, sentences, training=True)
    assert np.abs(h_a.numpy() - h_b.numpy()).max() > 1e-3  # one joint batch: a dropout mask per copy
    ((e_a, e_b),) = model.towers.forward(sentences, sentences, training=False)
    np.testing.assert_allclose(e_a.numpy(), e_b.numpy(), rtol=1e-5, atol=1e-7)  # rows of one matmul, rounding aside


def test_unsupervised_simcse_trains_on_views_made_of_the_same_sentences_and_saves(rng, tmp_path):
    keras.utils.set_random_seed(3)
    sentences = tf.data.Dataset.from_tensor_slices(tokens(rng, 64))
    views = kc.data.make_views(sentences, None, batch_size=16, seed=1)
    a, b = next(iter(views))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    model = kc.ContrastiveModel(token_encoder(), kc.methods.SimCSE())
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(views, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    model.save(tmp_path / "simcse.keras")
    again = kc.load_model(tmp_path / "simcse.keras")
    assert isinstance(again.method, kc.methods.SimCSE) and again.method.temperature == 0.05
    probe = tokens(rng, 5)
    np.testing.assert_array_equal(again.predict(probe, verbose=0), model.predict(probe, verbose=0))


def test_a_two_tower_model_ranks_documents_and_their_hard_negatives_through_the_pair_encoder(rng):
    keras.utils.set_random_seed(4)
    n = 48
    queries = tokens(rng, n)
    documents = np.array([f"w{q[0]}" for q in queries])  # each query's document: its first token's word
    hard = np.array([f"w{(q[0] + 1) % VOCABULARY}" for q in queries])
    pairs = kc.data.make_pairs(tf.data.Dataset.from_tensor_slices((queries, documents, hard)), batch_size=16, seed=0)
    model = kc.ContrastiveModel(token_encoder(dropout=0.0), kc.methods.SimCSE(temperature=0.1),
                                pair_encoder=string_encoder())
    model.compile(optimizer=keras.optimizers.Adam(3e-2))
    history = model.fit(pairs, epochs=15, verbose=0).history
    assert history["contrastive_accuracy"][-1] > 2 * history["contrastive_accuracy"][0]
    q = model.predict(queries, verbose=0)
    d = model.embed_pair(documents)
    q, d = (x / np.linalg.norm(x, axis=1, keepdims=True) for x in (q, d))
    own = np.sum(q * d, axis=1)
    assert np.mean(own > np.sum(q * model.embed_pair(hard) / np.linalg.norm(model.embed_pair(hard), axis=1,
                                                                              keepdims=True), axis=1)) > 0.8


def test_class_labels_in_place_of_hard_negatives_are_a_clear_error(rng):
    model = kc.ContrastiveModel(token_encoder(), kc.methods.SimCSE())
    model.compile(optimizer="adam")
    labelled = tf.data.Dataset.from_tensors((tokens(rng, 8), tokens(rng, 8), np.arange(8)))
    with pytest.raises(ValueError, match="Expected hard_negatives to be a batch of integer token ids .* not class labels"):
        model.fit(labelled, epochs=1, verbose=0)


def test_make_pairs_refuses_single_examples_and_hard_negatives_of_another_kind(rng):
    with pytest.raises(ValueError, match=r"make_pairs takes a dataset of \(anchor, positive\)"):
        kc.data.make_pairs(tf.data.Dataset.from_tensor_slices(tokens(rng, 8)))
    mixed = tf.data.Dataset.from_tensor_slices((tokens(rng, 8), tokens(rng, 8), np.arange(8)))
    with pytest.raises(ValueError, match="A hard negative must be an example of the positives' kind"):
        kc.data.make_pairs(mixed)
    with pytest.raises(ValueError, match="fewer than batch_size=64"):
        kc.data.make_pairs(tf.data.Dataset.from_tensor_slices((tokens(rng, 8), tokens(rng, 8))))


def test_settings_are_checked_and_round_trip():
    with pytest.raises(ValueError, match="temperature"):
        kc.methods.SimCSE(temperature=0)
    method = kc.methods.SimCSE(temperature=0.1, block_size=32)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(method))
    assert (type(again), again.temperature, again.block_size) == (kc.methods.SimCSE, 0.1, 32)
