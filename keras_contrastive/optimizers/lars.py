"""LARS (You et al., 2017): SGD with momentum and a layer-wise trust ratio, as SimCLR trains."""

from __future__ import annotations

import re

import keras
from keras import ops

from keras_contrastive.validation import check_in_range, check_non_negative, check_positive


@keras.saving.register_keras_serializable(package="keras_contrastive")
class LARS(keras.optimizers.Optimizer):
    """Layer-wise adaptive rate scaling with momentum and weight decay.

    For each variable `w` with gradient `g`, as in SimCLR's LARS (classic
    momentum, the learning rate inside the momentum):

        g' = g + weight_decay * w
        trust = eta * ||w|| / ||g'||     (1 where either norm is zero)
        v = momentum * v + learning_rate * trust * g'
        w = w - v        (nesterov: w - (momentum * v + learning_rate * trust * g'))

    Variables of rank 0 or 1 (biases, batch-norm scales and offsets) and
    those whose path matches one of `exclude_patterns` get neither the
    weight decay nor the trust ratio: plain momentum SGD.

    The weight decay here is LARS's own, added to the gradient before the
    trust ratio; Keras's decoupled `weight_decay` argument of other
    optimizers is not used.

    Args:
        learning_rate: A float or a `LearningRateSchedule`, e.g. the SimCLR
            recipe's warmup then cosine decay:
            `keras.optimizers.schedules.CosineDecay(0.0, total - warmup,
            warmup_target=peak, warmup_steps=warmup)`.
        momentum: In [0, 1).
        weight_decay: L2 coefficient added to the gradient, >= 0.
        eta: Trust coefficient, > 0 (0.001 in SimCLR).
        nesterov: Whether to use Nesterov momentum.
        exclude_patterns: Regular expressions searched in each variable's
            path (e.g. `"projector/.*kernel"`); matching variables are
            excluded from decay and adaptation, as rank-0 and rank-1 ones are.
        exclude_rank_below_2: Whether rank-0 and rank-1 variables are excluded.
        **kwargs: Other `keras.optimizers.Optimizer` arguments (`name`,
            `clipnorm`, `global_clipnorm`, `use_ema`, `loss_scale_factor`,
            `gradient_accumulation_steps`, ...).

    Example:
    >>> optimizer = LARS(learning_rate=0.3 * 256 / 256, weight_decay=1e-6)
    >>> model.compile(optimizer=optimizer)
    """

    def __init__(
        self,
        learning_rate=0.1,
        momentum: float = 0.9,
        weight_decay: float = 1e-6,
        eta: float = 0.001,
        nesterov: bool = False,
        exclude_patterns: tuple[str, ...] | list[str] = (),
        exclude_rank_below_2: bool = True,
        name: str = "lars",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if isinstance(exclude_patterns, str):
            raise ValueError(
                "exclude_patterns must be a list of regular expressions, got the "
                f"string {exclude_patterns!r}; wrap it in a list."
            )
        self.momentum = check_in_range(momentum, "momentum", 0.0, 1.0, include_high=False)
        self.lars_weight_decay = check_non_negative(weight_decay, "weight_decay")
        self.eta = check_positive(eta, "eta")
        self.nesterov = bool(nesterov)
        self.exclude_patterns = tuple(exclude_patterns)
        self._compiled_patterns = [re.compile(p) for p in self.exclude_patterns]
        self.exclude_rank_below_2 = bool(exclude_rank_below_2)

    def is_adapted(self, variable) -> bool:
        """Whether `variable` gets weight decay and the trust ratio."""
        if self.exclude_rank_below_2 and len(variable.shape) < 2:
            return False
        path = getattr(variable, "path", variable.name)
        return not any(p.search(path) for p in self._compiled_patterns)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._adapted = [self.is_adapted(v) for v in variables]
        self.momentums = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        step_size = learning_rate
        if self._adapted[index]:
            gradient = gradient + ops.cast(self.lars_weight_decay, variable.dtype) * variable
            weight_norm = ops.norm(ops.reshape(variable, (-1,)))
            gradient_norm = ops.norm(ops.reshape(gradient, (-1,)))
            trust = ops.where(
                (weight_norm > 0) & (gradient_norm > 0),
                self.eta * weight_norm / gradient_norm,
                1.0,
            )
            step_size = learning_rate * ops.cast(trust, variable.dtype)
        momentum_variable = self.momentums[index]
        momentum = ops.cast(self.momentum, variable.dtype)
        velocity = momentum * momentum_variable + step_size * gradient
        self.assign(momentum_variable, velocity)
        if self.nesterov:
            self.assign_sub(variable, momentum * velocity + step_size * gradient)
        else:
            self.assign_sub(variable, velocity)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            momentum=self.momentum,
            weight_decay=self.lars_weight_decay,
            eta=self.eta,
            nesterov=self.nesterov,
            exclude_patterns=list(self.exclude_patterns),
            exclude_rank_below_2=self.exclude_rank_below_2,
        )
        return config
