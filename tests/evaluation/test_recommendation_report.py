import keras
import numpy as np
import pytest

import keras_contrastive as kc
from keras_contrastive.evaluation import recommendation_metrics, recommendation_report, svd_scores


@pytest.fixture(scope="module")
def interactions(module_rng):
    """Random interactions of 20 users with 30 items: training ones, and 2 held out per user (one a catalogue outsider)."""
    users = [f"u{i}" for i in range(20)]
    items = [f"i{i}" for i in range(30)]
    train = [(u, items[c]) for u in users for c in module_rng.choice(30, size=8, replace=False)]
    seen = {}
    for u, i in train:
        seen.setdefault(u, set()).add(i)
    test = [(u, next(i for i in module_rng.permutation(items) if i not in seen[u])) for u in users] + [("u0", "gone")]
    return users, items, train, test, seen


@pytest.fixture(scope="module")
def model(interactions):
    users, items, train, _, _ = interactions
    keras.utils.set_random_seed(0)
    return kc.ContrastiveModel(kc.encoders.id_tower(users, embedding_dim=8), kc.methods.InBatchSoftmax(),
                               pair_encoder=kc.encoders.id_tower(items, embedding_dim=8, input_name="item_id"))


def test_the_report_ranks_by_the_towers_cosine_and_the_baselines_with_training_items_left_out(interactions, model):
    users, items, train, test, seen = interactions
    pairs = lambda rows: tuple(np.array(column) for column in zip(*rows))  # noqa: E731
    report = recommendation_report({"trained": model}, pairs(train), pairs(test), items, svd_rank=3,
                                   recall_at=(1, 5), ndcg_at=(5,))
    assert list(report) == ["trained", "popularity", "svd"]
    # The same figures by hand: the test users in order, the outsider item dropped.
    queries = model.predict(np.array(users), verbose=0)
    candidates = model.embed_pair(np.array(items))
    cosine = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ (
        candidates / np.linalg.norm(candidates, axis=1, keepdims=True)).T
    relevant = [[items.index(i) for u2, i in test if u2 == u and i in items] for u in users]
    exclude = [[items.index(i) for i in seen[u]] for u in users]
    expected = recommendation_metrics(cosine, relevant, exclude, recall_at=(1, 5), ndcg_at=(5,))
    for name in expected:
        assert report["trained"][name] == pytest.approx(expected[name], abs=1e-6)
    counts = np.bincount([items.index(i) for _, i in train], minlength=len(items))
    assert report["popularity"] == recommendation_metrics(np.tile(counts, (len(users), 1)), relevant, exclude,
                                                          recall_at=(1, 5), ndcg_at=(5,))
    rows = np.array([users.index(u) for u, _ in train])
    svd = svd_scores(rows, np.array([items.index(i) for _, i in train]), len(users), len(items), rank=3)
    assert report["svd"] == pytest.approx(recommendation_metrics(svd, relevant, exclude, recall_at=(1, 5),
                                                                 ndcg_at=(5,)), abs=1e-6)


def test_datasets_of_interactions_give_the_same_report_as_arrays(interactions, model):
    import tensorflow as tf

    _, items, train, test, _ = interactions
    arrays = [tuple(np.array(c) for c in zip(*rows)) for rows in (train, test)]
    datasets = [tf.data.Dataset.from_tensor_slices(a) for a in arrays]
    assert recommendation_report({"m": model}, *datasets, items, svd_rank=3, recall_at=(5,), ndcg_at=(5,)) == (
        recommendation_report({"m": model}, *arrays, items, svd_rank=3, recall_at=(5,), ndcg_at=(5,)))


@pytest.mark.parametrize("change, message", [
    (dict(item_ids=["i1", "i1"]), "item_ids must be distinct"),
    (dict(test=(np.array(["u0"]), np.array(["nowhere"]))), "no interaction with an item of item_ids"),
    (dict(train=[np.array(["u0"])]), "pair of arrays"),
    (dict(train=(np.array(["u0", "u1"]), np.array(["i1"]))), "one per interaction"),
])
def test_bad_input_is_refused_naming_what_was_expected(interactions, model, change, message):
    _, items, train, test, _ = interactions
    arguments = dict(train=tuple(np.array(c) for c in zip(*train)), test=tuple(np.array(c) for c in zip(*test)),
                     item_ids=items, svd_rank=3, recall_at=(1,), ndcg_at=(1,))
    with pytest.raises(ValueError, match=message):
        recommendation_report({"m": model}, **{**arguments, **change})


def test_a_bare_history_tower_is_refused_for_it_would_embed_user_ids_as_histories(interactions, model):
    _, items, train, test, _ = interactions
    histories = kc.encoders.history_tower(items, embedding_dim=8)
    bare = kc.ContrastiveModel(histories, kc.methods.InBatchSoftmax(), pair_encoder=model.pair_encoder)
    train, test = (tuple(np.array(c) for c in zip(*split)) for split in (train, test))
    with pytest.raises(ValueError, match="takes history strings .*kc.encoders.user_history_tower"):
        recommendation_report({"m": bare}, train, test, items, svd_rank=3, recall_at=(5,), ndcg_at=(5,))
    wrapped = kc.ContrastiveModel(kc.encoders.user_history_tower(kc.data.user_histories(train), histories),
                                  kc.methods.InBatchSoftmax(), pair_encoder=model.pair_encoder)
    report = recommendation_report({"m": wrapped}, train, test, items, svd_rank=3, recall_at=(5,), ndcg_at=(5,))
    assert set(report) == {"m", "popularity", "svd"}
