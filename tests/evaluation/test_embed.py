import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.evaluation import compare_with_baselines, embed_labelled
from tests.evaluation.test_knn import reference_knn


def dropout_encoder(rng, shape=(3, 4), dim=5):
    """An encoder whose inference-mode output is a known affine map, and that map in float64.

    The Dropout layer before the Dense one changes the output only in
    training mode, so matching the reference shows the encoder ran in
    inference mode.
    """
    inputs = keras.Input(shape)
    dense = keras.layers.Dense(dim)
    encoder = keras.Model(inputs, dense(keras.layers.Dropout(0.9)(keras.layers.Flatten()(inputs))))
    kernel, bias = rng.normal(size=(int(np.prod(shape)), dim)), rng.normal(size=dim)
    dense.set_weights([kernel, bias])

    def reference(examples):
        return np.asarray(examples, np.float64).reshape(len(examples), -1) @ kernel + bias

    return encoder, reference


def test_an_encoder_embeds_batched_and_unbatched_datasets_and_arrays_in_order(rng):
    encoder, reference = dropout_encoder(rng)
    examples = rng.normal(size=(23, 3, 4)).astype(np.float32)
    labels = rng.integers(0, 5, size=23).astype(np.int32)
    unbatched = tf.data.Dataset.from_tensor_slices((examples, labels))
    sources = {
        "unbatched dataset": unbatched,
        "batched dataset": unbatched.batch(5),
        "batched dataset with (batch, 1) labels": unbatched.batch(6).map(lambda x, y: (x, y[:, None])),
        "tuple of arrays": (examples, labels),
        "list of arrays": [examples, labels],
    }
    for name, data in sources.items():
        features, got_labels = embed_labelled(encoder, data, batch_size=7)
        assert features.dtype == np.float32 and features.shape == (23, 5), name
        assert got_labels.dtype == np.int64, name
        np.testing.assert_allclose(features, reference(examples), rtol=1e-5, atol=1e-5, err_msg=name)
        np.testing.assert_array_equal(got_labels, labels, err_msg=name)


def test_embedding_again_with_the_same_encoder_reuses_its_first_trace(rng):
    encoder, reference = dropout_encoder(rng)
    examples = rng.normal(size=(16, 3, 4)).astype(np.float32)
    labels = rng.integers(0, 5, size=16)
    tracings = []
    encoder.call = _counting(encoder.call, tracings)
    for _ in range(6):  # TensorFlow warns from the fifth tracing of one function
        features, _ = embed_labelled(encoder, (examples, labels), batch_size=8)
        np.testing.assert_allclose(features, reference(examples), rtol=1e-5, atol=1e-5)
    assert len(tracings) == 1  # the first call's trace, reused by the five after it


def _counting(call, calls: list):
    """`call`, appending to `calls` each time Python runs it (once per trace inside a tf.function)."""
    def counted(*args, **kwargs):
        calls.append(1)
        return call(*args, **kwargs)
    return counted


def test_a_plain_callable_featurizer_gets_batches_of_batch_size_or_the_datasets_own(rng):
    examples = rng.integers(0, 256, size=(10, 2, 3)).astype(np.uint8)
    labels = rng.integers(0, 3, size=10)
    seen = []

    def featurize(batch):
        seen.append(len(batch))
        return np.asarray(batch, np.float64).reshape(len(batch), -1)[:, :4] / 255.0  # float64, as NumPy gives

    expected = examples.reshape(10, -1)[:, :4].astype(np.float64) / 255.0
    unbatched = tf.data.Dataset.from_tensor_slices((examples, labels))
    for data, batches in (((examples, labels), [4, 4, 2]), (unbatched, [4, 4, 2]), (unbatched.batch(3), [3, 3, 3, 1])):
        seen.clear()
        features, got_labels = embed_labelled(featurize, data, batch_size=4)
        assert seen == batches
        assert features.dtype == np.float32
        np.testing.assert_allclose(features, expected, rtol=1e-6)
        np.testing.assert_array_equal(got_labels, labels)
    # A featurizer may return tensors too.
    features, _ = embed_labelled(lambda batch: tf.reduce_sum(tf.cast(batch, tf.float32), axis=[1, 2])[:, None],
                                 unbatched)
    np.testing.assert_allclose(features[:, 0], examples.reshape(10, -1).sum(axis=1).astype(np.float64), rtol=1e-6)


