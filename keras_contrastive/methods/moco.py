"""MoCo v2 (Chen et al., 2020): InfoNCE against a momentum key encoder and a queue."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.info_nce import info_nce_and_accuracy
from keras_contrastive.methods.embedding_queue import EmbeddingQueue
from keras_contrastive.methods.momentum_method import MomentumMethod
from keras_contrastive.towers import Towers
from keras_contrastive.validation import check_optional_positive_int, check_positive, check_positive_int


@keras.saving.register_keras_serializable(package="keras_contrastive")
class MoCo(MomentumMethod):
    """MoCo v2: queries from the online network, keys from its momentum copy.

    Each query's positive is the key of its other view; the negatives are
    the batch's other keys and a queue of keys from earlier steps (see
    `kc.losses.info_nce` for how this differs from the reference code, which
    uses the queue alone). After each step the batch's keys enter the queue
    (first in, first out). The head is MoCo v2's MLP without batch
    normalisation. `symmetric=True` also scores view b's queries against view
    a's keys and enqueues both views' keys. With two towers, view a's queries
    come from the first tower and their keys from the second tower's target.

    Args:
        projection_dim: Width of the projection (128 in the paper).
        hidden_dim: Width of the head's hidden layer; by default the
            encoder's embedding width.
        num_layers: Dense layers in the head.
        temperature: InfoNCE temperature, a positive number (0.2 in MoCo v2).
        momentum: The key network's momentum in [0, 1) (0.999 in the paper,
            which trains for 200 epochs of ImageNet; 0.99 suits short runs).
        total_steps: Training length for a cosine momentum schedule from
            `momentum` up to 1; None (MoCo's choice) keeps it constant.
        queue_size: Keys kept as negatives; at least the keys of one step
            (the batch, twice the batch when symmetric).
        symmetric: Whether to use both views as queries.
        block_size: None for InfoNCE's full similarity matrix, or the number
            of candidate columns (keys, then the queue) per block.

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
        block_size: int | None = None,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, momentum, total_steps, **kwargs)
        self.temperature = check_positive(temperature, "temperature")
        self.queue_size = check_positive_int(queue_size, "queue_size")
        self.symmetric = bool(symmetric)
        self.block_size = check_optional_positive_int(block_size, "block_size")

    def build(self, towers: Towers) -> None:
        super().build(towers)
        self.queue = EmbeddingQueue(self.queue_size, name="queue")
        self.queue.build((None, self.projection_dim))

    def compute_loss_and_metrics(self, towers, view_a, view_b, labels=None, training=False) -> dict[str, tf.Tensor]:
        negatives = self.queue.embeddings
        if self.symmetric:
            q_a, q_b = self.project(towers, view_a, view_b, training)
            k_a, k_b = self.target_project(view_a, view_b, training)
            loss_a, accuracy_a = info_nce_and_accuracy(q_a, k_b, negatives, self.temperature, self.block_size)
            loss_b, accuracy_b = info_nce_and_accuracy(q_b, k_a, negatives, self.temperature, self.block_size)
            loss, accuracy = (loss_a + loss_b) / 2.0, (accuracy_a + accuracy_b) / 2.0
            keys = [k_a, k_b]
        else:
            _, queries = towers.forward_side(0, view_a, training, [self.projectors])
            k_b = self.target_project_side(1, view_b, training)
            loss, accuracy = info_nce_and_accuracy(queries, k_b, negatives, self.temperature, self.block_size)
            keys = [k_b]
        return {"loss": loss, "contrastive_accuracy": accuracy, "keys": keys}

    def after_step(self, towers: Towers, results: dict) -> None:
        super().after_step(towers, results)
        for keys in results["keys"]:
            self.queue.enqueue(tf.math.l2_normalize(tf.cast(keys, tf.float32), axis=1))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(temperature=self.temperature, queue_size=self.queue_size, symmetric=self.symmetric,
                      block_size=self.block_size)
        return config
