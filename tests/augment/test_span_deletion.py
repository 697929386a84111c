import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.augment import SpanDeletion
from tests.augment.text_helpers import kept_indices, numbered


def deleted_span(kept, n):
    """(start, length) of the one span missing from range(n), asserting exactly one is missing."""
    missing = sorted(set(range(n)) - set(kept))
    assert kept == sorted(kept)
    if missing:
        assert missing == list(range(missing[0], missing[-1] + 1)), (kept, n)
        return missing[0], len(missing)
    return None, 0


def test_one_contiguous_span_of_about_the_fraction_goes(rng, seed):
    texts, lengths = numbered(rng, 2000, low=1, high=20)
    kept = kept_indices(SpanDeletion(0.25, seed=seed)(tf.constant(texts)))
    spans = [deleted_span(k, n) for k, n in zip(kept, lengths)]
    deleted = np.array([length for _, length in spans])
    assert all(len(k) >= 1 for k in kept)
    exact = 0.25 * lengths
    rounded_down, rounded_up = np.minimum(np.floor(exact), lengths - 1), np.minimum(np.ceil(exact), lengths - 1)
    assert np.all((deleted == rounded_down) | (deleted == rounded_up))
    # Random rounding: the mean is fraction * n (strings of one word lose nothing).
    assert abs(deleted.sum() - np.minimum(exact, lengths - 1).sum()) < 5 * np.sqrt(len(texts) * 0.25)


def test_the_span_starts_anywhere_it_fits(seed):
    texts = ["w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"] * 3000
    kept = kept_indices(SpanDeletion(0.3, seed=seed)(tf.constant(texts)))
    starts = np.array([deleted_span(k, 10)[0] for k in kept])
    counts = np.bincount(starts, minlength=8)
    assert len(counts) == 8 and np.all(np.abs(counts - 375) < 5 * np.sqrt(3000 / 8 * 7 / 8))


def test_draws_differ_per_call_and_seeds_repeat(seed):
    texts = tf.constant(["w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"] * 32)
    layer = SpanDeletion(0.3, seed=seed)
    first = layer(texts).numpy()
    assert len(set(first)) > 3 and not np.array_equal(first, layer(texts).numpy())
    np.testing.assert_array_equal(SpanDeletion(0.3, seed=seed)(texts).numpy(), first)


def test_edge_strings_and_config(seed):
    layer = SpanDeletion(0.5, seed=seed)
    out = layer(tf.constant(["", "   ", "Ünïcödé", " ".join(["x"] * 10_000)])).numpy()
    assert list(out[:3]) == [b"", b"", "Ünïcödé".encode()] and len(out[3].split()) == 5000
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(again, SpanDeletion) and again.get_config() == layer.get_config()


@pytest.mark.parametrize("fraction", [-0.1, 1.0])
def test_a_fraction_outside_zero_one_is_refused(fraction):
    with pytest.raises(ValueError, match=r"fraction must be a number in \[0, 1\)"):
        SpanDeletion(fraction)
