"""SimCLR (Chen et al., 2020): NT-Xent over two views through one projection head."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.nt_xent import nt_xent_and_accuracy
from keras_contrastive.methods.projection_method import ProjectionMethod
from keras_contrastive.validation import check_positive


@keras.saving.register_keras_serializable(package="keras_contrastive")
class SimCLR(ProjectionMethod):
    """SimCLR: both views through the encoder and an MLP head, then NT-Xent.

    In a siamese model the two views go through the encoder as one batch, so
    batch normalisation sees both. With two towers each view goes through
    its own encoder and projector and NT-Xent compares all 2N projections.
    Besides the loss, each step reports `contrastive_accuracy`: how often an
    anchor's positive is the most similar of its 2N - 1 candidates.

    Args:
        projection_dim: Width of the projection the loss sees.
        hidden_dim: Width of the head's hidden layer; by default the
            encoder's embedding width.
        num_layers: Dense layers in the head (2 as in SimCLR v1, 3 in v2).
        temperature: NT-Xent temperature, a positive number.

    Example:
    >>> method = SimCLR(projection_dim=128, temperature=0.1)
    >>> model = ContrastiveModel(encoder=small_cnn((28, 28, 1)), method=method)
    """

    metric_names = ("contrastive_accuracy",)

    def __init__(
        self,
        projection_dim: int = 128,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        temperature: float = 0.1,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, **kwargs)
        self.temperature = check_positive(temperature, "temperature")

    def compute_loss_and_metrics(self, towers, view_a, view_b, labels=None, training=False) -> dict[str, tf.Tensor]:
        z_a, z_b = self.project(towers, view_a, view_b, training)
        loss, accuracy = nt_xent_and_accuracy(z_a, z_b, self.temperature)
        return {"loss": loss, "contrastive_accuracy": accuracy}

    def get_config(self) -> dict:
        config = super().get_config()
        config["temperature"] = self.temperature
        return config
