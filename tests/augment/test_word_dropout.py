import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.augment import WordDropout
from tests.augment.text_helpers import kept_indices, numbered


def test_half_the_words_go_at_rate_one_half_in_order_and_no_string_is_emptied(rng, seed):
    texts, lengths = numbered(rng, 2000, low=10, high=10)
    kept = kept_indices(WordDropout(0.5, seed=seed)(tf.constant(texts)))
    assert all(len(k) >= 1 and k == sorted(set(k)) for k in kept)
    dropped = int(lengths.sum()) - sum(map(len, kept))
    # Binomial(20,000, 0.5) (the never-empty rule adds ~2 kept words): 5 standard deviations is 354.
    assert abs(dropped - 10_000) < 360


def test_rate_one_keeps_one_uniformly_random_word(rng, seed):
    texts = ["w0 w1 w2 w3"] * 4000
    kept = kept_indices(WordDropout(1.0, seed=seed)(tf.constant(texts)))
    assert all(len(k) == 1 for k in kept)
    counts = np.bincount([k[0] for k in kept], minlength=4)
    assert np.all(np.abs(counts - 1000) < 5 * np.sqrt(4000 * 0.25 * 0.75))


def test_each_string_and_each_call_draws_anew_and_seeds_repeat(seed):
    texts = tf.constant(["w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"] * 64)
    layer = WordDropout(0.5, seed=seed)
    first, second = layer(texts).numpy(), layer(texts).numpy()
    assert len(set(first)) > 32 and not np.array_equal(first, second)
    np.testing.assert_array_equal(WordDropout(0.5, seed=seed)(texts).numpy(), first)


def test_empty_blank_and_non_ascii_strings_and_rate_zero():
    texts = tf.constant(["", "   ", "Ünïcödé  日本語\t🙂"])
    np.testing.assert_array_equal(WordDropout(0.0)(texts).numpy(), [b"", b"", "Ünïcödé 日本語 🙂".encode()])
    assert [len(v.split()) for v in WordDropout(1.0)(texts).numpy()] == [0, 0, 1]
    np.testing.assert_array_equal(WordDropout(0.9)(texts, training=False).numpy(), texts.numpy())


def test_it_runs_inside_tf_data_and_its_config_round_trips(seed):
    layer = WordDropout(0.3, seed=seed, name="drop")
    views = tf.data.Dataset.from_tensor_slices(["w0 w1 w2 w3 w4 w5"] * 8).batch(4).map(layer)
    out = np.concatenate([batch.numpy() for batch in views.repeat(2)])
    assert out.shape == (16,) and len(set(out)) > 1
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(again, WordDropout) and again.get_config() == layer.get_config()


@pytest.mark.parametrize("rate", [-0.1, 1.5, None])
def test_a_rate_outside_zero_one_is_refused(rate):
    with pytest.raises(ValueError, match=r"rate must be a number in \[0, 1\]"):
        WordDropout(rate)


@pytest.mark.parametrize("inputs, got", [(tf.constant([1, 2]), "dtype int32"), (tf.constant([["a"]]), r"\(1, 1\)")])
def test_anything_but_a_batch_of_strings_is_refused(inputs, got):
    with pytest.raises(ValueError, match=rf"expects a batch of strings of shape \(batch,\), got .*{got}"):
        WordDropout(0.1)(inputs)
