"""The training recipe in one call: views from a dataset, a warmup-cosine optimizer, `fit`."""

from __future__ import annotations

import time
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.callbacks.stop_on_non_finite import StopOnNonFinite
from keras_contrastive.callbacks.training_checkpoint import TrainingCheckpoint
from keras_contrastive.data.pairs import make_pairs
from keras_contrastive.data.views import make_views
from keras_contrastive.methods.method import Method
from keras_contrastive.model import ContrastiveModel
from keras_contrastive.optimizers.lars import LARS
from keras_contrastive.validation import check_choice, check_in_range, check_positive, check_positive_int

#: The optimizers `train_encoder` builds by name, each under `warmup_cosine`.
OPTIMIZERS = ("adam", "lars")


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
    peak_learning_rate = check_positive(peak_learning_rate, "learning_rate")
    total_steps = check_positive_int(total_steps, "total_steps")
    warmup_fraction = check_in_range(warmup_fraction, "warmup_fraction", 0.0, 1.0, include_high=False)
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


def steps_per_epoch(examples: tf.data.Dataset, batch_size: int) -> int:
    """Full batches in one pass over `examples` (a dataset of single examples of known size).

    Raises:
        ValueError: if the dataset's size is unknown (call `.apply(tf.data.experimental.assert_cardinality(n))`)
            or smaller than one batch.
    """
    batch_size = check_positive_int(batch_size, "batch_size", minimum=2)
    size = int(examples.cardinality())
    if size < 0:
        raise ValueError(
            "The dataset's size is unknown, so the length of the learning-rate schedule is too; give it "
            "with dataset.apply(tf.data.experimental.assert_cardinality(number_of_examples))."
        )
    if size < batch_size:
        raise ValueError(f"The dataset has {size} examples, fewer than batch_size={batch_size}.")
    return size // batch_size


def train_encoder(
    encoder: keras.Model,
    method: Method,
    examples,
    augment: Callable | None,
    labels: np.ndarray | None = None,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: float = 1e-2,
    optimizer: str = "adam",
    seed: int = 0,
    reproducible: bool = False,
    validation_examples=None,
    callbacks: list | None = None,
    verbose: int = 0,
    jit_compile: bool = False,
    checkpoint: TrainingCheckpoint | None = None,
    cache: bool = True,
    pairs: bool = False,
    pair_encoder: keras.Model | None = None,
) -> tuple[ContrastiveModel, keras.callbacks.History, float]:
    """Trains `encoder` with `method`: the recipe of the command line, the tests and the benchmarks.

    Two views of every example per epoch (`make_views`, streamed from the
    dataset), labels passed along when the data has them, and Adam (or
    LARS) under `warmup_cosine` for `epochs` passes of full batches. Training
    that turns non-finite stops with `kc.callbacks.NonFiniteLossError`.

    Args:
        encoder: The encoder to train (trained in place).
        method: A fresh `kc.methods.Method`.
        examples: A `tf.data.Dataset` of single examples or `(example, label)`
            pairs, of known size; or an array of examples (with `labels`).
        augment: Maps a batch of examples to a batch of views, e.g.
            `kc.augment.simclr(28, channels=1)`; None for two copies of each
            example (unsupervised SimCSE) or with `pairs`.
        labels: `(N,)` labels of an array of examples.
        epochs: Passes over the examples.
        batch_size: Examples per step.
        learning_rate: Peak learning rate.
        optimizer: "adam" or "lars" (SimCLR's; weight decay 1e-6).
        seed: Seed of the shuffling and of the views.
        reproducible: Make the views in order (`make_views`'s `reproducible`),
            so that a seeded run draws the same views every time.
        validation_examples: Optional examples (same forms) whose views `fit`
            reports the loss on after each epoch.
        callbacks: Keras callbacks for `fit`.
        verbose: `fit`'s verbosity.
        jit_compile: Compile the training step with XLA.
        checkpoint: A `kc.callbacks.TrainingCheckpoint`: the run resumes from it
            (at its epoch, with its optimizer and method state) and saves to
            it after every epoch.
        cache: Keep the examples in memory after the first epoch
            (`make_views`'s `cache`); False for data streamed from disk
            (`kc.data.from_directory`, which caches itself when asked).
        pairs: The examples are given pairs `(anchor, positive)` or
            `(anchor, positive, hard_negative)`, batched as they are
            (`kc.data.make_pairs`) rather than augmented into views.
        pair_encoder: The second tower, for view b (captions of images,
            say: `CLIP` on `(image, caption)` pairs with `pairs=True`).

    Returns:
        `(model, history, training_seconds)`.

    Raises:
        ValueError: for a method that needs labels given none, data smaller
            than a batch, or data of unknown size.

    Example:
    >>> model, history, seconds = train_encoder(small_cnn((28, 28, 1)), SimCLR(),
    ...                                         kc.data.load("fashion_mnist"), simclr(28, 1))
    """
    epochs = check_positive_int(epochs, "epochs")
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    examples = _as_dataset(examples, labels)
    validation_examples = None if validation_examples is None else _as_dataset(validation_examples, None)
    if method.requires_labels and not isinstance(examples.element_spec, tuple):
        raise ValueError(f"{type(method).__name__} needs labels: pass (example, label) pairs or labels=...")
    total_steps = epochs * steps_per_epoch(examples, batch_size)
    if pairs and augment is not None:
        raise ValueError("Given pairs are batched as they are: pass augment=None with pairs=True.")
    model = ContrastiveModel(encoder, method, pair_encoder=pair_encoder)

    def batched(data, size, shuffle_buffer):
        if pairs:
            return make_pairs(data, batch_size=size, shuffle_buffer=shuffle_buffer, seed=seed, cache=cache)
        return make_views(data, augment, batch_size=size, shuffle_buffer=shuffle_buffer, seed=seed,
                          reproducible=reproducible, cache=cache)

    views = batched(examples, batch_size, 10_000)
    validation = None
    if validation_examples is not None:
        validation = batched(validation_examples, min(batch_size, int(validation_examples.cardinality())), None)
    schedule = warmup_cosine(learning_rate, total_steps)
    model.compile(
        optimizer=LARS(schedule, weight_decay=1e-6) if optimizer == "lars" else keras.optimizers.Adam(schedule),
        jit_compile=jit_compile,
    )
    started = time.perf_counter()
    history = model.fit(  # the views are shuffled already; Keras warns about its own shuffle otherwise
        views, epochs=epochs, validation_data=validation, verbose=verbose, shuffle=False,
        callbacks=[StopOnNonFinite(), *(callbacks or []), *([checkpoint] if checkpoint else [])],
        initial_epoch=checkpoint.resume_epoch if checkpoint else 0,
    )
    return model, history, time.perf_counter() - started


def _as_dataset(examples, labels) -> tf.data.Dataset:
    """A dataset of examples or `(example, label)` pairs from a dataset or arrays."""
    if isinstance(examples, tf.data.Dataset):
        if labels is not None:
            raise ValueError("labels= goes with an array of examples; a dataset carries its own labels.")
        return examples
    return tf.data.Dataset.from_tensor_slices(examples if labels is None else (examples, labels))
