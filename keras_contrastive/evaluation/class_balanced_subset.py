"""A class-balanced share of the labels: the labelled subsets of semi-supervised evaluation."""

from __future__ import annotations

import numpy as np

from keras_contrastive.validation import check_in_range


def class_balanced_subset(labels, label_fraction: float, num_classes: int | None = None, seed: int = 0) -> np.ndarray:
    """Indices of `label_fraction` of each class's examples, at least one of each, drawn at random.

    Each class keeps `max(1, round(label_fraction * count))` of its `count`
    examples (the same share of every class, as in SimCLR's 1% and 10%
    ImageNet subsets), chosen by a generator seeded with `seed` alone, so the
    subset is the same on every call and machine.

    Args:
        labels: `(N,)` integer class labels in `[0, num_classes)`.
        label_fraction: The share of each class kept, in (0, 1].
        num_classes: The number of classes; `max(labels) + 1` by default.
            Every class needs at least one example.
        seed: Seed of the draw.

    Returns:
        Sorted int64 indices into `labels`.

    Raises:
        ValueError: for a fraction outside (0, 1], negative labels or labels
            of `num_classes` or more, or a class without any example.

    Example:
    >>> class_balanced_subset(np.repeat([0, 1, 2], [100, 50, 3]), 0.1)   # 10, 5 and 1 indices
    """
    fraction = check_in_range(label_fraction, "label_fraction", 0.0, 1.0)
    if fraction == 0.0:
        raise ValueError(f"label_fraction must be a number in (0, 1], got {label_fraction!r}.")
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if len(labels) == 0 or labels.min() < 0:
        raise ValueError("Expected class labels 0, 1, 2, ..., got none or negative ones.")
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    if labels.max() >= num_classes:
        raise ValueError(f"Got label {labels.max()} for {num_classes} classes; labels must be below num_classes.")
    counts = np.bincount(labels, minlength=num_classes)
    if counts.min() == 0:
        missing = np.flatnonzero(counts == 0).tolist()
        raise ValueError(
            f"A labelled subset needs at least one example of each of the {num_classes} classes; "
            f"{len(labels)} labelled examples have none of class(es) {missing}."
        )
    rng = np.random.default_rng(seed)
    chosen = [
        rng.permutation(np.flatnonzero(labels == label))[: max(1, int(np.floor(fraction * count + 0.5)))]
        for label, count in enumerate(counts)
    ]
    return np.sort(np.concatenate(chosen))
