"""A two-tower recommender served as TF Serving would: the top-k of a baked-in catalogue, seen items left out."""

import hashlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.export import export_recommender
from tests.retrieval.reference import dyadic_unit_rows
from tests.serving import graph_ops, ops_outside_core_tensorflow, serve_in_fresh_process

K = 10
USERS = np.array([f"user_{i}" for i in range(30)])
ITEMS = np.array([f"item_{i:03d}" for i in range(200)])


def tower(ids, rng, name):
    """An id tower whose rows are unit vectors of multiples of 1/8 times a power of two.

    Their normalisation and every similarity are exact in float32, so the
    served ranking must equal a float64 one id for id, and the many equal
    similarities test the tie rule; the powers of two make a missing
    normalisation change the scores.
    """
    encoder = kc.encoders.id_tower(ids, embedding_dim=8, name=name)
    rows = dyadic_unit_rows(rng, len(ids) + 1) * 2.0 ** rng.integers(-2, 3, size=(len(ids) + 1, 1))
    encoder.get_layer("id_embedding").set_weights([rows.astype(np.float32)])
    return encoder


@pytest.fixture(scope="module")
def model(module_rng):
    return kc.ContrastiveModel(tower(USERS, module_rng, "users"), kc.methods.InBatchSoftmax(),
                               pair_encoder=tower(ITEMS, module_rng, "items"))


@pytest.fixture(scope="module")
def catalogue(module_rng):
    """The items in a shuffled order (ties go to the item listed first, not to the tower's vocabulary order)."""
    return ITEMS[module_rng.permutation(len(ITEMS))]


@pytest.fixture(scope="module")
def seen(model, module_rng, catalogue):
    """As kc.data.seen_items gives it: frozensets, some items outside the catalogue, a user who saw almost all."""
    seen = {user: frozenset(module_rng.choice(ITEMS, size=module_rng.integers(1, 30), replace=False).tolist()
                            + ["not_in_catalogue"]) for user in USERS[:20]}
    seen["user_0"] = frozenset(catalogue[4:].tolist())  # 4 unseen items left: fewer than K
    seen["user_1"] = frozenset(["not_in_catalogue"])  # nothing of the catalogue
    seen["stranger"] = frozenset(catalogue[:3].tolist())  # a user the user tower does not know
    # user_2 saw their 1st and 3rd best items: excluding them must move the others up.
    best, _ = brute_force_recommend(model, catalogue, ["user_2"], [False], seen)
    seen["user_2"] = frozenset([best[0, 0], best[0, 2], "not_in_catalogue"])
    return seen


@pytest.fixture(scope="module")
def exported(model, catalogue, seen, tmp_path_factory):
    return export_recommender(model, tmp_path_factory.mktemp("recommender") / "serving", catalogue, k=K, seen=seen,
                              verbose=False)


def unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force_recommend(model, catalogue, users, exclude, seen, k=K):
    """float64 NumPy top-k over the model's own embeddings: stable sort (the item listed first wins a tie),
    seen items dropped where asked, rows short of k padded with "" and -inf."""
    similarities = unit(model.predict(np.array(users), verbose=0)) @ unit(model.embed_pair(np.array(catalogue))).T
    ids, scores = [], []
    for user, excluding, row in zip(users, exclude, similarities):
        order = [i for i in np.argsort(-row, kind="stable")
                 if not (excluding and catalogue[i] in seen.get(user, ()))][:k]
        ids.append([catalogue[i] for i in order] + [""] * (k - len(order)))
        scores.append(row[order].tolist() + [-np.inf] * (k - len(order)))
    return np.array(ids), np.array(scores)


