"""Argument checks shared by the contrastive losses."""

from __future__ import annotations

import numbers

import tensorflow as tf


def check_positive_temperature(temperature) -> None:
    """Raises ValueError unless `temperature` is a positive number.

    A tensor temperature (a schedule, say) is checked by the caller that
    made it; only Python and NumPy numbers are checked here.
    """
    if isinstance(temperature, numbers.Number) and not temperature > 0:
        raise ValueError(
            f"temperature must be a positive number, got {temperature!r}."
        )


def check_view_pair(z_a: tf.Tensor, z_b: tf.Tensor) -> None:
    """Raises ValueError unless `z_a` and `z_b` are `(N, D)` with N >= 2.

    Checks what is known statically; a batch size known only at run time is
    asserted in the graph.
    """
    if z_a.shape.rank != 2 or z_b.shape.rank != 2:
        raise ValueError(
            "Expected two (batch, dim) embedding batches, got shapes "
            f"{z_a.shape} and {z_b.shape}."
        )
    if not z_a.shape.is_compatible_with(z_b.shape):
        raise ValueError(
            "The two views must have embeddings of the same shape, got "
            f"{z_a.shape} and {z_b.shape}."
        )
    batch = z_a.shape[0] if z_a.shape[0] is not None else z_b.shape[0]
    if batch is not None and batch < 2:
        raise ValueError(
            f"A contrastive loss needs a batch of at least 2 images (the other "
            f"images are the negatives), got a batch of {batch}."
        )
    if batch is None:
        tf.debugging.assert_greater_equal(
            tf.shape(z_a)[0],
            2,
            message="A contrastive loss needs a batch of at least 2 images.",
        )
        tf.debugging.assert_equal(
            tf.shape(z_a)[0],
            tf.shape(z_b)[0],
            message="The two views must have the same batch size.",
        )
