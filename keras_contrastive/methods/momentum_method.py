"""The base of methods that learn against a momentum (EMA) copy of themselves."""

from __future__ import annotations

import tensorflow as tf

from keras_contrastive.methods.momentum import (
    check_momentum,
    cosine_momentum,
    momentum_copy,
    momentum_update,
)
from keras_contrastive.methods.projection_method import ProjectionMethod
from keras_contrastive.towers import Towers
from keras_contrastive.validation import check_optional_positive_int


class MomentumMethod(ProjectionMethod):
    """A projection method with target encoders and projectors that follow by EMA.

    After every optimizer step each target's parameters move towards the
    online ones: `target = m * target + (1 - m) * online`, where `m` is
    `momentum`, or BYOL's cosine schedule from `momentum` up to 1 when
    `total_steps` is given. A two-tower model has a target of each tower.
    The targets and the step count are variables of the method, so they are
    saved with the model and a resumed run continues with the same targets.

    Args:
        projection_dim, hidden_dim, num_layers: The projectors' shape.
        momentum: The targets' momentum in [0, 1).
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
        self.momentum = check_momentum(momentum)
        self.total_steps = check_optional_positive_int(total_steps, "total_steps")

    def build(self, towers: Towers) -> None:
        # The encoders' copies before the heads: cloning draws (then
        # overwrites) initial weights from the global seed, and this order
        # keeps a seed's heads the ones the recorded benchmark figures used.
        self.target_encoders = [momentum_copy(e, e.input_shape) for e in towers.encoders]
        super().build(towers)
        self.target_projectors = [
            momentum_copy(p, (None, dim)) for p, dim in zip(self.projectors, towers.embedding_dims)
        ]
        self.steps = self.add_weight(shape=(), initializer="zeros", dtype="int64", trainable=False, name="steps")

    def target_towers(self) -> Towers:
        """The momentum copies of the model's towers."""
        return Towers(*self.target_encoders)

    def target_project(self, view_a, view_b, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
        """Both views through the target towers and projectors, without gradient."""
        _, (t_a, t_b) = self.target_towers().forward(view_a, view_b, training, [self.target_projectors])
        return tf.stop_gradient(t_a), tf.stop_gradient(t_b)

    def target_project_side(self, side: int, view, training: bool) -> tf.Tensor:
        """One view through its target tower and projector (`side` 0 or 1), without gradient."""
        _, projection = self.target_towers().forward_side(side, view, training, [self.target_projectors])
        return tf.stop_gradient(projection)

    def current_momentum(self) -> tf.Tensor:
        """The momentum the next update uses (a float32 scalar)."""
        return cosine_momentum(self.momentum, self.steps, self.total_steps)

    def after_step(self, towers: Towers, results: dict) -> None:
        momentum = self.current_momentum()
        for target, online in zip(self.target_encoders, towers.encoders):
            momentum_update(target, online, momentum)
        for target, online in zip(self.target_projectors, self.projectors):
            momentum_update(target, online, momentum)
        self.steps.assign_add(1)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(momentum=self.momentum, total_steps=self.total_steps)
        return config
