import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.augment import SpanCrop
from tests.augment.text_helpers import kept_indices, numbered


def test_one_contiguous_span_of_at_least_the_fraction_is_kept(rng, seed):
    texts, lengths = numbered(rng, 2000, low=1, high=20)
    kept = kept_indices(SpanCrop(0.4, seed=seed)(tf.constant(texts)))
    for k, n in zip(kept, lengths):
        assert k == list(range(k[0], k[0] + len(k))) and k[-1] < n
        assert math.ceil(0.4 * n) <= len(k) <= n


def test_lengths_and_starts_are_uniform(seed):
    texts = ["w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"] * 3000
    kept = kept_indices(SpanCrop(0.5, seed=seed)(tf.constant(texts)))
    lengths = np.array([len(k) for k in kept])
    counts = np.bincount(lengths, minlength=11)[5:]
    assert np.all(np.abs(counts - 500) < 5 * np.sqrt(3000 / 6 * 5 / 6))  # lengths 5..10
    starts_of_five = np.bincount([k[0] for k in kept if len(k) == 5], minlength=6)
    assert len(starts_of_five) == 6 and starts_of_five.min() > 0


def test_full_fraction_is_the_identity_and_seeds_repeat(seed):
    texts = tf.constant(["w0 w1 w2", "", "Ünïcödé 日本語 🙂"])
    np.testing.assert_array_equal(SpanCrop(1.0, seed=seed)(texts).numpy(), texts.numpy())
    many = tf.constant(["w0 w1 w2 w3 w4 w5 w6 w7"] * 32)
    first = SpanCrop(0.25, seed=seed)(many).numpy()
    np.testing.assert_array_equal(SpanCrop(0.25, seed=seed)(many).numpy(), first)
    assert len(set(first)) > 3


def test_config_round_trips():
    layer = SpanCrop(0.7, seed=3)
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(again, SpanCrop) and again.get_config() == layer.get_config()


@pytest.mark.parametrize("min_fraction", [0.0, -0.5, 1.5])
def test_a_fraction_outside_zero_one_is_refused(min_fraction):
    with pytest.raises(ValueError, match=r"min_fraction must be a number in"):
        SpanCrop(min_fraction)
