"""make_pairs: batches of given positive pairs (and hard negatives), for supervised SimCSE, image-text and two towers."""

from __future__ import annotations

import tensorflow as tf

from keras_contrastive.data.batches import shuffled_batches


def make_pairs(
    dataset: tf.data.Dataset,
    batch_size: int = 64,
    shuffle_buffer: int | None = 10_000,
    cache: bool = True,
    drop_remainder: bool = True,
    seed: int | None = None,
) -> tf.data.Dataset:
    """Shuffles and batches pairs whose positives are given rather than made by augmentation.

    Each element is `(anchor, positive)` or `(anchor, positive,
    hard_negative)`: a gloss and its word, a question and its answer, a
    sentence and a paraphrase (and a sentence that contradicts it). The
    other positives of a batch are each anchor's in-batch negatives, so
    duplicates within a batch are false negatives: shuffle well.

    Args:
        dataset: A `tf.data.Dataset` of 2- or 3-tuples of single examples.
        batch_size: Pairs per batch, at least 2.
        shuffle_buffer: Shuffle buffer size; None or 0 for no shuffling.
        cache: Whether to cache the pairs in memory first.
        drop_remainder: Drop the last partial batch.
        seed: Optional shuffle seed.

    Returns:
        A dataset of `(anchors, positives)` or `(anchors, positives,
        hard_negatives)` batches, what `ContrastiveModel.fit` takes with
        `kc.methods.SimCSE`.

    Example:
    >>> pairs = kc.data.load_text("wordnet", "train")          # (gloss, word)
    >>> batches = make_pairs(pairs, batch_size=128)
    """
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        parts = len(spec) if isinstance(spec, tuple) else 1
        raise ValueError(
            "make_pairs takes a dataset of (anchor, positive) or (anchor, positive, hard_negative) "
            f"tuples, got elements of {parts} part(s); for unlabelled examples use make_views."
        )
    if len(spec) == 3 and not spec[2].is_compatible_with(spec[1]):
        raise ValueError(
            f"A hard negative must be an example of the positives' kind ({spec[1]}), got {spec[2]}."
        )
    batches = shuffled_batches(dataset, batch_size, shuffle_buffer, cache, drop_remainder, seed)
    return batches.prefetch(tf.data.AUTOTUNE)
