import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.methods.embedding_queue import EmbeddingQueue


def test_enqueue_is_a_ring_buffer_overwriting_the_oldest_rows(rng):
    size, dim = 10, 3
    queue = EmbeddingQueue(size)
    queue.build((None, dim))
    start = queue.embeddings.numpy()
    np.testing.assert_allclose(np.linalg.norm(start, axis=1), 1.0, rtol=1e-5)
    expected, pointer, written = start.copy(), 0, 0
    assert not queue.written_rows().numpy().any()
    enqueue = tf.function(queue.enqueue)
    for batch_size in (4, 4, 4, 7, 10):
        batch = rng.normal(size=(batch_size, dim)).astype(np.float32)
        enqueue(tf.constant(batch))
        for row in batch:
            expected[pointer] = row
            pointer = (pointer + 1) % size
        written = min(written + batch_size, size)
        np.testing.assert_array_equal(queue.embeddings.numpy(), expected)
        assert int(queue.pointer.numpy()) == pointer
        assert int(queue.filled.numpy()) == written
        np.testing.assert_array_equal(queue.written_rows().numpy(), np.arange(size) < written)


def test_a_batch_larger_than_the_queue_is_refused():
    queue = EmbeddingQueue(4)
    queue.build((None, 2))
    with pytest.raises(ValueError, match="queue holds 4 embeddings but a batch of 5"):
        queue.enqueue(tf.zeros((5, 2)))


@pytest.mark.parametrize("size", [0, -3, 2.5, float("inf"), float("nan"), None, "4096", True])
def test_the_size_must_be_a_positive_integer(size):
    with pytest.raises(ValueError, match="size must be a positive integer"):
        EmbeddingQueue(size)


def test_config_round_trip():
    queue = EmbeddingQueue(32, name="q")
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(queue))
    assert again.size == 32 and again.name == "q"
