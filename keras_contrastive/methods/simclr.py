"""SimCLR (Chen et al., 2020): NT-Xent over two views through one projection head."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.nt_xent import nt_xent_and_accuracy
from keras_contrastive.methods.projection_method import ProjectionMethod
from keras_contrastive.validation import check_optional_positive_int, check_positive


@keras.saving.register_keras_serializable(package="keras_contrastive")
class SimCLR(ProjectionMethod):
    """SimCLR: both views through the encoder and an MLP head, then NT-Xent.

    In a siamese model the two views go through the encoder as one batch, so
    batch normalisation sees both. With two towers each view goes through
    its own encoder and projector and NT-Xent compares all 2N projections.
    Besides the loss, each step reports `contrastive_accuracy`: how often an
    anchor's positive is the most similar of its 2N - 1 candidates.

    SimCLR supports chunking: its `forward` is the projections and its loss
    is NT-Xent over them, so `ContrastiveModel(..., chunk_size=...)` trains
    it on batches whose activations do not fit at once, and `block_size`
    keeps NT-Xent's similarity matrix out of memory (see `kc.losses.nt_xent`).

    Args:
        projection_dim: Width of the projection the loss sees.
        hidden_dim: Width of the head's hidden layer; by default the
            encoder's embedding width.
        num_layers: Dense layers in the head (2 as in SimCLR v1, 3 in v2).
        temperature: NT-Xent temperature, a positive number.
        block_size: None for NT-Xent's full similarity matrix, or the number
            of candidate columns per block, a positive int.
        **kwargs: `projector_batch_norm` (see `ProjectionMethod`) and the
            layer's `name`.

    Example:
    >>> method = SimCLR(projection_dim=128, temperature=0.1)
    >>> model = ContrastiveModel(encoder=small_cnn((28, 28, 1)), method=method)
    >>> large = ContrastiveModel(small_cnn((28, 28, 1)), SimCLR(block_size=4096), chunk_size=1024)
    """

    metric_names = ("contrastive_accuracy",)

    def __init__(
        self,
        projection_dim: int = 128,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        temperature: float = 0.1,
        block_size: int | None = None,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, **kwargs)
        self.temperature = check_positive(temperature, "temperature")
        self.block_size = check_optional_positive_int(block_size, "block_size")

    def loss_from_outputs(self, outputs, labels=None) -> dict[str, tf.Tensor]:
        z_a, z_b = outputs
        loss, accuracy = nt_xent_and_accuracy(z_a, z_b, self.temperature, self.block_size)
        return {"loss": loss, "contrastive_accuracy": accuracy}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(temperature=self.temperature, block_size=self.block_size)
        return config
