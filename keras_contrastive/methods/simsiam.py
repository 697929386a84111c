"""SimSiam (Chen and He, 2021): predict the other view's projection, with a stop-gradient."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.negative_cosine import negative_cosine
from keras_contrastive.methods.predictor_method import PredictorMixin
from keras_contrastive.methods.projection_method import ProjectionMethod, pair_embedding_std
from keras_contrastive.towers import Towers


@keras.saving.register_keras_serializable(package="keras_contrastive")
class SimSiam(PredictorMixin, ProjectionMethod):
    """SimSiam: no negatives, no momentum network, a stop-gradient instead.

    Both views go through the encoder, a projector with a batch-normalised
    output, and a bottleneck predictor. The loss is the negative cosine
    similarity between each view's prediction and the other view's
    projection, which is treated as a constant (the stop-gradient that keeps
    SimSiam from collapsing). `embedding_std` of the projections shows
    collapse in the logs.

    Args:
        projection_dim: Width of the projection (2048 in the paper).
        hidden_dim: Hidden width of the projector; by default `projection_dim`.
        num_layers: Dense layers in the projector (3 in the paper).
        predictor_hidden_dim: The predictor's bottleneck; by default a
            quarter of `projection_dim`, as in the paper.
        predictor_learning_rate_multiplier: The predictor's learning rate
            relative to the optimizer's. The paper keeps it from decaying
            (relatively larger as training goes on); on short runs a faster
            predictor lets the encoder learn sooner.

    Example:
    >>> model = ContrastiveModel(small_cnn((28, 28, 1)), SimSiam(projection_dim=512))
    """

    metric_names = ("embedding_std",)
    projector_output_batch_norm = True

    def __init__(
        self,
        projection_dim: int = 512,
        hidden_dim: int | None = None,
        num_layers: int = 3,
        predictor_hidden_dim: int | None = None,
        predictor_learning_rate_multiplier: float = 1.0,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, **kwargs)
        self._set_predictor_options(predictor_hidden_dim, predictor_learning_rate_multiplier)

    def default_hidden_dim(self, embedding_dim: int) -> int:
        return self.projection_dim

    def build(self, towers: Towers) -> None:
        super().build(towers)
        self._build_predictors(towers, self.predictor_hidden_dim or max(1, self.projection_dim // 4))

    def compute_loss_and_metrics(self, towers, view_a, view_b, labels=None, training=False) -> dict[str, tf.Tensor]:
        _, (z_a, z_b), (p_a, p_b) = towers.forward(view_a, view_b, training, [self.projectors, self.predictors])
        loss = (negative_cosine(p_a, tf.stop_gradient(z_b)) + negative_cosine(p_b, tf.stop_gradient(z_a))) / 2.0
        return {"loss": loss, "embedding_std": pair_embedding_std(z_a, z_b)}