def test_a_fresh_process_without_the_package_recommends_numpy_brute_force_top_k(model, catalogue, seen, exported,
                                                                                  tmp_path):
    # Known users with and without seen items, the one who saw nearly all, unknown users in seen and not.
    users = ["user_0", "user_2", "user_3", "user_25", "stranger", "nobody", "user_1", "user_2", "user_0", "stranger"]
    exclude = [True, True, True, True, True, True, True, False, False, False]
    plain = ["user_4", "nobody", "user_29"]
    answers = serve_in_fresh_process(tmp_path, [
        (exported, "recommend", {"user_ids": np.array(users), "exclude_seen": np.array(exclude)}),
        (exported, "recommend", {"user_ids": np.array(plain), "exclude_seen": np.zeros(3, bool)}),
        (exported, "serving_default", "text", np.array(users)),
    ])
    assert answers[0]["inputs"] == {"user_ids": ["string", [None]], "exclude_seen": ["bool", [None]]}
    for answer, (asked, excluding) in zip(answers, [(users, exclude), (plain, [False] * 3)]):
        ids, scores = brute_force_recommend(model, catalogue, asked, excluding, seen)
        assert sorted(answer["outputs"]) == ["item_ids", "scores"]
        served_ids = np.array(answer["outputs"]["item_ids"]).reshape(len(asked), K)  # strings come back flattened
        served_scores = np.array(answer["outputs"]["scores"])
        np.testing.assert_array_equal(served_ids, ids)
        assert served_scores.shape == (len(asked), K)
        np.testing.assert_allclose(served_scores, scores, atol=1e-5)
    served_ids = np.array(answers[0]["outputs"]["item_ids"]).reshape(len(users), K)
    # Excluding moved user_2's unseen items up, and the padding is what the docstring says.
    assert served_ids[1, :K - 2].tolist() == [served_ids[7, 1], *served_ids[7, 3:]]
    assert served_ids[0, 4:].tolist() == [""] * (K - 4) and sorted(served_ids[0, :4]) == sorted(catalogue[:4])
    assert np.isneginf(answers[0]["outputs"]["scores"][0][4:]).all()
    assert not set(served_ids[4]) & seen["stranger"]
    np.testing.assert_allclose(answers[2]["outputs"]["embedding"], unit(model.predict(np.array(users), verbose=0)),
                               atol=1e-6)


