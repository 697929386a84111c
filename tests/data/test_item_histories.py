"""kc.data.next_item_examples and user_histories: histories built only from a user's earlier items."""

import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc


def random_interactions(rng, users=5, length=40):
    """Interactions of several users interleaved in time, items drawn with repeats."""
    user_ids = [f"u{user}" for user in rng.integers(0, users, length)]
    item_ids = [f"m{item}" for item in rng.integers(0, 12, length)]
    return user_ids, item_ids


def decoded(examples):
    return [(history.decode(), item.decode()) for history, item in examples.as_numpy_iterator()]


@pytest.mark.parametrize("history_length", [1, 3, 100])
def test_each_example_holds_its_users_latest_earlier_items_and_never_a_later_one(seed, history_length):
    user_ids, item_ids = random_interactions(np.random.default_rng(seed))
    examples = decoded(kc.data.next_item_examples((user_ids, item_ids), history_length=history_length))
    assert [item for _, item in examples] == item_ids  # one per interaction, in order
    for position, (history, _) in enumerate(examples):
        earlier = [item for user, item in zip(user_ids[:position], item_ids[:position]) if user == user_ids[position]]
        expected = earlier[len(earlier) - min(history_length, len(earlier)):]
        assert (history.split(" ") if history else []) == expected


def test_earlier_interactions_start_the_histories_but_give_no_examples():
    earlier = (["a", "a", "b"], ["m1", "m2", "m7"])
    later = (["b", "a", "c", "a"], ["m8", "m3", "m1", "m4"])
    assert decoded(kc.data.next_item_examples(later, history_length=2, earlier=earlier)) == [
        ("m7", "m8"), ("m1 m2", "m3"), ("", "m1"), ("m2 m3", "m4")]


def test_user_histories_are_the_latest_items_of_each_user_in_order_of_first_appearance(seed):
    user_ids, item_ids = random_interactions(np.random.default_rng(seed))
    histories = kc.data.user_histories((user_ids, item_ids), history_length=4)
    assert list(histories) == list(dict.fromkeys(user_ids))
    for user, history in histories.items():
        assert history.split(" ") == [item for u, item in zip(user_ids, item_ids) if u == user][-4:]


def test_datasets_and_integer_ids_are_read_like_arrays():
    data = tf.data.Dataset.from_tensor_slices((np.array([1, 1, 2]), np.array([10, 20, 30]), np.ones(3)))
    assert decoded(kc.data.next_item_examples(data)) == [("", "10"), ("10", "20"), ("", "30")]
    assert kc.data.user_histories(data) == {"1": "10 20", "2": "30"}


def test_bad_input_is_refused_naming_what_was_expected():
    with pytest.raises(ValueError, match="free of the separator ' ' .* got 'm 1'"):
        kc.data.next_item_examples((["u"], ["m 1"]))
    with pytest.raises(ValueError, match="separator must be a non-empty string, got ''"):
        kc.data.user_histories((["u"], ["m1"]), separator="")
    with pytest.raises(ValueError, match="history_length must be a positive integer"):
        kc.data.user_histories((["u"], ["m1"]), history_length=0)
    with pytest.raises(ValueError, match="one per interaction, got 2 and 1"):
        kc.data.next_item_examples((["u", "v"], ["m1"]))
    with pytest.raises(ValueError, match=r"dataset of \(user_id, item_id, ...\) tuples"):
        kc.data.user_histories(tf.data.Dataset.from_tensor_slices(["m1"]))
    assert decoded(kc.data.next_item_examples((["u", "u"], ["m 1", "m 2"]), separator="|")) == [
        ("", "m 1"), ("m 1", "m 2")]
