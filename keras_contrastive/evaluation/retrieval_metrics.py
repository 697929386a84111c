"""Recall@K, precision@K and mAP@R of cosine retrieval (Musgrave et al., "A Metric Learning Reality Check")."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from keras_contrastive.retrieval.checks import check_k, unit_rows
from keras_contrastive.retrieval.top_k import top_k_cosine
from keras_contrastive.validation import check_positive_int


def retrieval_metrics(
    query_embeddings,
    query_labels,
    index_embeddings,
    index_labels,
    k: Sequence[int] = (1, 5, 10),
    exclude_self: bool = False,
    batch_size: int = 256,
) -> dict[str, float]:
    """How well cosine nearest neighbours in the index share each query's label.

    For each query, the index is ranked by cosine similarity, most similar
    first; among equal similarities the lower index row ranks first. With
    `rel(i)` 1 when the i-th neighbour has the query's label and `P(i)` the
    share of such neighbours among the first i, following Musgrave et al.
    (2020):

    - `recall@K`: the share of queries with at least one same-label item
      among their K nearest;
    - `precision@K`: the mean share of same-label items among the K nearest;
    - `map@r`: the mean over queries of `AP@R = (1/R) * sum_{i<=R} P(i) rel(i)`,
      R being the number of items with the query's label in the index.

    With `exclude_self`, the queries are the index itself (the same rows in
    the same order), each query is left out of its own neighbours, and R
    does not count it. A query whose label has no item in the index (R = 0:
    with `exclude_self`, a class of one) can be neither found nor ranked;
    like pytorch-metric-learning's `AccuracyCalculator`, every metric leaves
    such queries out.

    Queries are ranked `batch_size` at a time against index rows a block at
    a time (`kc.retrieval.top_k_cosine`), down to the deepest R or K needed,
    so memory stays at `batch_size` times that depth or a block of rows.

    Args:
        query_embeddings: `(Q, D)` embeddings.
        query_labels: `(Q,)` integer or string labels.
        index_embeddings: `(N, D)` embeddings searched.
        index_labels: `(N,)` labels of the same kind.
        k: The K of recall@K and precision@K, each between 1 and N (N - 1
            with `exclude_self`).
        exclude_self: Whether queries and index are the same set.
        batch_size: Queries ranked at once.

    Returns:
        `{"recall@1": ..., "precision@1": ..., ..., "map@r": ...}`, floats in [0, 1].

    Raises:
        ValueError: for embeddings that are not finite, non-zero `(n, D)`
            rows of one width, labels that are not one integer or string per
            row, a K out of range, `exclude_self` with queries that are not
            the index, or no query with a same-label item in the index.

    Example:
    >>> retrieval_metrics(model.predict(x_test), y_test, model.predict(x_test), y_test, exclude_self=True)
    {'recall@1': 0.83..., 'precision@1': 0.83..., ..., 'map@r': 0.41...}
    """
    queries = unit_rows(query_embeddings, "query_embeddings")
    index = unit_rows(index_embeddings, "index_embeddings", dim=queries.shape[1])
    if not len(queries) or not len(index):
        raise ValueError(f"Expected at least one query and one index row, got {len(queries)} and {len(index)}.")
    query_labels = _labels(query_labels, len(queries), "query_labels")
    index_labels = _labels(index_labels, len(index), "index_labels")
    if query_labels.dtype.kind in "iu" and index_labels.dtype.kind == "U" or (
        query_labels.dtype.kind == "U" and index_labels.dtype.kind in "iu"
    ):
        raise ValueError(
            f"Expected labels of one kind, got query labels of dtype {query_labels.dtype} and index labels of "
            f"dtype {index_labels.dtype}."
        )
    batch_size = check_positive_int(batch_size, "batch_size")
    self_count = int(bool(exclude_self))
    ranked = len(index) - self_count
    ks = sorted({check_k(K, ranked, "index rows ranked per query") for K in ([k] if np.ndim(k) == 0 else k)})
    if not ks:
        raise ValueError("k must hold at least one K, e.g. (1, 5, 10).")
    if exclude_self and not (np.array_equal(queries, index) and np.array_equal(query_labels, index_labels)):
        raise ValueError(
            "exclude_self=True means the queries are the index: the same embeddings and labels in the same "
            f"order; got {len(queries)} queries and {len(index)} index rows that differ."
        )
    classes, index_codes = np.unique(index_labels, return_inverse=True)
    class_sizes = np.bincount(index_codes, minlength=len(classes))
    found = np.minimum(np.searchsorted(classes, query_labels), len(classes) - 1)
    same_label_items = np.where(classes[found] == query_labels, class_sizes[found], 0) - self_count
    scored = np.flatnonzero(same_label_items > 0)
    if not len(scored):
        raise ValueError(
            "No query has an item of its label in the index (other than itself, with exclude_self), so "
            "retrieval cannot be scored."
        )

    sums = dict.fromkeys([*(f"recall@{K}" for K in ks), *(f"precision@{K}" for K in ks), "map@r"], 0.0)
    for start in range(0, len(scored), batch_size):
        chosen = scored[start : start + batch_size]
        r = same_label_items[chosen]
        depth = max(ks[-1], int(r.max()))
        positions = top_k_cosine(queries[chosen], index, depth + self_count)[1].numpy()
        if exclude_self:
            positions = _without_self(positions, chosen)
        relevant = index_labels[positions] == query_labels[chosen, None]
        hits = np.cumsum(relevant, axis=1)
        for K in ks:
            sums[f"recall@{K}"] += float(np.sum(hits[:, K - 1] > 0))
            sums[f"precision@{K}"] += float(np.sum(hits[:, K - 1] / K))
        ranks = np.arange(1, depth + 1)
        precision_at_relevant = hits / ranks * relevant * (ranks <= r[:, None])
        sums["map@r"] += float(np.sum(precision_at_relevant.sum(axis=1) / r))
    return {name: total / len(scored) for name, total in sums.items()}


def _labels(labels, count: int, name: str) -> np.ndarray:
    """`labels` as a 1-D integer or string array of `count` entries, or a ValueError."""
    array = np.asarray(labels)
    if array.ndim != 1 or len(array) != count:
        raise ValueError(f"Expected {name} to be one label per embedding, ({count},), got shape {array.shape}.")
    if array.dtype.kind not in "iuU":
        raise ValueError(f"Expected {name} to be integer or string class labels, got dtype {array.dtype}.")
    return array


def _without_self(positions: np.ndarray, query_rows: np.ndarray) -> np.ndarray:
    """Each row of `positions` without its query's own row (or, if absent, its last entry)."""
    keep = positions != query_rows[:, None]
    keep[keep.all(axis=1), -1] = False
    return positions[keep].reshape(len(positions), -1)
