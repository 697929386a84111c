"""MoCo v2 (Chen et al., 2020): InfoNCE against a momentum key encoder and a queue."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.info_nce import info_nce_and_accuracy
from keras_contrastive.losses.validation import check_positive_temperature
from keras_contrastive.methods.embedding_queue import EmbeddingQueue
from keras_contrastive.methods.momentum_method import MomentumMethod


@keras.saving.register_keras_serializable(package="keras_contrastive")
class MoCo(MomentumMethod):
    """MoCo v2: queries from the online network, keys from its momentum copy.

    Each query's positive is the key of its other view; the negatives are
    the batch's other keys and a queue of keys from earlier steps, updated
    inside the compiled training step (first in, first out). The head is
    MoCo v2's MLP without batch normalisation. `symmetric=True` also scores
    view b's queries against view a's keys and enqueues both views' keys.

    Args:
        projection_dim: Width of the projection (128 in the paper).
        hidden_dim: Width of the head's hidden layer; by default the
            encoder's embedding width.
        num_layers: Dense layers in the head.
        temperature: InfoNCE temperature, a positive float (0.2 in MoCo v2).
        momentum: The key network's momentum in [0, 1) (0.999 in the paper,
            which trains for 200 epochs of ImageNet; 0.99 suits short runs).
        total_steps: Training length for a cosine momentum schedule from
            `momentum` up to 1; None (MoCo's choice) keeps it constant.
        queue_size: Keys kept as negatives; at least the keys of one step
            (the batch, twice the batch when symmetric).
        symmetric: Whether to use both views as queries.

    Example:
    >>> model = ContrastiveModel(small_cnn((28, 28, 1)), MoCo(queue_size=4096))
    """

    metric_names = ("contrastive_accuracy",)
    projector_batch_norm = False

    def __init__(
        self,
        projection_dim: int = 128,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        temperature: float = 0.2,
        momentum: float = 0.99,
        total_steps: int | None = None,
        queue_size: int = 4096,
        symmetric: bool = False,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, momentum, total_steps, **kwargs)
        check_positive_temperature(temperature)
        if int(queue_size) != queue_size or queue_size < 1:
            raise ValueError(f"queue_size must be a positive integer, got {queue_size!r}.")
        self.temperature = float(temperature)
        self.queue_size = int(queue_size)
        self.symmetric = bool(symmetric)

    def build(self, embedding_shape):
        super().build(embedding_shape)
        self.queue = EmbeddingQueue(self.queue_size, name="queue")
        self.queue.build((None, self.projection_dim))

    def compute_loss_and_metrics(
        self, encoder, view_a, view_b, labels=None, training=False
    ) -> dict[str, tf.Tensor]:
        negatives = self.queue.embeddings
        if self.symmetric:
            q_a, q_b = tf.split(self.project(encoder, view_a, view_b, training), 2, axis=0)
            keys = self.target_projections(tf.concat([view_a, view_b], axis=0), training)
            k_a, k_b = tf.split(keys, 2, axis=0)
            loss_a, accuracy_a = info_nce_and_accuracy(q_a, k_b, negatives, self.temperature)
            loss_b, accuracy_b = info_nce_and_accuracy(q_b, k_a, negatives, self.temperature)
            loss, accuracy = (loss_a + loss_b) / 2.0, (accuracy_a + accuracy_b) / 2.0
        else:
            queries = self.projector(encoder(view_a, training=training), training=training)
            keys = self.target_projections(view_b, training)
            loss, accuracy = info_nce_and_accuracy(queries, keys, negatives, self.temperature)
        if training:
            self.queue.enqueue(tf.math.l2_normalize(tf.cast(keys, tf.float32), axis=1))
        return {"loss": loss, "contrastive_accuracy": accuracy}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            temperature=self.temperature,
            queue_size=self.queue_size,
            symmetric=self.symmetric,
        )
        return config
