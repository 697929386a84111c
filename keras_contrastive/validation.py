"""Checks of arguments and tensors, shared by the whole package.

Every check raises `ValueError` with a message that names the argument and
what was expected, and returns the value in the form the caller stores (an
`int`, a `float`, a tensor). Booleans are never numbers here (`True` is not a
batch size), `None` is refused unless the check says it is allowed, and
numbers must be finite.
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable

import numpy as np
import tensorflow as tf


def after_checks(checks, *tensors):
    """`tensors`, each made to wait for the run-time `checks` (assertion ops; None in eager mode).

    An assertion in a graph runs, but nothing orders it before the other ops:
    an op that fails on the very tensors it checks (a broadcast of mismatched
    shapes, say) may run first and report its own, less helpful error. Every
    use of the returned tensors waits for the checks, so the check's message
    is the one a user reads.

    Args:
        checks: The ops `tf.debugging.assert_*` returned; None entries (eager
            mode, where they have raised already) are skipped.
        *tensors: The tensors the checks are about.

    Returns:
        The tensors, in order: a tuple, or the tensor itself if there is one.

    Example:
    >>> n = tf.constant(3)
    >>> x = after_checks([tf.debugging.assert_positive(n)], tf.range(n))
    """
    ops = [check for check in checks if check is not None]
    with tf.control_dependencies(ops):
        gated = tuple(tf.identity(tensor) for tensor in tensors) if ops else tensors
    return gated[0] if len(gated) == 1 else gated


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _number(value, name: str, expected: str) -> float:
    """`value` as a finite float, or a ValueError naming `name`."""
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be {expected}, got {value!r}.")
    return float(value)


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """`value` as an int, or a ValueError unless it is a whole number >= `minimum`.

    Args:
        value: The argument; an integral float such as `128.0` is accepted.
        name: The argument's name, for the message.
        minimum: The smallest value allowed.

    Returns:
        The value as a Python `int`.

    Example:
    >>> check_positive_int(128, "projection_dim")
    128
    """
    expected = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
    number = _number(value, name, expected)
    if number != int(number) or number < minimum:
        raise ValueError(f"{name} must be {expected}, got {value!r}.")
    return int(number)


def check_optional_positive_int(value, name: str) -> int | None:
    """`check_positive_int`, with None passed through."""
    return None if value is None else check_positive_int(value, name)


def check_positive(value, name: str):
    """A positive finite number as a float; a float scalar tensor (a variable, say) is returned as it is.

    A tensor (a learned temperature, a schedule's value) must be of rank 0
    and a floating dtype; its value is checked as a number's when it is
    known, that is eagerly, and not inside a graph, where it is what
    training makes it.

    Example:
    >>> check_positive(0.1, "temperature")
    0.1
    >>> temperature = check_positive(tf.Variable(0.07), "temperature")
    """
    if tf.is_tensor(value) or isinstance(value, tf.Variable):
        return _check_positive_scalar_tensor(value, name)
    number = _number(value, name, "a positive number")
    if not number > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return number


def _check_positive_scalar_tensor(value, name: str):
    """`value` if it is a float scalar tensor (positive and finite, when its value is known), else a ValueError."""
    shape = tf.TensorShape(getattr(value, "shape", None))
    dtype = tf.as_dtype(value.dtype)
    if shape.rank != 0 or not dtype.is_floating:
        raise ValueError(
            f"{name} must be a positive number or a float scalar tensor, got a tensor of shape {shape} and dtype "
            f"{dtype.name}."
        )
    if tf.executing_eagerly():
        number = float(np.asarray(value))
        if not (math.isfinite(number) and number > 0):
            raise ValueError(f"{name} must be a positive number, got a tensor holding {number!r}.")
    return value


def check_non_negative(value, name: str) -> float:
    """A finite number >= 0 as a float.

    Example:
    >>> check_non_negative(0.0, "margin")
    0.0
    """
    number = _number(value, name, "a non-negative number")
    if not number >= 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}.")
    return number


def check_in_range(
    value, name: str, low: float, high: float, include_high: bool = True, meaning: str = ""
) -> float:
    """A finite number in `[low, high]` (or `[low, high)`) as a float.

    Args:
        value: The argument.
        name: Its name.
        low: The smallest value allowed.
        high: The largest value, allowed when `include_high`.
        include_high: Whether `high` itself is allowed.
        meaning: Optional words in brackets after the range, saying what the value is.

    Example:
    >>> check_in_range(0.99, "momentum", 0.0, 1.0, include_high=False)
    0.99
    """
    interval = f"[{low:g}, {high:g}{']' if include_high else ')'}"
    expected = f"a number in {interval}" + (f" ({meaning})" if meaning else "")
    number = _number(value, name, expected)
    if not (low <= number <= high) or (not include_high and number == high):
        raise ValueError(f"{name} must be {expected}, got {value!r}.")
    return number


def check_choice(value, name: str, choices: Iterable[str]) -> str:
    """`value` if it is one of `choices`, else a ValueError listing them.

    Example:
    >>> check_choice("semi_hard", "mining", ("batch_all", "batch_hard", "semi_hard"))
    'semi_hard'
    """
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return value


def check_separator(value, name: str = "separator") -> str:
    """`value` if it is a non-empty string (what joins ids or labels into one string), else a ValueError.

    Example:
    >>> check_separator("|")
    '|'
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}.")
    return value


