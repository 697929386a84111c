"""The base of methods that learn against a momentum (EMA) copy of themselves."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.methods.momentum import (
    check_momentum,
    cosine_momentum,
    momentum_copy,
    momentum_update,
)
from keras_contrastive.methods.projection_method import ProjectionMethod


class MomentumMethod(ProjectionMethod):
    """A projection method with a target encoder and projector that follow by EMA.

    After every optimizer step the target's parameters move towards the
    online ones: `target = m * target + (1 - m) * online`, where `m` is
    `momentum`, or BYOL's cosine schedule from `momentum` up to 1 when
    `total_steps` is given. The targets and the step count are variables of
    the method, so they are saved with the model and a resumed run continues
    with the same targets.

    Args:
        projection_dim, hidden_dim, num_layers: The projector's shape.
        momentum: The target's momentum in [0, 1).
        total_steps: Training length in optimizer steps for the cosine
            momentum schedule; None keeps the momentum constant.
    """

    def __init__(
        self,
        projection_dim: int = 128,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        momentum: float = 0.99,
        total_steps: int | None = None,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, **kwargs)
        check_momentum(momentum)
        if total_steps is not None and (int(total_steps) != total_steps or total_steps < 1):
            raise ValueError(
                f"total_steps must be a positive integer or None, got {total_steps!r}."
            )
        self.momentum = float(momentum)
        self.total_steps = None if total_steps is None else int(total_steps)
        self.target_encoder = None

    def attach(self, encoder: keras.Model) -> None:
        self.target_encoder = momentum_copy(encoder, encoder.input_shape)

    def build(self, embedding_shape):
        if self.target_encoder is None:
            raise ValueError(
                f"{type(self).__name__} keeps a momentum copy of the encoder: use it "
                "through ContrastiveModel(encoder, method), which attaches the encoder."
            )
        super().build(embedding_shape)
        self.target_projector = momentum_copy(self.projector, embedding_shape)
        self.steps = self.add_weight(
            shape=(), initializer="zeros", dtype="int64", trainable=False, name="steps"
        )

    def target_projections(self, images: tf.Tensor, training: bool) -> tf.Tensor:
        """`images` through the target encoder and projector, without gradient."""
        embeddings = self.target_encoder(images, training=training)
        return tf.stop_gradient(self.target_projector(embeddings, training=training))

    def current_momentum(self) -> tf.Tensor:
        """The momentum the next update uses (a float32 scalar)."""
        return cosine_momentum(self.momentum, self.steps, self.total_steps)

    def after_step(self, encoder: keras.Model) -> None:
        momentum = self.current_momentum()
        momentum_update(self.target_encoder, encoder, momentum)
        momentum_update(self.target_projector, self.projector, momentum)
        self.steps.assign_add(1)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(momentum=self.momentum, total_steps=self.total_steps)
        return config
