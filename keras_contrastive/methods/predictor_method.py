"""A prediction head on each tower with its own learning rate, shared by BYOL and SimSiam."""

from __future__ import annotations

from keras_contrastive.heads import prediction_head
from keras_contrastive.towers import Towers
from keras_contrastive.validation import check_optional_positive_int, check_positive


class PredictorMixin:
    """Gives a `Method` predictors whose optimizer steps are multiplied.

    Mixed in before the method's base class (`class BYOL(PredictorMixin,
    MomentumMethod)`). The method calls `_set_predictor_options` in
    `__init__` and `_build_predictors` in `build`; the model multiplies the
    optimizer's step on the predictors by `predictor_learning_rate_multiplier`
    (see `Method.learning_rate_multipliers`), and `get_config` records both
    options.
    """

    def _set_predictor_options(self, hidden_dim: int | None, learning_rate_multiplier: float) -> None:
        self.predictor_hidden_dim = check_optional_positive_int(hidden_dim, "predictor_hidden_dim")
        self.predictor_learning_rate_multiplier = check_positive(
            learning_rate_multiplier, "predictor_learning_rate_multiplier"
        )

    def _build_predictors(self, towers: Towers, hidden_dim: int) -> None:
        self.predictors = [
            prediction_head(self.projection_dim, hidden_dim, name=name)
            for name, _ in zip(["predictor", "pair_predictor"], towers.encoders)
        ]

    @property
    def learning_rate_multipliers(self) -> list[tuple[list, float]]:
        variables = [v for predictor in self.predictors for v in predictor.trainable_variables]
        return [(variables, self.predictor_learning_rate_multiplier)]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            predictor_hidden_dim=self.predictor_hidden_dim,
            predictor_learning_rate_multiplier=self.predictor_learning_rate_multiplier,
        )
        return config
