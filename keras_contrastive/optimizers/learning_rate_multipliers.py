"""Optimizer steps multiplied for some variables: a per-variable learning-rate scale for any optimizer."""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf


def apply_gradients_with_multipliers(
    optimizer: keras.optimizers.Optimizer,
    gradients: Sequence,
    variables: Sequence,
    multipliers: Sequence[tuple[Sequence, float]] = (),
) -> None:
    """`optimizer.apply_gradients`, with the step on some variables multiplied.

    Keras optimizers have one learning rate for all variables, and scaling
    gradients does not help (Adam's step does not depend on their scale).
    Every Keras optimizer's step is proportional to its learning rate
    (momentum and Adam's moments do not depend on it), so multiplying the
    step a variable takes, `after - before`, by `m` is the step of a learning
    rate `m` times larger for that variable alone: PyTorch's per-parameter-
    group learning rate. The values before the step are held as tensors of
    the compiled step, not as saved variables, so checkpoints hold nothing
    extra. A step the `LossScaleOptimizer` skips moves nothing either way.

    Args:
        optimizer: The model's optimizer.
        gradients: One gradient per variable.
        variables: The variables the gradients are for.
        multipliers: `(variables, multiplier)` pairs, e.g. a method's
            `learning_rate_multipliers`; a multiplier of 1 costs nothing.

    Example:
    >>> apply_gradients_with_multipliers(model.optimizer, grads, model.trainable_variables,
    ...                                  [(predictor.trainable_variables, 10.0)])
    """
    scaled = [(variable, float(m)) for group, m in multipliers if m != 1 for variable in group]
    # Read before the optimizer writes: TensorFlow orders operations on the
    # same variable as they were written.
    before = [tf.identity(variable.value) for variable, _ in scaled]
    optimizer.apply_gradients(zip(gradients, variables))
    for (variable, multiplier), old in zip(scaled, before):
        variable.assign(old + multiplier * (variable.value - old))
