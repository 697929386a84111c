"""make_views: a tf.data pipeline of batched pairs of augmented views."""

from __future__ import annotations

from typing import Callable

import tensorflow as tf


def make_views(
    dataset: tf.data.Dataset,
    augment: Callable[[tf.Tensor], tf.Tensor],
    batch_size: int = 256,
    shuffle_buffer: int | None = 10_000,
    cache: bool = True,
    drop_remainder: bool = True,
    seed: int | None = None,
    reproducible: bool = False,
) -> tf.data.Dataset:
    """Batches images and makes two random views of each, in parallel.

    Images are cached (decoded, before augmentation), shuffled, batched, and
    then augmented a batch at a time, twice, in parallel `map` calls, so the
    augmentation is vectorised; the result is prefetched.

    Args:
        dataset: A `tf.data.Dataset` of images `(H, W, C)` or of
            `(image, label)` pairs.
        augment: Maps a batch of images to a batch of views, e.g.
            `kc.augment.simclr(28, channels=1)`. Called twice per batch; it
            must be random per image and per call.
        batch_size: Images per batch, at least 2.
        shuffle_buffer: Shuffle buffer size; None or 0 for no shuffling.
        cache: Whether to cache the decoded images in memory.
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
    if int(batch_size) != batch_size or batch_size < 2:
        raise ValueError(
            "batch_size must be an integer of at least 2 (the other images of a "
            f"batch are the negatives), got {batch_size!r}."
        )
    spec = dataset.element_spec
    labelled = isinstance(spec, tuple)
    image_spec = spec[0] if labelled else spec
    if labelled and len(spec) != 2:
        raise ValueError(
            "The dataset must yield images or (image, label) pairs, got elements "
            f"of {len(spec)} parts."
        )
    if image_spec.shape.rank != 3:
        raise ValueError(
            "The dataset must yield single images of shape (height, width, "
            f"channels), got {image_spec.shape}. Unbatch it first if it is batched."
        )
    cardinality = int(dataset.cardinality())
    if drop_remainder and 0 <= cardinality < batch_size:
        raise ValueError(
            f"The dataset has {cardinality} images, fewer than batch_size="
            f"{batch_size}, so no full batch can be made."
        )
    if cache:
        dataset = dataset.cache()
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

    def two_views(images, *labels):
        return (augment(images), augment(images), *labels)

    dataset = dataset.map(two_views, num_parallel_calls=None if reproducible else tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
