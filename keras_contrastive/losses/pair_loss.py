"""`PairLoss`: the one wrapper that makes each loss function a serialisable `keras.losses.Loss`."""

from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

from keras_contrastive.distribute.cross_replica import num_replicas_in_sync
from keras_contrastive.validation import after_checks


class PairLoss(keras.losses.Loss):
    """A loss of two views' embeddings as a Keras loss, with one rule for every loss of the package.

    Called as `loss(y_true, y_pred, sample_weight=None)`, the form Keras's
    `compile(loss=...)` and `fit` use:

    - `y_pred` is the two views' embeddings stacked as `(N, 2, D)`:
      `y_pred[:, 0]` the first views, `y_pred[:, 1]` the second (a model
      whose output is `keras.ops.stack([z_a, z_b], axis=1)`).
    - `y_true` is the `(N,)` integer class labels for the losses that use
      them (SupCon, triplet, pair margin); the others ignore it, and it may
      be None. Keras converts `y_true` to float32 before `call`; labels are
      turned back into integers, and must be whole numbers.
    - Losses with a loss per example (NT-Xent, InfoNCE, SupCon, negative
      cosine, normalised MSE) return it from `call`, shape `(N,)`, and Keras
      applies `sample_weight` and `reduction` to it as to any loss (with the
      default "sum_over_batch_size" the result equals the loss function).
      Losses defined by batch statistics or mining (Barlow Twins, VICReg,
      triplet, pair margin) have no per-example value: they return the
      scalar (divided by the replica count under `tf.distribute`, as Keras
      divides the other losses), and a `sample_weight` is refused.

    Subclasses call `super().__init__(fn, name, per_example, uses_labels,
    **fn_kwargs)` with a function `fn(z_a, z_b, [labels,] **fn_kwargs)`;
    each setting becomes an attribute of the same name (`loss.temperature`)
    and an entry of `get_config`.

    Args:
        fn: The function computing the per-example losses or the scalar.
        name: The loss's name.
        per_example: Whether `fn` returns one loss per example.
        uses_labels: Whether `fn` takes the labels as its third argument.
        reduction: As in `keras.losses.Loss`.
        **fn_kwargs: The loss's settings, passed to `fn`.
    """

    def __init__(
        self,
        fn: Callable,
        name: str,
        per_example: bool,
        uses_labels: bool,
        reduction: str = "sum_over_batch_size",
        dtype: str = "float32",
        **fn_kwargs,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._fn = fn
        self._per_example = per_example
        self._uses_labels = uses_labels
        self._fn_kwargs = fn_kwargs
        for setting, value in fn_kwargs.items():
            setattr(self, setting, value)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None and not self._per_example:
            raise ValueError(
                f"{type(self).__name__} has no loss per example (it is defined by the whole batch), "
                "so it takes no sample_weight."
            )
        if y_true is None:
            if self._uses_labels:
                raise ValueError(f"{type(self).__name__} needs y_true: the (batch,) integer class labels.")
            y_true = tf.zeros(tf.shape(y_pred)[:1])
        loss = super().__call__(y_true, y_pred, sample_weight=sample_weight)
        replicas = num_replicas_in_sync()
        if not self._per_example and replicas > 1 and self.reduction not in (None, "none"):
            # Keras divides a reduced loss by the replica count so that the replicas' gradients sum to
            # the global one, but leaves scalars alone; a batch-level loss is the global loss on
            # every replica, so it takes the same share here.
            loss = loss / float(replicas)
        return loss

    def call(self, y_true, y_pred):
        y_pred = tf.convert_to_tensor(y_pred)
        if y_pred.shape.rank != 3 or y_pred.shape[1] != 2:
            raise ValueError(
                f"{type(self).__name__} expects y_pred of shape (batch, 2, dim), the two views' "
                f"embeddings stacked on axis 1, got shape {y_pred.shape}."
            )
        arguments = [y_pred[:, 0], y_pred[:, 1]]
        if self._uses_labels:
            arguments.append(_labels_from_keras(y_true))
        return self._fn(*arguments, **self._fn_kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config


def _labels_from_keras(y_true: tf.Tensor) -> tf.Tensor:
    """Undoes Keras's cast of `y_true` to float32, after asserting the labels survived it.

    float32 holds integers exactly only up to 2**24, so larger labels are
    refused rather than merged; pass them to the loss functions, which take
    integer tensors as they are.
    """
    y_true = after_checks([
        tf.debugging.assert_equal(y_true, tf.round(y_true), message="Class labels must be whole numbers."),
        tf.debugging.assert_less(
            tf.abs(y_true), 2.0**24,
            message="Class labels of 2**24 or more do not survive Keras's cast of y_true to float32; call the "
            "loss function with the integer labels instead.",
        ),
    ], y_true)
    return tf.cast(y_true, tf.int64)
