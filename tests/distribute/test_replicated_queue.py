"""An EmbeddingQueue under MirroredStrategy holds, on every replica, the single-device queue of the global batches."""

import numpy as np
import tensorflow as tf

from keras_contrastive.methods.embedding_queue import EmbeddingQueue
from tests.distribute.replicas import run_check


def test_every_replica_writes_the_keys_of_all_replicas_in_order(tmp_path, rng):
    size, dim = 10, 3
    # Per step, replica 0's and replica 1's batches; unequal, and wrapping round the ring.
    steps = [(2, 3), (1, 2), (3, 2)]
    inputs = {"size": np.array(size)}
    for step, sizes in enumerate(steps):
        for replica, n in enumerate(sizes):
            inputs[f"batch_{step}_{replica}"] = rng.normal(size=(n, dim)).astype("float32")
    outputs = run_check("queue", inputs, tmp_path)

    single = EmbeddingQueue(size)
    single.build((None, dim))
    for step in range(len(steps)):
        single.enqueue(tf.constant(np.concatenate([inputs[f"batch_{step}_{r}"] for r in range(2)])))
    # 13 rows were written to a ring of 10: every initial row is gone and the next write is at 3.
    for replica in range(2):
        np.testing.assert_array_equal(outputs[f"embeddings_{replica}"], single.embeddings.numpy())
        assert int(outputs[f"pointer_{replica}"]) == int(single.pointer.numpy()) == 3
        assert int(outputs[f"filled_{replica}"]) == int(single.filled.numpy()) == size
