"""The shuffled batches that `make_views` and `make_pairs` both start from."""

from __future__ import annotations

import tensorflow as tf

from keras_contrastive.validation import check_positive_int


def shuffled_batches(
    dataset: tf.data.Dataset,
    batch_size: int,
    shuffle_buffer: int | None,
    cache: bool,
    drop_remainder: bool,
    seed: int | None,
) -> tf.data.Dataset:
    """Caches, shuffles and batches `dataset`, refusing batch sizes that would leave a batch without negatives.

    Args:
        dataset: A `tf.data.Dataset` of single elements.
        batch_size: Elements per batch, at least 2.
        shuffle_buffer: Shuffle buffer size; None or 0 for no shuffling.
        cache: Whether to cache the elements in memory first.
        drop_remainder: Drop the last partial batch.
        seed: Optional shuffle seed.

    Returns:
        The batched dataset.

    Raises:
        ValueError: if `batch_size` is below 2, no full batch can be made with
            `drop_remainder`, or the last batch would hold a single element.
    """
    batch_size = check_positive_int(batch_size, "batch_size (the other examples of a batch are the negatives)", minimum=2)
    cardinality = int(dataset.cardinality())
    if drop_remainder and 0 <= cardinality < batch_size:
        raise ValueError(
            f"The dataset has {cardinality} examples, fewer than batch_size="
            f"{batch_size}, so no full batch can be made."
        )
    if not drop_remainder and cardinality > 0 and cardinality % batch_size == 1:
        raise ValueError(
            f"The dataset has {cardinality} examples, so with batch_size={batch_size} and drop_remainder=False "
            "its last batch would hold a single example, which has no negatives; use drop_remainder=True or "
            "another batch size."
        )
    if cache:
        dataset = dataset.cache()
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=drop_remainder)
