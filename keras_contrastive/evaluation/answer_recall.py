"""Recall@k of queries whose right answers are given as sets of candidates (a reverse dictionary, QA retrieval)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from keras_contrastive.retrieval.top_k import top_k_cosine


def answer_recall(
    query_embeddings,
    candidate_embeddings,
    answers: Sequence[Sequence[int]],
    k: Sequence[int] = (1, 10),
) -> dict[str, float]:
    """How often one of a query's right answers is among its k most similar candidates (cosine).

    Args:
        query_embeddings: `(Q, D)` embeddings of the queries (e.g. glosses).
        candidate_embeddings: `(C, D)` embeddings of every candidate (e.g. words).
        answers: For each query, the indices of its right candidates (at least one each).
        k: The cut-offs, each at most C.

    Returns:
        `{"recall@1": ..., "recall@10": ...}`, fractions of the queries.

    Example:
    >>> book = kc.data.wordnet_reverse_dictionary("test")
    >>> answer_recall(embed(encoder, book.queries), embed(pair_encoder, book.candidates), book.answers)
    """
    queries = np.asarray(query_embeddings, np.float32)
    candidates = np.asarray(candidate_embeddings, np.float32)
    if queries.ndim != 2 or candidates.ndim != 2 or queries.shape[1] != candidates.shape[1]:
        raise ValueError(
            "Expected (Q, D) query and (C, D) candidate embeddings of one width, got shapes "
            f"{queries.shape} and {candidates.shape}."
        )
    if len(answers) != len(queries) or any(len(a) == 0 for a in answers):
        raise ValueError(f"Expected one non-empty set of right answers per query ({len(queries)}), got {len(answers)}.")
    cut_offs = sorted({int(c) for c in k})
    if not cut_offs or cut_offs[0] < 1 or cut_offs[-1] > len(candidates):
        raise ValueError(f"Each k must be in [1, {len(candidates)}] (the number of candidates), got {list(k)}.")
    unit = lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # noqa: E731
    _, ranked = top_k_cosine(unit(queries), unit(candidates), cut_offs[-1])
    hits = np.array([[i in set(a) for i in row] for row, a in zip(np.asarray(ranked), answers)])
    return {f"recall@{c}": float(hits[:, :c].any(axis=1).mean()) for c in cut_offs}
