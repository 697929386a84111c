"""A learning-rate multiplier for some of a method's variables, under any optimizer."""

from __future__ import annotations

import numbers

import keras


class UpdateMultiplier:
    """Multiplies the optimizer's step on some variables by a constant.

    Keras optimizers have one learning rate for all variables, and scaling
    the gradients does not help: Adam's step does not depend on their scale.
    This scales the step itself. `remember` (before the optimizer step)
    copies the variables; `apply` (after it) moves each one to
    `before + multiplier * (after - before)`. Every Keras optimizer's step is
    proportional to its learning rate, so this is the step of a learning rate
    `multiplier` times larger, for these variables only (a parameter group's
    learning rate in PyTorch). BYOL and SimSiam use it for the predictor,
    which must keep up with the projections it predicts.

    Args:
        owner: The layer that creates and saves the copies (the method).
        variables: The variables whose steps are multiplied.
        multiplier: A positive number; 1 does nothing and creates no copies.
        name: Prefix of the copies' names.

    Example:
    >>> updates = UpdateMultiplier(method, method.predictor.trainable_variables, 10.0, "predictor")
    """

    def __init__(self, owner: keras.layers.Layer, variables, multiplier: float, name: str):
        check_learning_rate_multiplier(multiplier)
        self.multiplier = float(multiplier)
        self.variables = list(variables) if self.multiplier != 1.0 else []
        self.before = [
            owner.add_weight(
                shape=variable.shape,
                initializer="zeros",
                dtype=variable.dtype,
                trainable=False,
                name=f"{name}_before_step_{i}",
            )
            for i, variable in enumerate(self.variables)
        ]

    def remember(self) -> None:
        """Copies the variables; call it before the optimizer step."""
        for before, variable in zip(self.before, self.variables):
            before.assign(variable)

    def apply(self) -> None:
        """Multiplies the step taken since `remember`; call it after the optimizer step."""
        for before, variable in zip(self.before, self.variables):
            variable.assign(before + self.multiplier * (variable - before))


def check_learning_rate_multiplier(
    multiplier, name: str = "predictor_learning_rate_multiplier"
) -> None:
    """Raises ValueError unless `multiplier` is a positive number."""
    is_number = isinstance(multiplier, numbers.Real) and not isinstance(multiplier, bool)
    if not is_number or not multiplier > 0:
        raise ValueError(f"{name} must be a positive number, got {multiplier!r}.")
