"""VICReg (Bardes et al., 2022): variance, invariance and covariance regularisation."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.vicreg import vicreg
from keras_contrastive.methods.projection_method import ProjectionMethod, pair_embedding_std
from keras_contrastive.validation import check_non_negative


@keras.saving.register_keras_serializable(package="keras_contrastive")
class VICReg(ProjectionMethod):
    """VICReg: views close, every dimension spread, dimensions decorrelated.

    Both views go through the encoder and an expander (a wide projector);
    the loss is the weighted sum of the views' mean squared distance
    (invariance), a hinge on each dimension's standard deviation (variance)
    and the off-diagonal covariances (covariance). `embedding_std` shows
    collapse in the logs.

    Args:
        projection_dim: Width of the expander's output (8192 in the paper).
        hidden_dim: Hidden width of the expander; by default `projection_dim`.
        num_layers: Dense layers in the expander (3 in the paper).
        invariance_weight: Weight of the invariance term (25).
        variance_weight: Weight of the variance term (25), which is the mean of
            the two views' hinges as in the official code and lightly.
        covariance_weight: Weight of the covariance term (1).

    Example:
    >>> model = ContrastiveModel(small_cnn((28, 28, 1)), VICReg(projection_dim=1024))
    """

    metric_names = ("embedding_std",)

    def __init__(
        self,
        projection_dim: int = 1024,
        hidden_dim: int | None = None,
        num_layers: int = 3,
        invariance_weight: float = 25.0,
        variance_weight: float = 25.0,
        covariance_weight: float = 1.0,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, **kwargs)
        self.invariance_weight = check_non_negative(invariance_weight, "invariance_weight")
        self.variance_weight = check_non_negative(variance_weight, "variance_weight")
        self.covariance_weight = check_non_negative(covariance_weight, "covariance_weight")

    def default_hidden_dim(self, embedding_dim: int) -> int:
        return self.projection_dim

    def compute_loss_and_metrics(self, towers, view_a, view_b, labels=None, training=False) -> dict[str, tf.Tensor]:
        z_a, z_b = self.project(towers, view_a, view_b, training)
        loss = vicreg(
            z_a,
            z_b,
            invariance_weight=self.invariance_weight,
            variance_weight=self.variance_weight,
            covariance_weight=self.covariance_weight,
        )
        return {"loss": loss, "embedding_std": pair_embedding_std(z_a, z_b)}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            invariance_weight=self.invariance_weight,
            variance_weight=self.variance_weight,
            covariance_weight=self.covariance_weight,
        )
        return config
