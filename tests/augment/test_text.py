import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive import augment
from tests.augment.text_helpers import kept_indices, numbered


def test_the_preset_composes_crop_deletion_and_dropout_in_that_order():
    layers = augment.text(word_dropout=0.2, span_deletion=0.1, span_crop=0.6)._pipeline_layers
    assert [type(l) for l in layers] == [augment.SpanCrop, augment.SpanDeletion, augment.WordDropout]
    assert (layers[0].min_fraction, layers[1].fraction, layers[2].rate) == (0.6, 0.1, 0.2)
    assert [type(l) for l in augment.text()._pipeline_layers] == [augment.SpanDeletion, augment.WordDropout]
    assert [type(l) for l in augment.text(None, None, 0.5)._pipeline_layers] == [augment.SpanCrop]


def test_views_keep_words_in_order_never_empty_and_differ_between_calls(rng, seed):
    texts, lengths = numbered(rng, 500, low=1, high=20)
    views = augment.text(word_dropout=0.2, span_deletion=0.2, span_crop=0.5, seed=seed)
    a, b = views(tf.constant(texts)), views(tf.constant(texts))
    for kept, n in zip(kept_indices(a), lengths):
        assert 1 <= len(kept) <= n and kept == sorted(set(kept)) and kept[-1] < n
    assert np.mean(a.numpy() != b.numpy()) > 0.5


def test_it_maps_a_tf_data_pipeline_of_pairs(seed):
    views = augment.text(seed=seed)
    dataset = tf.data.Dataset.from_tensor_slices(["w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"] * 16).batch(8)
    pairs = dataset.map(lambda batch: (views(batch), views(batch)))
    for a, b in pairs:
        assert a.shape == b.shape == (8,) and a.dtype == tf.string


def test_no_step_at_all_is_refused():
    with pytest.raises(ValueError, match="needs at least one of word_dropout, span_deletion and span_crop"):
        augment.text(word_dropout=None, span_deletion=0.0, span_crop=None)
