"""Argument checks shared by the contrastive losses."""

from __future__ import annotations

import numbers

import tensorflow as tf


def check_positive(value, name: str) -> None:
    """Raises ValueError unless `value` is a positive number.

    A tensor (a schedule, say) is checked by the caller that made it; only
    Python and NumPy numbers are checked here.
    """
    if isinstance(value, numbers.Number) and not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")


def check_non_negative(value, name: str) -> None:
    """Raises ValueError unless `value` is a number >= 0 (see `check_positive`)."""
    if isinstance(value, numbers.Number) and not value >= 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}.")


def check_positive_temperature(temperature) -> None:
    """Raises ValueError unless `temperature` is a positive number.

    A tensor temperature (a schedule, say) is checked by the caller that
    made it; only Python and NumPy numbers are checked here.
    """
    check_positive(temperature, "temperature")


def check_paired_embeddings(
    z_a: tf.Tensor, z_b: tf.Tensor, min_batch: int, requirement: str
) -> None:
    """Raises ValueError unless `z_a` and `z_b` are `(N, D)` with N >= `min_batch`.

    Checks what is known statically; a batch size known only at run time is
    asserted in the graph.

    Args:
        z_a: The first `(N, D)` batch.
        z_b: The second batch, same shape.
        min_batch: The smallest batch the loss is defined for.
        requirement: What the error says about the batch size, for example
            "A contrastive loss needs a batch of at least 2 images".
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
    if batch is not None and batch < min_batch:
        raise ValueError(f"{requirement}, got a batch of {batch}.")
    if batch is None:
        tf.debugging.assert_greater_equal(
            tf.shape(z_a)[0], min_batch, message=f"{requirement}."
        )
        tf.debugging.assert_equal(
            tf.shape(z_a)[0],
            tf.shape(z_b)[0],
            message="The two views must have the same batch size.",
        )


def check_view_pair(z_a: tf.Tensor, z_b: tf.Tensor) -> None:
    """Raises ValueError unless `z_a` and `z_b` are `(N, D)` with N >= 2.

    Checks what is known statically; a batch size known only at run time is
    asserted in the graph.
    """
    check_paired_embeddings(
        z_a,
        z_b,
        min_batch=2,
        requirement="A contrastive loss needs a batch of at least 2 images "
        "(the other images are the negatives)",
    )


def check_embeddings(embeddings: tf.Tensor, min_batch: int, requirement: str) -> None:
    """Raises ValueError unless `embeddings` is `(N, D)` with N >= `min_batch`.

    Args:
        embeddings: The batch to check.
        min_batch: The smallest batch the loss is defined for.
        requirement: What the error says about the batch size.
    """
    if embeddings.shape.rank != 2:
        raise ValueError(
            f"Expected a (batch, dim) embedding batch, got shape {embeddings.shape}."
        )
    batch = embeddings.shape[0]
    if batch is not None and batch < min_batch:
        raise ValueError(f"{requirement}, got a batch of {batch}.")
    if batch is None:
        tf.debugging.assert_greater_equal(
            tf.shape(embeddings)[0], min_batch, message=f"{requirement}."
        )


def check_labels(labels, embeddings: tf.Tensor, loss_name: str) -> tf.Tensor:
    """Checks class labels against their `(N, D)` embeddings; returns them as int32.

    Args:
        labels: `(N,)` integer class labels, one per row of `embeddings`.
        embeddings: The batch the labels belong to.
        loss_name: The loss that needs them, named in the errors.

    Returns:
        The labels as an int32 `(N,)` tensor.

    Raises:
        ValueError: if `labels` is None, not integer, not rank 1, or of a
            length other than the batch's (a length known only at run time
            is asserted in the graph).
    """
    if labels is None:
        raise ValueError(
            f"{loss_name} needs labels: an integer (batch,) tensor holding the "
            "class of each embedding, got None."
        )
    labels = tf.convert_to_tensor(labels)
    if not labels.dtype.is_integer:
        raise ValueError(
            f"{loss_name} needs integer class labels, got dtype {labels.dtype.name}."
        )
    if labels.shape.rank != 1:
        raise ValueError(
            f"{loss_name} needs labels of shape (batch,), got shape {labels.shape}."
        )
    batch = embeddings.shape[0]
    if batch is not None and labels.shape[0] is not None:
        if labels.shape[0] != batch:
            raise ValueError(
                f"{loss_name} needs one label per embedding: got {labels.shape[0]} "
                f"labels for a batch of {batch}."
            )
    else:
        tf.debugging.assert_equal(
            tf.shape(labels)[0],
            tf.shape(embeddings)[0],
            message=f"{loss_name} needs one label per embedding.",
        )
    return tf.cast(labels, tf.int32)


def labels_from_keras(y_true: tf.Tensor | None) -> tf.Tensor | None:
    """Undoes Keras's cast of `y_true` to the loss's float dtype.

    `keras.losses.Loss.__call__` converts `y_true` to float32; a loss whose
    `y_true` holds class labels turns it back into int32 here, after
    asserting that every label is a whole number (float32 holds integers
    exactly up to 2**24). None is passed through, for the loss to refuse.
    """
    if y_true is None:
        return None
    tf.debugging.assert_equal(
        y_true,
        tf.round(y_true),
        message="Class labels must be whole numbers.",
    )
    return tf.cast(y_true, tf.int32)
