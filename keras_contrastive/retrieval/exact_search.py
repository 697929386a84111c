"""Exact brute-force search in TensorFlow, batched over queries and over index rows."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_contrastive.retrieval.backend import SearchBackend
from keras_contrastive.retrieval.top_k import DEFAULT_ROW_BATCH_SIZE, top_k_cosine
from keras_contrastive.validation import check_positive_int


class ExactSearch(SearchBackend):
    """Every query scored against every row (`kc.retrieval.top_k_cosine`): the exact top k.

    Queries go `query_batch_size` at a time, and each batch meets the rows
    `row_batch_size` at a time, its top k merged block by block, so no
    `queries x rows` matrix is ever made: memory stays at
    `query_batch_size x row_batch_size` scores (64 MB by default) beside the
    rows themselves. Among equal scores the row added first ranks first.

    Args:
        query_batch_size: Queries scored at once.
        row_batch_size: Index rows scored at once.

    Example:
    >>> index = kc.retrieval.Index(backend=ExactSearch(query_batch_size=256))
    """

    name = "exact"

    def __init__(self, query_batch_size: int = 1024, row_batch_size: int = DEFAULT_ROW_BATCH_SIZE):
        self.query_batch_size = check_positive_int(query_batch_size, "query_batch_size")
        self.row_batch_size = check_positive_int(row_batch_size, "row_batch_size")
        self._rows = tf.zeros((0, 0), tf.float32)
        self._pending = []

    def add(self, rows: np.ndarray) -> None:
        self._pending.append(rows)

    def _all_rows(self) -> tf.Tensor:
        """The rows as one tensor, joined once after each run of `add` calls."""
        if self._pending:
            earlier = [self._rows] if self._rows.shape[0] else []
            self._rows = tf.concat(earlier + [tf.constant(rows) for rows in self._pending], axis=0)
            self._pending = []
        return self._rows

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self._all_rows()
        scores, positions = [np.zeros((0, k), np.float32)], [np.zeros((0, k), np.int64)]
        for start in range(0, len(queries), self.query_batch_size):
            batch_scores, batch_positions = top_k_cosine(
                queries[start : start + self.query_batch_size], rows, k, self.row_batch_size
            )
            scores.append(batch_scores.numpy())
            positions.append(batch_positions.numpy())
        return np.concatenate(scores), np.concatenate(positions)

    def rows(self) -> np.ndarray:
        return self._all_rows().numpy()

    def get_config(self) -> dict:
        return {"query_batch_size": self.query_batch_size, "row_batch_size": self.row_batch_size}
