"""A first-in first-out queue of embeddings kept in variables (MoCo negatives, NNCLR support set)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.distribute.cross_replica import all_gather_batch
from keras_contrastive.validation import after_checks, check_positive_int


@keras.saving.register_keras_serializable(package="keras_contrastive")
class EmbeddingQueue(keras.layers.Layer):
    """A ring buffer of `size` L2-normalised embeddings, saved with the model.

    It starts filled with random unit vectors, as in MoCo. `enqueue` writes
    a batch over the oldest rows (a method calls it in `after_step`, inside
    the compiled training step); the contents, the
    write position and the number of rows written so far (`filled`, at most
    `size`) are non-trainable variables, so they are saved with the model and
    training resumes with the same queue.

    Args:
        size: Number of embeddings kept; at least the batch enqueued.

    Example:
    >>> queue = EmbeddingQueue(4096)
    >>> queue.build((None, 128))
    >>> queue.enqueue(tf.math.l2_normalize(tf.random.normal((256, 128)), axis=1))
    """

    def __init__(self, size: int = 4096, **kwargs):
        super().__init__(**kwargs)
        self.size = check_positive_int(size, "size")

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.embeddings = self.add_weight(
            shape=(self.size, dim),
            initializer=_random_unit_rows,
            trainable=False,
            dtype="float32",
            name="embeddings",
        )
        self.pointer = self.add_weight(
            shape=(), initializer="zeros", trainable=False, dtype="int32", name="pointer"
        )
        self.filled = self.add_weight(
            shape=(), initializer="zeros", trainable=False, dtype="int32", name="filled"
        )
        self.built = True

    def call(self, inputs=None):
        """Returns the queue's contents, `(size, dim)`."""
        return self.embeddings

    def enqueue(self, batch: tf.Tensor) -> None:
        """Writes `batch` (`(N, dim)`, N <= size) over the oldest rows.

        Inside `strategy.run` with several replicas, every replica writes the
        batches of all replicas, in replica order (N is then the global
        batch), so the replicas' copies of the queue stay identical and equal
        to the queue of a single-device run on the global batch.
        """
        batch_size = batch.shape[0]
        if batch_size is not None and batch_size > self.size:
            raise ValueError(
                f"The queue holds {self.size} embeddings but a batch of "
                f"{batch_size} was enqueued; make the queue at least as large as "
                "the batch."
            )
        batch, _ = all_gather_batch(tf.stop_gradient(batch))
        n = tf.shape(batch)[0]
        batch, n = after_checks([tf.debugging.assert_less_equal(
            n, self.size, message=f"The queue holds {self.size} embeddings; the batch is larger."
        )], batch, n)
        rows = (self.pointer + tf.range(n)) % self.size
        self.embeddings.assign(
            tf.tensor_scatter_nd_update(
                self.embeddings, rows[:, None], tf.cast(batch, tf.float32)
            )
        )
        self.pointer.assign((self.pointer + n) % self.size)
        self.filled.assign(tf.minimum(self.filled + n, self.size))

    def written_rows(self) -> tf.Tensor:
        """A `(size,)` boolean mask of the rows that hold enqueued embeddings.

        Rows are written in order from 0 until the queue is full, so these
        are the first `filled` rows.
        """
        return tf.range(self.size) < self.filled

    def get_config(self) -> dict:
        config = super().get_config()
        config["size"] = self.size
        return config


def _random_unit_rows(shape, dtype=None):
    return tf.math.l2_normalize(tf.random.normal(shape, dtype=dtype or "float32"), axis=1)
