"""StopOnNonFinite: training that turns NaN or infinite stops at once, with an error naming the step."""

from __future__ import annotations

import math

import keras


class NonFiniteLossError(RuntimeError):
    """Raised when a training or validation loss is NaN or infinite."""


class StopOnNonFinite(keras.callbacks.Callback):
    """Raises `NonFiniteLossError` as soon as the loss is not finite, so nothing is saved after it.

    Keras's `TerminateOnNaN` ends `fit` quietly, after which a script goes on to
    save and export the broken model; this raises instead, naming the optimizer
    step, the epoch and the batch, and the usual causes. A NaN in an input
    batch, a learning rate that is too high (or NaN), or an overflow makes
    the weights NaN after one step, and every later loss NaN; the step
    itself reports a NaN loss when its gradients are not finite, even where
    the loss came out finite (`ContrastiveModel.train_step`), so this stops
    at the step that broke the weights. The check reads the running loss
    Keras logs after every batch.

    Example:
    >>> model.fit(views, epochs=5, callbacks=[StopOnNonFinite()])
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            step = int(self.model.optimizer.iterations.numpy())
            raise NonFiniteLossError(
                f"Training stopped at optimizer step {step} (epoch {getattr(self, '_epoch', 0) + 1}, batch "
                f"{batch + 1}): the loss is {float(loss)}. Check the input for NaN or infinite values, and "
                "lower the learning rate; nothing was saved after this step."
            )

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            if name.endswith("loss") and not math.isfinite(float(value)):
                raise NonFiniteLossError(f"Training stopped after epoch {epoch + 1}: {name} is {float(value)}.")
