"""The training recipe in one call: views from an image array, warmup-cosine Adam, `fit`."""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.data.views import make_views
from keras_contrastive.methods.method import Method
from keras_contrastive.model import ContrastiveModel


def warmup_cosine(
    peak_learning_rate: float, total_steps: int, warmup_fraction: float = 0.1
) -> keras.optimizers.schedules.CosineDecay:
    """A learning rate that rises linearly to its peak, then decays to 0 on a cosine.

    Keras's `CosineDecay` with `warmup_target`, as in the SimCLR recipe; the
    warmup takes `warmup_fraction` of the steps.

    Args:
        peak_learning_rate: The learning rate at the end of the warmup.
        total_steps: Optimizer steps of the whole run.
        warmup_fraction: Share of the steps spent warming up, in [0, 1).

    Returns:
        A `keras.optimizers.schedules.CosineDecay`.

    Example:
    >>> optimizer = kc.optimizers.LARS(warmup_cosine(0.3 * batch_size / 256, total_steps))
    """
    if int(total_steps) != total_steps or total_steps < 1:
        raise ValueError(f"total_steps must be a positive integer, got {total_steps!r}.")
    if not 0 <= warmup_fraction < 1:
        raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction!r}.")
    warmup = int(total_steps * warmup_fraction)
    return keras.optimizers.schedules.CosineDecay(
        0.0, max(total_steps - warmup, 1), warmup_target=peak_learning_rate, warmup_steps=warmup
    )


def warmup_cosine_adam(
    peak_learning_rate: float, total_steps: int, warmup_fraction: float = 0.1
) -> keras.optimizers.Adam:
    """Adam under `warmup_cosine(peak_learning_rate, total_steps, warmup_fraction)`.

    Example:
    >>> model.compile(optimizer=warmup_cosine_adam(8e-3, epochs * steps_per_epoch))
    """
    return keras.optimizers.Adam(warmup_cosine(peak_learning_rate, total_steps, warmup_fraction))


def train_encoder(
    encoder: keras.Model,
    method: Method,
    images: np.ndarray,
    augment,
    labels: np.ndarray | None = None,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: float = 1e-2,
    seed: int = 0,
    verbose: int = 0,
    callbacks: list | None = None,
    reproducible: bool = False,
) -> tuple[ContrastiveModel, keras.callbacks.History, float]:
    """Trains `encoder` with `method` on an array of images, as the benchmarks and tests do.

    Two views of every image per epoch (`make_views`), labels passed along
    when the method needs them, Adam with `warmup_cosine_adam`.

    Args:
        encoder: The encoder to train (trained in place).
        method: A fresh `kc.methods.Method`.
        images: `(N, H, W, C)` uint8 images.
        augment: The view augmentation, e.g. `kc.augment.simclr(28, channels=1)`.
        labels: `(N,)` labels; required when `method.requires_labels`.
        epochs: Passes over the images.
        batch_size: Images per step.
        learning_rate: Peak learning rate.
        seed: Seed of the shuffling.
        verbose: `fit`'s verbosity.
        callbacks: Keras callbacks for `fit`.
        reproducible: Make the views in order (`make_views`'s `reproducible`),
            so that a seeded run draws the same views every time.

    Returns:
        `(model, history, training_seconds)`.

    Example:
    >>> model, history, seconds = train_encoder(small_cnn((28, 28, 1)), SimCLR(), x, simclr(28, 1))
    """
    model = ContrastiveModel(encoder, method)
    if method.requires_labels and labels is None:
        raise ValueError(f"{type(method).__name__} needs labels; pass labels=...")
    data = (images, labels) if method.requires_labels else images
    views = make_views(
        tf.data.Dataset.from_tensor_slices(data), augment, batch_size=batch_size, seed=seed,
        reproducible=reproducible,
    )
    steps = epochs * (len(images) // batch_size)
    model.compile(optimizer=warmup_cosine_adam(learning_rate, steps))
    started = time.perf_counter()
    history = model.fit(views, epochs=epochs, verbose=verbose, callbacks=callbacks)
    return model, history, time.perf_counter() - started
