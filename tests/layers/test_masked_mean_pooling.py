import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.layers import MaskedMeanPooling


def reference(vectors, keep):
    """float64 mean of the kept rows of each sequence; zeros where none is kept."""
    vectors, keep = np.asarray(vectors, np.float64), np.asarray(keep, bool)
    out = np.zeros((vectors.shape[0], vectors.shape[2]))
    for row in range(len(vectors)):
        if keep[row].any():
            out[row] = vectors[row][keep[row]].mean(axis=0)
    return out


def random_batch(rng, batch=9, length=7, dim=5):
    vectors = rng.normal(size=(batch, length, dim)).astype("float32")
    ids = rng.integers(1, 50, size=(batch, length)) * (rng.random((batch, length)) < 0.6)
    ids[0] = 0  # an empty string
    ids[1] = rng.integers(1, 50, size=length)  # no padding
    return vectors, ids


def test_token_ids_mask_matches_a_float64_reference(rng):
    vectors, ids = random_batch(rng)
    out = MaskedMeanPooling()([vectors, ids]).numpy()
    assert out.shape == (9, 5) and np.isfinite(out).all()
    np.testing.assert_allclose(out, reference(vectors, ids != 0), atol=1e-6)
    np.testing.assert_array_equal(out[0], np.zeros(5))


def test_a_keras_mask_matches_the_reference_and_propagates_from_an_embedding(rng):
    vectors, ids = random_batch(rng)
    out = MaskedMeanPooling()(vectors, mask=tf.constant(ids != 0)).numpy()
    np.testing.assert_allclose(out, reference(vectors, ids != 0), atol=1e-6)
    inputs = keras.Input(shape=(7,), dtype="int32")
    embedding = keras.layers.Embedding(50, 5, mask_zero=True)
    model = keras.Model(inputs, MaskedMeanPooling()(embedding(inputs)))
    table = embedding.embeddings.numpy()
    np.testing.assert_allclose(model(ids).numpy(), reference(table[ids], ids != 0), atol=1e-6)


def test_without_a_mask_it_is_the_plain_mean(rng):
    vectors, _ = random_batch(rng)
    np.testing.assert_allclose(MaskedMeanPooling()(vectors).numpy(), vectors.astype("float64").mean(1), atol=1e-6)


def test_gradients_of_an_all_padding_row_are_finite(rng):
    vectors = tf.constant(rng.normal(size=(2, 3, 4)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(vectors)
        total = tf.reduce_sum(MaskedMeanPooling()([vectors, tf.constant([[0, 0, 0], [4, 0, 0]])]))
    gradient = tape.gradient(total, vectors).numpy()
    assert np.isfinite(gradient).all()
    np.testing.assert_array_equal(gradient[0], 0.0)
    np.testing.assert_array_equal(gradient[1, 0], 1.0)


def test_config_round_trips():
    layer = MaskedMeanPooling(name="pool")
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(again, MaskedMeanPooling) and again.get_config() == layer.get_config()


@pytest.mark.parametrize(
    "inputs, message",
    [
        (np.zeros((2, 3)), r"shape \(batch, length, dim\)"),
        ([np.zeros((2, 3, 4)), np.zeros((2, 3))], "integer token ids"),
        ([np.zeros((2, 3, 4)), np.zeros((2, 3), "int32"), np.zeros(2)], "got 3 inputs"),
    ],
)
def test_bad_inputs_are_refused(inputs, message):
    with pytest.raises(ValueError, match=message):
        MaskedMeanPooling()(inputs)
