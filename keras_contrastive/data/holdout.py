"""A seeded split of a collection into training and held-out examples, stratified by class."""

from __future__ import annotations

import numpy as np

from keras_contrastive.validation import check_in_range


def holdout_split(
    count: int, test_fraction: float, labels: np.ndarray | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a training part and a held-out part of `count` examples.

    With `labels`, each class is split on its own (stratified), so that a
    small class is held out in proportion too: `round(test_fraction * n)`
    of its `n` examples, at least one when it has two or more, never all of
    them. Without, `round(test_fraction * count)` examples overall. Which
    ones depends only on `seed`; both parts come back sorted, so they follow
    the collection's order (e.g. sorted file paths).

    Args:
        count: Number of examples, at least 2.
        test_fraction: Share held out, in (0, 1).
        labels: Optional `(count,)` integer class per example.
        seed: Seed of the choice.

    Returns:
        `(train_indices, test_indices)`: sorted int64 arrays that together
        hold every index once.

    Raises:
        ValueError: for a fraction outside (0, 1), fewer than 2 examples,
            labels of another length, or a split that leaves a part empty.

    Example:
    >>> train, test = holdout_split(len(paths), 0.2, labels=label_ids, seed=0)
    >>> train_paths = [paths[i] for i in train]
    """
    test_fraction = check_in_range(test_fraction, "test_fraction", 0.0, 1.0, include_high=False)
    if test_fraction == 0:
        raise ValueError("test_fraction must be above 0 and below 1, got 0.")
    if count < 2:
        raise ValueError(f"A split needs at least 2 examples, got {count}.")
    rng = np.random.default_rng(seed)
    if labels is None:
        groups = [np.arange(count)]
    else:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != count:
            raise ValueError(f"labels has {len(labels)} entries for {count} examples; give one per example.")
        groups = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    held_out = []
    for members in groups:
        take = int(round(test_fraction * len(members)))
        take = min(max(take, 1 if len(members) >= 2 else 0), len(members) - 1)
        held_out.append(rng.permutation(members)[:take])
    test = np.sort(np.concatenate(held_out)).astype(np.int64)
    train = np.setdiff1d(np.arange(count), test).astype(np.int64)
    if len(test) == 0:
        raise ValueError(
            f"test_fraction={test_fraction} holds out no example of {count}: every class has one example only, "
            "and a class is never held out whole. Give more examples per class, or no labels."
        )
    return train, test