def test_the_signatures_take_what_they_say_and_hold_only_core_ops(exported):
    saved = tf.saved_model.load(str(exported))
    assert set(saved.signatures) == {"serving_default", "embed_pair", "recommend"}
    recommend = saved.signatures["recommend"]
    inputs = recommend.structured_input_signature[1]
    assert {name: (spec.dtype, spec.shape.as_list()) for name, spec in inputs.items()} == {
        "user_ids": (tf.string, [None]), "exclude_seen": (tf.bool, [None])}
    assert {name: (spec.dtype, spec.shape.as_list()) for name, spec in recommend.structured_outputs.items()} == {
        "item_ids": (tf.string, [None, K]), "scores": (tf.float32, [None, K])}
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a string tensor"):
        recommend(user_ids=tf.constant([1, 2]), exclude_seen=tf.constant([True, False]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a bool tensor"):
        recommend(user_ids=tf.constant(["user_1", "user_2"]), exclude_seen=tf.constant([1, 0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="one exclude_seen flag per user id"):
        recommend(user_ids=tf.constant(["user_1", "user_2"]), exclude_seen=tf.constant([True]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"user_ids \[2,1\] is not compatible with expected "
                                                             r"shape \[\?\]"):
        recommend(user_ids=tf.constant([["user_1"], ["user_2"]]), exclude_seen=tf.constant([True, False]))
    empty = recommend(user_ids=tf.constant([], tf.string), exclude_seen=tf.constant([], tf.bool))
    assert empty["item_ids"].shape == empty["scores"].shape == (0, K)
    ops = graph_ops(exported)
    assert {"TopKV2", "MatMul", "LowerBound", "LookupTableFindV2", "HashTableV2"} <= ops  # the walk reached them
    assert ops_outside_core_tensorflow(ops) == []


def test_bad_inputs_are_refused_naming_what_was_expected_and_nothing_is_written(model, catalogue, exported, tmp_path):
    base = tmp_path / "serving"
    wrong_towers = "export_recommender needs a two-tower ContrastiveModel whose encoder .* got "
    one_tower = kc.ContrastiveModel(kc.encoders.id_tower(USERS, embedding_dim=4), kc.methods.SimCLR())
    integer_users = kc.ContrastiveModel(kc.encoders.id_tower(np.arange(30), embedding_dim=4),
                                        kc.methods.InBatchSoftmax(), pair_encoder=model.pair_encoder)
    bare_histories = kc.ContrastiveModel(kc.encoders.history_tower(ITEMS, embedding_dim=4),
                                         kc.methods.InBatchSoftmax(), pair_encoder=model.pair_encoder)
    cases = [
        (one_tower, catalogue, {}, wrong_towers + r"one tower taking a batch of strings \(batch\)\."),
        (model.encoder, catalogue, {}, wrong_towers + r"one encoder taking a batch of strings \(batch\)\."),
        (integer_users, catalogue, {}, wrong_towers + r"towers taking a batch of integer ids \(batch\) and a batch "
                                                      r"of strings \(batch\)\."),
        (bare_histories, catalogue, {}, "export_recommender asks the user tower for user ids, but 'history_tower' "
                                        "takes history strings"),
        (model, [*catalogue, catalogue[7]], {},
         f"Expected distinct item_ids, but 1 are repeated, e.g. '{catalogue[7]}'"),
        (model, np.arange(5), {}, r"Expected item_ids to be strings, but item_ids\[0\] is int \(0\)"),
        (model, [], {}, "There is nothing to recommend: item_ids is empty"),
        (model, ["", *catalogue[:3]], {}, 'Expected item_ids to be non-empty strings: "" pads'),
        (model, catalogue, {"k": len(catalogue) + 1},
         "k must be between 1 and the 200 items in the catalogue, got 201"),
        (model, catalogue, {"k": 0}, "k must be a positive integer, got 0"),
        (model, catalogue, {"seen": [("user_1", ["item_001"])]}, "seen must be a mapping from user id to the item "
                                                                  "ids that user has seen.*got list"),
        (model, catalogue, {"seen": {"user_1": "item_001"}}, r"seen\['user_1'\] must be a collection of item id "
                                                             r"strings, got str \('item_001'\)"),
        (model, catalogue, {"seen": {"user_1": [1, 2]}}, r"seen\['user_1'\] must hold item id strings, got int \(1\)"),
        (model, catalogue, {"seen": {3: ["item_001"]}}, r"seen's keys must be string user ids.*got int \(3\)"),
        (model, catalogue, {"batch_size": 0}, "batch_size must be a positive integer"),
        (model, catalogue, {"version": 0}, "version must be a positive integer"),
    ]
    for recommender, items, options, message in cases:
        with pytest.raises(ValueError, match=message):
            export_recommender(recommender, base, items, verbose=False, **dict({"k": K}, **options))
    assert not base.exists()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_recommender(model, exported.parent, catalogue, k=K, version=1, verbose=False)
    assert [p.name for p in exported.parent.iterdir()] == ["1"]  # no new version, no staging directory


def test_a_new_catalogue_is_the_next_version_and_the_first_is_untouched(model, catalogue, seen, exported, tmp_path,
                                                                        capsys):
    base = tmp_path / "serving"
    shutil.copytree(exported.parent, base)

    def digests(version):
        return {str(p.relative_to(version)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(version.rglob("*")) if p.is_file()}

    before = digests(base / "1")
    new_catalogue = catalogue[::-1][:60]
    second = export_recommender(model, base, new_catalogue, k=K, seen=seen, batch_size=16)  # 4 batches, a progress bar
    assert "60/60" in capsys.readouterr().out
    assert second == base / "2" and sorted(p.name for p in base.iterdir()) == ["1", "2"]
    assert digests(base / "1") == before
    users, exclude = ["user_0", "user_5", "nobody"], [True, True, False]
    request = dict(user_ids=tf.constant(users), exclude_seen=tf.constant(exclude))
    for version, items in ((base / "1", catalogue), (second, new_catalogue)):
        found = tf.saved_model.load(str(version)).signatures["recommend"](**request)
        expected_ids, expected_scores = brute_force_recommend(model, items, users, exclude, seen)
        np.testing.assert_array_equal(found["item_ids"].numpy().astype(str), expected_ids)
        np.testing.assert_allclose(found["scores"].numpy(), expected_scores, atol=1e-5)
