"""BYOL (Grill et al., 2020): predict a momentum target's projection of the other view."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.normalized_mse import normalized_mse
from keras_contrastive.methods.momentum_method import MomentumMethod
from keras_contrastive.methods.predictor_method import PredictorMixin
from keras_contrastive.methods.projection_method import pair_embedding_std
from keras_contrastive.towers import Towers


@keras.saving.register_keras_serializable(package="keras_contrastive")
class BYOL(PredictorMixin, MomentumMethod):
    """BYOL: an online network with a predictor chases its own moving average.

    Both views go through the online encoder, projector and predictor, and
    through the target encoder and projector (an EMA of the online ones,
    with the paper's cosine momentum schedule when `total_steps` is given).
    The loss is the normalised MSE between each view's prediction and the
    target's projection of the other view, symmetric over the views. No
    negatives: `embedding_std` (of the online projections) shows collapse.

    Args:
        projection_dim: Width of the projection and prediction (256 in the paper).
        hidden_dim: Hidden width of the projector (4096 in the paper); by
            default twice the encoder's embedding width.
        num_layers: Dense layers in the projector.
        predictor_hidden_dim: Hidden width of the predictor; by default the
            projector's.
        momentum: Base target momentum in [0, 1) (0.996 in the paper, for
            long runs).
        total_steps: Training length in steps for the cosine schedule from
            `momentum` to 1; None keeps the momentum constant.
        predictor_learning_rate_multiplier: The predictor's learning rate
            relative to the optimizer's (1 in the paper). The paper suggests
            BYOL learns because its predictor stays near-optimal; a faster
            predictor helps it stay so, and lets short runs learn sooner.

    Example:
    >>> method = BYOL(total_steps=epochs * steps_per_epoch)
    >>> model = ContrastiveModel(small_cnn((28, 28, 1)), method)
    """

    metric_names = ("embedding_std",)

    def __init__(
        self,
        projection_dim: int = 256,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        predictor_hidden_dim: int | None = None,
        momentum: float = 0.99,
        total_steps: int | None = None,
        predictor_learning_rate_multiplier: float = 1.0,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, momentum, total_steps, **kwargs)
        self._set_predictor_options(predictor_hidden_dim, predictor_learning_rate_multiplier)

    def default_hidden_dim(self, embedding_dim: int) -> int:
        return 2 * embedding_dim

    def build(self, towers: Towers) -> None:
        super().build(towers)
        self._build_predictors(towers, self.predictor_hidden_dim or self.projectors[0].hidden_dim)

    def compute_loss_and_metrics(self, towers, view_a, view_b, labels=None, training=False) -> dict[str, tf.Tensor]:
        _, (z_a, z_b), (p_a, p_b) = towers.forward(view_a, view_b, training, [self.projectors, self.predictors])
        t_a, t_b = self.target_project(view_a, view_b, training)
        loss = (normalized_mse(p_a, t_b) + normalized_mse(p_b, t_a)) / 2.0
        return {"loss": loss, "embedding_std": pair_embedding_std(z_a, z_b)}