def check_finite_array(array, name: str):
    """A NumPy array of `array`, or a ValueError if it holds NaN or infinite values.

    Embeddings that are not finite mean the encoder's weights are (training
    diverged); scoring them would give a meaningless accuracy.
    """
    array = np.asarray(array)
    if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.all(np.isfinite(array.reshape(len(array), -1)), axis=1))) if array.ndim else 1
        raise ValueError(
            f"{name} hold NaN or infinite values ({bad} of {len(array) if array.ndim else 1} rows); the encoder's "
            "weights are probably not finite (training diverged)."
        )
    return array


def check_embedding_pair(z_a, z_b, min_batch: int, requirement: str) -> tuple[tf.Tensor, tf.Tensor]:
    """Tensors `z_a`, `z_b`, or a ValueError unless both are `(N, D)` with N >= `min_batch`.

    What is known statically is checked here; a batch size known only when
    the graph runs is asserted in the graph.

    Args:
        z_a: The first `(N, D)` batch, e.g. the embeddings of the first views.
        z_b: The second batch, same shape.
        min_batch: The smallest batch the loss is defined for.
        requirement: What the error says about the batch size, e.g.
            "A contrastive loss needs a batch of at least 2 images".

    Returns:
        `(z_a, z_b)` as tensors.
    """
    z_a, z_b = tf.convert_to_tensor(z_a), tf.convert_to_tensor(z_b)
    if z_a.shape.rank != 2 or z_b.shape.rank != 2:
        raise ValueError(
            f"Expected two (batch, dim) embedding batches, got shapes {z_a.shape} and {z_b.shape}."
        )
    if not z_a.shape.is_compatible_with(z_b.shape):
        raise ValueError(
            f"The two views must have embeddings of the same shape, got {z_a.shape} and {z_b.shape}."
        )
    batch = z_a.shape[0] if z_a.shape[0] is not None else z_b.shape[0]
    if batch is not None and batch < min_batch:
        raise ValueError(f"{requirement}, got a batch of {batch}.")
    if batch is None:
        z_a, z_b = after_checks([
            tf.debugging.assert_greater_equal(tf.shape(z_a)[0], min_batch, message=f"{requirement}."),
            tf.debugging.assert_equal(
                tf.shape(z_a)[0], tf.shape(z_b)[0], message="The two views must have the same batch size."
            ),
        ], z_a, z_b)
    return z_a, z_b


def check_view_pair(z_a, z_b) -> tuple[tf.Tensor, tf.Tensor]:
    """`check_embedding_pair` for losses whose negatives are the other images: N >= 2."""
    return check_embedding_pair(
        z_a, z_b, min_batch=2,
        requirement="A contrastive loss needs a batch of at least 2 images (the other images are the negatives)",
    )


def check_labels(labels, batch_of: tf.Tensor, loss_name: str) -> tf.Tensor:
    """Integer class labels, one per row of `batch_of`, checked before any cast.

    Labels keep their integer dtype (int64 labels of 2**32 and more stay
    distinct); floats are refused rather than truncated.

    Args:
        labels: `(N,)` integer class labels.
        batch_of: The `(N, ...)` batch the labels belong to.
        loss_name: The loss or method that needs them, named in the errors.

    Returns:
        The labels as an integer `(N,)` tensor.

    Raises:
        ValueError: if `labels` is None, not integer, not rank 1, or of
            another length than the batch (a length known only at run time
            is asserted in the graph).
    """
    if labels is None:
        raise ValueError(
            f"{loss_name} needs labels: an integer (batch,) tensor holding the class of each "
            "example, got None."
        )
    labels = tf.convert_to_tensor(labels)
    if not labels.dtype.is_integer:
        raise ValueError(
            f"{loss_name} needs integer class labels of shape (batch,), got dtype {labels.dtype.name}."
        )
    if labels.shape.rank != 1:
        raise ValueError(f"{loss_name} needs labels of shape (batch,), got shape {labels.shape}.")
    batch = batch_of.shape[0]
    if batch is not None and labels.shape[0] is not None:
        if labels.shape[0] != batch:
            raise ValueError(
                f"{loss_name} needs one label per example: got {labels.shape[0]} labels for a "
                f"batch of {batch}."
            )
    else:
        labels = after_checks([tf.debugging.assert_equal(
            tf.shape(labels)[0], tf.shape(batch_of)[0], message=f"{loss_name} needs one label per example.",
        )], labels)
    return labels
