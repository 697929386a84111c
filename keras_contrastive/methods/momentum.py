"""Momentum (exponential moving average) copies of networks, as BYOL and MoCo keep."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from keras_contrastive.validation import check_in_range


def check_momentum(momentum, name: str = "momentum") -> float:
    """`momentum` as a float, or a ValueError unless it is a number in [0, 1)."""
    return check_in_range(
        momentum, name, 0.0, 1.0, include_high=False,
        meaning="the weight kept from the previous target at each step",
    )


def momentum_copy(network: keras.Layer, input_shape) -> keras.Layer:
    """A copy of `network` with the same weights that the optimizer never updates.

    The copy's variables are marked non-trainable, so gradients never reach
    them, while its layers stay trainable: its batch normalisation uses batch
    statistics in training steps, as the target networks of BYOL and MoCo do.

    Args:
        network: A built functional `keras.Model` or a layer with `get_config`.
        input_shape: The shape `network` was built for.

    Returns:
        The built copy.

    Example:
    >>> target = momentum_copy(encoder, encoder.input_shape)
    """
    if isinstance(network, keras.Model) and hasattr(network, "inputs"):
        copy = keras.models.clone_model(network)
    else:
        copy = type(network).from_config(network.get_config())
        copy.build(input_shape)
    if len(copy.weights) != len(network.weights):
        raise ValueError(
            f"Could not copy {network.name}: the copy has {len(copy.weights)} "
            f"variables, the original {len(network.weights)}."
        )
    for target, online in zip(copy.weights, network.weights):
        target.assign(online)
        target.trainable = False
    return copy


def momentum_update(target: keras.Layer, online: keras.Layer, momentum) -> None:
    """Moves each of `target`'s parameters towards `online`'s.

    `target = momentum * target + (1 - momentum) * online` for every variable
    the online network trains; batch-norm statistics of the target follow its
    own forward passes.

    Args:
        target: A copy made by `momentum_copy`.
        online: The network it follows.
        momentum: A float or scalar tensor in [0, 1).
    """
    for target_variable, online_variable in zip(target.weights, online.weights):
        if online_variable.trainable:
            target_variable.assign(
                momentum * target_variable + (1.0 - momentum) * online_variable
            )


def cosine_momentum(base_momentum: float, step, total_steps: int | None) -> tf.Tensor:
    """BYOL's schedule: from `base_momentum` at step 0 up to 1 at `total_steps`.

    `1 - (1 - base) * (cos(pi * step / total_steps) + 1) / 2`, constant at
    `base_momentum` when `total_steps` is None.

    Args:
        base_momentum: The momentum at the first step, in [0, 1).
        step: The optimizer steps done so far (a scalar tensor).
        total_steps: Length of training in steps, or None.

    Returns:
        A float32 scalar.
    """
    if total_steps is None:
        return tf.constant(base_momentum, tf.float32)
    progress = tf.minimum(tf.cast(step, tf.float32) / float(total_steps), 1.0)
    return 1.0 - (1.0 - base_momentum) * (tf.cos(math.pi * progress) + 1.0) / 2.0
