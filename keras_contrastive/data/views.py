"""make_views: a tf.data pipeline of batched pairs of augmented views."""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from keras_contrastive.data.batches import shuffled_batches


def make_views(
    dataset: tf.data.Dataset,
    augment: Callable[[tf.Tensor], tf.Tensor] | None,
    batch_size: int = 256,
    shuffle_buffer: int | None = 10_000,
    cache: bool = True,
    drop_remainder: bool = True,
    seed: int | None = None,
    reproducible: bool = False,
) -> tf.data.Dataset:
    """Batches examples and makes two random views of each, in parallel.

    Examples (images, token ids, strings, ...) are cached (decoded, before
    augmentation), shuffled, batched, and then augmented a batch at a time,
    twice, in parallel `map` calls, so the augmentation is vectorised; the
    result is prefetched.

    Args:
        dataset: A `tf.data.Dataset` of single examples, e.g. images
            `(H, W, C)`, or of `(example, label)` pairs.
        augment: Maps a batch of examples to a batch of views, e.g.
            `kc.augment.simclr(28, channels=1)`. Called twice per batch; it
            must be random per example and per call. None for two copies of
            each example, as unsupervised SimCSE takes them (its encoder's
            dropout makes the two views differ).
        batch_size: Examples per batch, at least 2.
        shuffle_buffer: Shuffle buffer size; None or 0 for no shuffling.
        cache: Whether to cache the decoded examples in memory.
        drop_remainder: Drop the last partial batch (keeps every batch full,
            static shapes, and no batch of one).
        seed: Optional shuffle seed.
        reproducible: Augment one batch at a time, in order, instead of in
            parallel. Seeded augmentation layers draw their random numbers
            from a shared state, which parallel calls advance in whatever
            order the threads run; in order, a seeded pipeline makes the
            same views on every run (the augmentation then uses one core,
            still overlapped with training by the prefetch).

    Returns:
        A dataset of `(view_a, view_b)`, or `(view_a, view_b, labels)` when
        the input has labels.

    Example:
    >>> train = kc.data.load("fashion_mnist", split="train")
    >>> views = make_views(train, kc.augment.simclr(28, channels=1), batch_size=256)
    """
    spec = dataset.element_spec
    if isinstance(spec, dict):
        raise ValueError(
            "The dataset yields dicts (TFDS's default); make_views takes examples or (example, label) "
            "pairs: load it with as_supervised=True, or map it, e.g. dataset.map(lambda d: (d['image'], "
            "d['label']))."
        )
    labelled = isinstance(spec, tuple)
    if labelled and len(spec) != 2:
        raise ValueError(
            f"The dataset must yield examples or (example, label) pairs, got elements of {len(spec)} parts."
        )
    example_spec = spec[0] if labelled else spec
    if not isinstance(example_spec, tf.TensorSpec) or example_spec.shape.rank is None:
        raise ValueError(f"The dataset must yield single examples of a known rank, got {example_spec}.")
    dataset = shuffled_batches(dataset, batch_size, shuffle_buffer, cache, drop_remainder, seed)
    view = tf.identity if augment is None else augment

    def two_views(examples, *labels):
        return (view(examples), view(examples), *labels)

    dataset = dataset.map(two_views, num_parallel_calls=None if reproducible else tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
