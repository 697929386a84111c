"""Recall@K and NDCG@K of top-K recommendations against each user's held-out items."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf

from keras_contrastive.retrieval.checks import check_k


def recommendation_metrics(
    scores,
    relevant: Sequence[Iterable[int]],
    exclude: Sequence[Iterable[int]] | None = None,
    recall_at: Sequence[int] = (10, 50, 100),
    ndcg_at: Sequence[int] = (10,),
) -> dict[str, float]:
    """How many of each user's held-out items their top-K recommendations hold, and how high.

    Each user's items are ranked by score, highest first (equal scores: the
    lower column first), after leaving out the columns of `exclude` (the
    items the user rated in training, as a recommender would). With `rel(i)`
    1 when the i-th recommendation is one of the user's held-out items and
    R their number:

    - `recall@K`: the share of the R items among the first K recommendations;
    - `ndcg@K`: `DCG@K / IDCG@K`, with `DCG@K = sum_{i<=K} rel(i) / log2(i + 1)`
      and `IDCG@K` the DCG of a ranking that puts all R first.

    Both are averaged over the users with at least one held-out item;
    the other rows count for nothing.

    Args:
        scores: `(U, I)` float scores of every user (row) for every catalogue
            item (column): a model's cosine similarities, or a baseline's.
        relevant: U collections of column indices, each user's held-out items.
        exclude: U collections of column indices never to recommend, or None.
        recall_at: The K of recall@K, each between 1 and I.
        ndcg_at: The K of ndcg@K, each between 1 and I.

    Returns:
        `{"recall@10": ..., "recall@50": ..., "recall@100": ..., "ndcg@10": ...}`,
        floats in [0, 1].

    Raises:
        ValueError: for scores that are not a finite 2-D array, `relevant`
            or `exclude` not one collection per row, a column outside
            [0, I), a K outside [1, I], or no user with a held-out item.

    Example:
    >>> scores = user_embeddings @ item_embeddings.T
    >>> recommendation_metrics(scores, held_out_columns, exclude=train_columns)
    {'recall@10': 0.061, 'recall@50': 0.17, 'recall@100': 0.25, 'ndcg@10': 0.05}
    """
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 2 or not scores.size:
        raise ValueError(f"scores must be a non-empty (users, items) array, got shape {scores.shape}.")
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite; leave items out with exclude, not with -inf.")
    users, items = scores.shape
    ks = {"recall": [check_k(k, items, "catalogue items") for k in recall_at],
          "ndcg": [check_k(k, items, "catalogue items") for k in ndcg_at]}
    relevant = _columns(relevant, users, items, "relevant")
    masked = scores.copy()
    if exclude is not None:
        for row, columns in enumerate(_columns(exclude, users, items, "exclude")):
            masked[row, columns] = -np.inf
    rows = [row for row in range(users) if len(relevant[row])]
    if not rows:
        raise ValueError("relevant holds no held-out item for any user; nothing to measure.")
    depth = max(ks["recall"] + ks["ndcg"])
    top_scores, top = tf.math.top_k(masked[rows], k=depth)  # ties: the lower column first
    top = top.numpy()
    # An excluded item is never a hit, even if held out too: it ranks past the rest only to fill K.
    hits = np.stack([np.isin(top[n], relevant[row]) for n, row in enumerate(rows)]) & np.isfinite(top_scores.numpy())
    counts = np.array([len(relevant[row]) for row in rows])
    results = {f"recall@{k}": float(np.mean(hits[:, :k].sum(axis=1) / counts)) for k in ks["recall"]}
    discounts = 1.0 / np.log2(np.arange(2, depth + 2))
    for k in ks["ndcg"]:
        ideal = np.array([discounts[:min(count, k)].sum() for count in counts])
        results[f"ndcg@{k}"] = float(np.mean((hits[:, :k] * discounts[:k]).sum(axis=1) / ideal))
    return results


def _columns(collections, users: int, items: int, name: str) -> list[np.ndarray]:
    """`collections` as one distinct int array of columns per user, or a ValueError naming `name`."""
    if isinstance(collections, (str, bytes)) or len(collections) != users:
        size = "a string" if isinstance(collections, (str, bytes)) else len(collections)
        raise ValueError(f"{name} must hold one collection of item columns per user ({users}), got {size}.")
    arrays = []
    for row, columns in enumerate(collections):
        array = np.unique(np.asarray(list(columns), dtype=np.int64))
        if array.size and (array[0] < 0 or array[-1] >= items):
            raise ValueError(f"{name}[{row}] holds column {array[0] if array[0] < 0 else array[-1]}, outside "
                             f"[0, {items}) of the catalogue.")
        arrays.append(array)
    return arrays