def test_verbose_counts_the_examples_embedded(rng, capsys):
    examples = rng.integers(0, 256, size=(10, 2, 3)).astype(np.uint8)
    data = tf.data.Dataset.from_tensor_slices((examples, rng.integers(0, 3, size=10)))
    embed_labelled(lambda batch: np.zeros((len(batch), 2)), data, batch_size=4, verbose=True)
    assert "10/10" in capsys.readouterr().out
    embed_labelled(lambda batch: np.zeros((len(batch), 2)), data, batch_size=4)
    assert capsys.readouterr().out == ""


def test_a_dataset_of_unknown_length_is_streamed(rng):
    encoder, reference = dropout_encoder(rng, shape=(4,), dim=3)
    examples = rng.normal(size=(9, 4)).astype(np.float32)
    labels = rng.integers(0, 4, size=9)
    data = tf.data.Dataset.from_generator(
        lambda: zip(examples, labels),
        output_signature=(tf.TensorSpec((4,), tf.float32), tf.TensorSpec((), tf.int64)),
    )
    assert data.cardinality() == tf.data.UNKNOWN_CARDINALITY
    features, got_labels = embed_labelled(encoder, data, batch_size=4)
    np.testing.assert_allclose(features, reference(examples), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got_labels, labels)


def test_empty_and_unlabelled_data_are_refused():
    examples, labels = np.zeros((5, 3), np.float32), np.zeros(5, np.int64)

    def featurize(batch):
        return np.asarray(batch)

    empty_sources = (
        (examples[:0], labels[:0]),
        tf.data.Dataset.from_tensor_slices((examples[:0], labels[:0])),
        tf.data.Dataset.from_tensor_slices((examples, labels)).filter(lambda x, y: False),
        tf.data.Dataset.from_tensor_slices((examples, labels)).batch(2).take(0),
    )
    for data in empty_sources:
        with pytest.raises(ValueError, match="empty"):
            embed_labelled(featurize, data)
    with pytest.raises(ValueError, match=r"\(example, label\) pairs"):
        embed_labelled(featurize, tf.data.Dataset.from_tensor_slices(examples))
    with pytest.raises(ValueError, match=r"\(example, label\) pairs"):
        embed_labelled(featurize, tf.data.Dataset.from_tensor_slices((examples, labels, labels)))
    with pytest.raises(ValueError, match="tf.data.Dataset"):
        embed_labelled(featurize, examples)


def test_compare_with_baselines_streams_datasets_and_scores_raw_pixels(seed):
    train = kc.data.load_numpy("digits", "train[:200]")
    test = kc.data.load_numpy("digits", "test[:90]")
    encoder = kc.encoders.small_cnn((8, 8, 1), widths=(4, 8))
    results = compare_with_baselines(encoder, tf.data.Dataset.from_tensor_slices(train).batch(32),
                                     tf.data.Dataset.from_tensor_slices(test), k=10, temperature=0.1,
                                     probe_epochs=2, seed=seed)
    assert set(results) == {"trained", "random_init", "raw_pixels"}
    for scores in results.values():
        assert set(scores) == {"knn_accuracy", "linear_probe_accuracy"}
        assert all(0.0 <= value <= 1.0 for value in scores.values())
    pixels = [images.reshape(len(images), -1).astype(np.float64) / 255.0 for images, _ in (train, test)]
    expected = reference_knn(pixels[0], train[1].astype(np.int64), pixels[1], test[1].astype(np.int64), 10, 0.1)
    assert expected > 0.5  # raw digits pixels are a strong baseline: the figure is not vacuous
    assert results["raw_pixels"]["knn_accuracy"] == pytest.approx(expected, abs=1.5 / 90)


def test_compare_with_baselines_takes_arrays_and_has_no_raw_pixels_for_feature_vectors(rng, seed):
    inputs = keras.Input((6,))
    dense = keras.layers.Dense(4)
    encoder = keras.Model(inputs, dense(inputs))
    kernel, bias = rng.normal(size=(6, 4)), rng.normal(size=4)
    dense.set_weights([kernel, bias])
    centres = rng.normal(size=(3, 6)) * 3
    labels = rng.integers(0, 3, size=120)
    features = (centres[labels] + rng.normal(size=(120, 6))).astype(np.float32)
    results = compare_with_baselines(encoder, (features[:80], labels[:80]), (features[80:], labels[80:]), k=5,
                                     temperature=0.1, probe_epochs=2, seed=seed)
    assert set(results) == {"trained", "random_init"}
    embedded = features.astype(np.float64) @ kernel + bias
    expected = reference_knn(embedded[:80], labels[:80], embedded[80:], labels[80:], 5, 0.1)
    assert results["trained"]["knn_accuracy"] == pytest.approx(expected, abs=1.5 / 40)
