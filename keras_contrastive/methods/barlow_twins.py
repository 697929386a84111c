"""Barlow Twins (Zbontar et al., 2021): make the views' cross-correlation the identity."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.barlow_twins import barlow_twins
from keras_contrastive.methods.projection_method import ProjectionMethod, pair_embedding_std
from keras_contrastive.validation import check_non_negative


@keras.saving.register_keras_serializable(package="keras_contrastive")
class BarlowTwins(ProjectionMethod):
    """Barlow Twins: invariance on the diagonal, redundancy reduction off it.

    Both views go through the encoder and a wide projector; the loss
    standardises each view's projections over the batch and pushes their
    cross-correlation matrix towards the identity, off-diagonal terms
    weighted by `lambda_param`. `embedding_std` shows collapse in the logs.

    Args:
        projection_dim: Width of the projection (8192 in the paper).
        hidden_dim: Hidden width of the projector; by default `projection_dim`.
        num_layers: Dense layers in the projector (3 in the paper).
        lambda_param: Weight of the off-diagonal (redundancy) terms.

    Example:
    >>> model = ContrastiveModel(small_cnn((28, 28, 1)), BarlowTwins(projection_dim=1024))
    """

    metric_names = ("embedding_std",)

    def __init__(
        self,
        projection_dim: int = 1024,
        hidden_dim: int | None = None,
        num_layers: int = 3,
        lambda_param: float = 5e-3,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, **kwargs)
        self.lambda_param = check_non_negative(lambda_param, "lambda_param")

    def default_hidden_dim(self, embedding_dim: int) -> int:
        return self.projection_dim

    def compute_loss_and_metrics(self, towers, view_a, view_b, labels=None, training=False) -> dict[str, tf.Tensor]:
        z_a, z_b = self.project(towers, view_a, view_b, training)
        loss = barlow_twins(z_a, z_b, lambda_param=self.lambda_param)
        return {"loss": loss, "embedding_std": pair_embedding_std(z_a, z_b)}

    def get_config(self) -> dict:
        config = super().get_config()
        config["lambda_param"] = self.lambda_param
        return config
