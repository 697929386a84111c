"""kc.encoders.id_tower and item_tower: ids (and catalogue features) to embeddings, with OOV ids embedding too."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.encoders.id_tower import id_vocabulary
from tests.serving import ops_outside_core_tensorflow

ITEMS = ["m1", "m2", "m3", "m4"]
TITLES = ["Heat", "Alien", "Toy Story", "Alien Resurrection"]
GENRES = ["Action|Crime", "Horror|Sci-Fi", "Animation|Children|Comedy", "Horror|Sci-Fi|Action"]


def embedding_rows(model, name="id_embedding"):
    return model.get_layer(name).embeddings.numpy()


def test_id_vocabulary_is_most_frequent_first_and_min_count_drops_rare_ids():
    ids = ["b", "a", "c", "b", "a", "b", "d"]
    assert id_vocabulary(ids) == ["b", "a", "c", "d"]
    assert id_vocabulary(ids, min_count=2) == ["b", "a"]
    assert id_vocabulary(np.array([7, 3, 7, 9])) == [7, 3, 9]
    assert id_vocabulary(tf.data.Dataset.from_tensor_slices(["x", "y", "y"]).batch(2)) == ["y", "x"]
    with pytest.raises(ValueError, match="occurs min_count=3 times"):
        id_vocabulary(["a", "b"], min_count=3)


def test_string_ids_get_their_own_rows_and_unseen_ids_the_oov_row(seed):
    tower = kc.encoders.id_tower(["u1", "u2", "u1", "u3"], embedding_dim=6)
    assert kc.TowerInput.of(tower).kind == "text" and kc.TowerInput.of(tower).shape == ()
    rows = embedding_rows(tower)
    assert rows.shape == (1 + 3, 6)  # the OOV row first, then u1 (twice), u2, u3
    got = tower(tf.constant(["u2", "u1", "never-seen", ""])).numpy()
    np.testing.assert_array_equal(got, rows[[2, 1, 0, 0]])
    assert np.abs(rows[2] - rows[1]).max() > 0  # the ids' rows are distinct


def test_integer_ids_min_count_and_several_oov_buckets(seed):
    ids = np.array([10, 20, 10, 30, 10, 20])
    tower = kc.encoders.id_tower(ids, embedding_dim=4, min_count=2, num_oov_buckets=8)
    assert kc.TowerInput.of(tower).kind == "ids"
    rows = embedding_rows(tower)
    assert rows.shape == (8 + 2, 4)
    np.testing.assert_array_equal(tower(tf.constant([10, 20], tf.int64)).numpy(), rows[[8, 9]])
    unseen = tower(tf.constant(np.arange(1000, 1040), tf.int64)).numpy()  # 30 is rare, so OOV too
    oov_rows = {tuple(row) for row in rows[:8]}
    assert all(tuple(row) in oov_rows for row in unseen)
    assert len({tuple(row) for row in unseen}) > 1  # hashed over the buckets, not all in one


def test_bad_ids_are_refused():
    with pytest.raises(ValueError, match="non-empty 1-D sequence of ids"):
        kc.encoders.id_tower([])
    with pytest.raises(ValueError, match="all strings or all integers"):
        kc.encoders.id_tower([1.5, 2.5])
    with pytest.raises(ValueError, match="must not include -1"):
        kc.encoders.id_tower([3, -1])
    with pytest.raises(ValueError, match="embedding_dim must be a positive integer"):
        kc.encoders.id_tower(["a"], embedding_dim=0)


def test_catalogue_column_and_delimited_multi_hot():
    column = kc.encoders.CatalogueColumn(ITEMS, TITLES, default="?")
    assert [v.decode() for v in column(tf.constant(["m3", "zz", "m1"])).numpy()] == ["Toy Story", "?", "Heat"]
    integer = kc.encoders.CatalogueColumn([5, 9], ["five", "nine"])
    assert [v.decode() for v in integer(tf.constant([9, 1], tf.int64)).numpy()] == ["nine", ""]
    again = kc.encoders.CatalogueColumn.from_config(column.get_config())
    assert again.keys == ITEMS and again.values == TITLES and again.default == "?"
    multi_hot = kc.encoders.DelimitedMultiHot(["Action", "Comedy", "Horror"])
    got = multi_hot(tf.constant(["Horror|Action", "", "Western|Comedy", "Action|"])).numpy()
    np.testing.assert_array_equal(got, [[0, 1, 0, 1], [0, 0, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0]])
    assert got.dtype == np.float32
    with pytest.raises(ValueError, match="keys must be distinct"):
        kc.encoders.CatalogueColumn(["a", "a"], ["x", "y"])
    with pytest.raises(ValueError, match="values must hold one string per item: got 1 for 2"):
        kc.encoders.CatalogueColumn(["a", "b"], ["x"])


def test_item_tower_combines_id_title_and_genres_and_embeds_cold_items_by_their_features(seed):
    # m4 is in the catalogue but not in training: it shares the OOV id row and keeps its title and genres.
    tower = kc.encoders.item_tower(ITEMS, TITLES, GENRES, embedding_dim=8, training_ids=["m1", "m2", "m3", "m1"])
    assert kc.TowerInput.of(tower).kind == "text" and tower.output.shape == (None, 8)
    ids = tf.constant(["m1", "m2", "m3", "m4", "not-in-catalogue"])
    got = tower(ids, training=False).numpy()
    # The same from the tower's parts, by hand: Dense(concat(id row, mean title word vector, multi-hot genres)).
    id_rows = embedding_rows(tower)[[1, 2, 3, 0, 0]]
    title_tower = tower.get_layer("title_embedding")
    titles = title_tower(tf.constant(TITLES + [""]), training=False).numpy()
    labels = tower.get_layer("genre_multi_hot").vocabulary
    assert labels == sorted({"Action", "Crime", "Horror", "Sci-Fi", "Animation", "Children", "Comedy"})
    genres = np.array([[0] + [float(label in g.split("|")) for label in labels] for g in GENRES + [""]])
    dense = tower.get_layer("embedding")
    kernel, bias = (w.numpy() for w in dense.weights)
    expected = np.concatenate([id_rows, titles, genres], axis=1) @ kernel + bias
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.abs(titles[-1]).max() == 0  # an id outside the catalogue: empty title, no genre
    assert np.abs(got[3] - got[4]).max() > 1e-4  # the cold catalogue item differs from an unknown id


def test_item_tower_features_are_optional_and_checked(seed):
    ids_only = kc.encoders.item_tower(ITEMS, embedding_dim=4)
    assert [layer.name for layer in ids_only.layers][-1] == "embedding"
    with pytest.raises(ValueError, match="titles must hold one string per item: got 3 for 4"):
        kc.encoders.item_tower(ITEMS, TITLES[:3])
    with pytest.raises(ValueError, match="titles must be strings"):
        kc.encoders.item_tower(ITEMS, [None, "a", "b", "c"])
    with pytest.raises(ValueError, match="genres hold no genre"):
        kc.encoders.item_tower(ITEMS, None, ["", "", "", ""])
    with pytest.raises(ValueError, match="both strings or both integers"):
        kc.encoders.item_tower(ITEMS, TITLES, training_ids=[1, 2])


def test_item_tower_saves_and_loads_with_its_catalogue(tmp_path, seed):
    tower = kc.encoders.item_tower(ITEMS, TITLES, GENRES, embedding_dim=8)
    ids = tf.constant(["m2", "m4", "unknown"])
    expected = tower(ids, training=False).numpy()
    tower.save(tmp_path / "items.keras")
    loaded = keras.saving.load_model(tmp_path / "items.keras")
    np.testing.assert_allclose(loaded(ids, training=False).numpy(), expected, rtol=1e-6)


def test_the_towers_graphs_are_core_tensorflow_ops(seed):
    """What TF Serving runs: the towers' serving graphs hold no op from outside core TensorFlow (nor Python)."""
    for tower in (kc.encoders.item_tower(ITEMS, TITLES, GENRES, embedding_dim=4),
                  kc.encoders.id_tower(np.array([4, 5]), embedding_dim=4)):
        spec = tf.TensorSpec((None,), tf.as_dtype(kc.TowerInput.of(tower).dtype))
        graph = tf.function(lambda ids: tower(ids, training=False)).get_concrete_function(spec).graph
        ops = {op.type for op in graph.get_operations()}
        for function in graph.as_graph_def().library.function:
            ops |= {node.op for node in function.node_def}
        assert "LookupTableFindV2" in ops and (tower.name == "id_tower" or "StringSplitV2" in ops)  # traced whole
        assert ops_outside_core_tensorflow(ops) == []
