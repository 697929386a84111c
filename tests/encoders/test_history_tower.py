"""kc.encoders.history_tower, ItemHistory and user_history_tower: users embedded by their latest items."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from tests.serving import ops_outside_core_tensorflow

# Most frequent first: m1 (3), m2 (2), then m3, m4, m5 by id.
TRAINING_ITEMS = ["m1", "m2", "m1", "m3", "m2", "m4", "m1", "m5"]
VOCABULARY = ["m1", "m2", "m3", "m4", "m5"]


def expected_embeddings(tower, histories, history_length, num_oov_buckets=1):
    """NumPy: each history's latest items' rows averaged (OOV items share row 1), then the Dense layer."""
    rows = tower.get_layer("item_embedding").embeddings.numpy().astype(np.float64)
    kernel, bias = (weight.numpy().astype(np.float64) for weight in tower.get_layer("embedding").weights)
    assert num_oov_buckets == 1
    out = []
    for history in histories:
        items = history.split(" ")[-history_length:] if history else []
        indices = [2 + VOCABULARY.index(item) if item in VOCABULARY else 1 for item in items]
        pooled = rows[indices].mean(axis=0) if indices else np.zeros(rows.shape[1])
        out.append(pooled @ kernel + bias)
    return np.array(out)


def test_item_history_keeps_the_latest_items_and_pads_after_them():
    layer = kc.encoders.ItemHistory(3)
    got = layer(tf.constant(["a b c d e", "x", "", "p q r"])).numpy().astype(str)
    np.testing.assert_array_equal(got, [["c", "d", "e"], ["x", "", ""], ["", "", ""], ["p", "q", "r"]])
    comma = kc.encoders.ItemHistory.from_config(kc.encoders.ItemHistory(2, separator=",").get_config())
    np.testing.assert_array_equal(comma(tf.constant(["1,2,3"])).numpy().astype(str), [["2", "3"]])


def test_the_tower_averages_the_latest_items_rows_then_its_dense_layer(seed):
    tower = kc.encoders.history_tower(TRAINING_ITEMS, embedding_dim=6, history_length=3)
    bias = tower.get_layer("embedding").weights[1]
    bias.assign(np.random.default_rng(seed).normal(size=6).astype(np.float32))  # nonzero, so "" is checked
    histories = ["m1", "m3 m2", "m5 m4 m3 m2 m1", "never-seen m2", "", "m4 m4 m4 m4"]
    got = tower(tf.constant(histories)).numpy()
    np.testing.assert_allclose(got, expected_embeddings(tower, histories, 3), rtol=1e-5, atol=1e-6)
    assert tower.get_layer("item_embedding").embeddings.shape == (1 + 1 + 5, 6)  # padding, OOV, five items


def test_min_count_leaves_rare_items_to_the_oov_rows_and_integer_ids_work(seed):
    tower = kc.encoders.history_tower(TRAINING_ITEMS, embedding_dim=4, min_count=2, num_oov_buckets=3)
    assert tower.get_layer("item_lookup").vocabulary_size() == 1 + 3 + 2  # mask, OOV buckets, m1 and m2
    integer = kc.encoders.history_tower(np.array([7, 9, 7]), embedding_dim=4)
    assert integer.get_layer("item_lookup").get_vocabulary()[2:] == ["7", "9"]
    assert np.isfinite(integer(tf.constant(["9 7", "", "123"])).numpy()).all()


def test_the_user_tower_embeds_an_id_by_its_history_and_an_unknown_id_by_the_empty_one(seed):
    tower = kc.encoders.history_tower(TRAINING_ITEMS, embedding_dim=5)
    histories = {"u1": "m1 m2", "u2": "m5", "u3": ""}
    users = kc.encoders.user_history_tower(histories, tower)
    assert kc.TowerInput.of(users).kind == "text"
    got = users(tf.constant(["u2", "u1", "nobody", "u3"])).numpy()
    np.testing.assert_allclose(got, tower(tf.constant(["m5", "m1 m2", "", ""])).numpy(), rtol=1e-6)
    assert np.abs(got[0] - got[1]).max() > 0
    assert all(weight is tower_weight for weight, tower_weight in zip(users.trainable_weights, tower.trainable_weights))


def test_the_user_tower_saves_and_loads_with_its_histories_on_core_ops(tmp_path, seed):
    tower = kc.encoders.history_tower(TRAINING_ITEMS, embedding_dim=4)
    users = kc.encoders.user_history_tower({"u1": "m1 m2", "u2": "m3"}, tower)
    ids = tf.constant(["u2", "u1", "nobody"])
    users.save(tmp_path / "users.keras")
    loaded = keras.saving.load_model(tmp_path / "users.keras")
    np.testing.assert_allclose(loaded(ids).numpy(), users(ids).numpy(), rtol=1e-6)
    graph = tf.function(lambda x: loaded(x, training=False)).get_concrete_function(
        tf.TensorSpec((None,), tf.string)).graph
    ops = {op.type for op in graph.get_operations()}
    for function in graph.as_graph_def().library.function:
        ops |= {node.op for node in function.node_def}
    assert {"LookupTableFindV2", "StringSplitV2"} <= ops  # traced whole
    assert ops_outside_core_tensorflow(ops) == []


def test_bad_input_is_refused_naming_what_was_expected():
    with pytest.raises(ValueError, match="history_length must be a positive integer"):
        kc.encoders.ItemHistory(0)
    with pytest.raises(ValueError, match="separator must be a non-empty string"):
        kc.encoders.ItemHistory(3, separator="")
    with pytest.raises(ValueError, match="takes history strings, got dtype int32"):
        kc.encoders.ItemHistory(3)(tf.constant([1, 2]))
    with pytest.raises(ValueError, match="embedding_dim must be a positive integer"):
        kc.encoders.history_tower(TRAINING_ITEMS, embedding_dim=0)
    tower = kc.encoders.history_tower(TRAINING_ITEMS, embedding_dim=4)
    with pytest.raises(ValueError, match="holds no user"):
        kc.encoders.user_history_tower({}, tower)
    with pytest.raises(ValueError, match="must map string user ids to history strings; got 7"):
        kc.encoders.user_history_tower({7: "m1"}, tower)
