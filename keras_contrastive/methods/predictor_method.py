"""A prediction head with its own learning-rate multiplier, shared by BYOL and SimSiam."""

from __future__ import annotations

import keras

from keras_contrastive.heads import prediction_head
from keras_contrastive.methods.update_multiplier import (
    UpdateMultiplier,
    check_learning_rate_multiplier,
)


class PredictorMixin:
    """Gives a `Method` a `predictor` whose optimizer step is multiplied.

    Mixed in before the method's base class (`class BYOL(PredictorMixin,
    MomentumMethod)`). The method calls `_set_predictor_options` in
    `__init__` and `_build_predictor` in `build`; the model's step hooks
    then copy the predictor's weights before the optimizer step
    (`before_step`) and scale its step after it (`after_step`, see
    `UpdateMultiplier`), and `get_config` records both options.
    """

    def _set_predictor_options(self, hidden_dim: int | None, learning_rate_multiplier: float) -> None:
        check_learning_rate_multiplier(learning_rate_multiplier)
        self.predictor_hidden_dim = None if hidden_dim is None else int(hidden_dim)
        self.predictor_learning_rate_multiplier = float(learning_rate_multiplier)

    def _build_predictor(self, hidden_dim: int) -> None:
        self.predictor = prediction_head(self.projection_dim, hidden_dim)
        self.predictor_updates = UpdateMultiplier(
            self, self.predictor.trainable_variables, self.predictor_learning_rate_multiplier, "predictor"
        )

    def before_step(self, encoder: keras.Model) -> None:
        self.predictor_updates.remember()
        super().before_step(encoder)

    def after_step(self, encoder: keras.Model) -> None:
        self.predictor_updates.apply()
        super().after_step(encoder)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            predictor_hidden_dim=self.predictor_hidden_dim,
            predictor_learning_rate_multiplier=self.predictor_learning_rate_multiplier,
        )
        return config
