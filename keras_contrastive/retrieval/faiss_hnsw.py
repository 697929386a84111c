"""Approximate search with faiss's HNSW graph (an optional dependency: keras-contrastive[faiss])."""

from __future__ import annotations

import numpy as np

from keras_contrastive.retrieval.backend import SearchBackend
from keras_contrastive.validation import check_positive_int


def _import_faiss():
    try:
        import faiss
    except ImportError as error:
        raise ImportError(
            "Index(backend='faiss') needs faiss, which is not installed: pip install keras-contrastive[faiss] "
            "(or pip install faiss-cpu)."
        ) from error
    return faiss


class FaissHNSW(SearchBackend):
    """Approximate nearest neighbours by inner product in a faiss `IndexHNSWFlat` graph.

    HNSW (Malkov and Yashunin) answers a query in time that grows with the
    logarithm of the index size instead of linearly, at the price of
    sometimes missing a true neighbour: a larger `ef_search` (the candidate
    list walked per query; never fewer than k) misses fewer and costs more.
    On small sets, and with `ef_search` at least the index size, it returns
    the exact neighbours. Building the graph costs more than adding rows to
    `ExactSearch`; a loaded index rebuilds it from the saved rows.

    Args:
        m: Neighbours per node in the graph (faiss's `M`).
        ef_construction: Candidate list size while building the graph.
        ef_search: Candidate list size while searching.

    Raises:
        ImportError: if faiss is not installed, naming `pip install keras-contrastive[faiss]`.

    Example:
    >>> index = kc.retrieval.Index(backend=FaissHNSW(ef_search=256))
    """

    name = "faiss"

    def __init__(self, m: int = 32, ef_construction: int = 200, ef_search: int = 128):
        self._faiss = _import_faiss()
        self.m = check_positive_int(m, "m", minimum=2)
        self.ef_construction = check_positive_int(ef_construction, "ef_construction")
        self.ef_search = check_positive_int(ef_search, "ef_search")
        self._index = None

    def add(self, rows: np.ndarray) -> None:
        if self._index is None:
            self._index = self._faiss.IndexHNSWFlat(rows.shape[1], self.m, self._faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efConstruction = self.ef_construction
        self._index.add(np.ascontiguousarray(rows, np.float32))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._index.hnsw.efSearch = max(self.ef_search, k)
        scores, positions = self._index.search(np.ascontiguousarray(queries, np.float32), k)
        if (positions < 0).any():
            raise RuntimeError(
                f"faiss found fewer than k={k} neighbours for some queries; raise ef_search (now {self.ef_search})."
            )
        return scores, positions.astype(np.int64)

    def rows(self) -> np.ndarray:
        return self._index.reconstruct_n(0, self._index.ntotal)

    def get_config(self) -> dict:
        return {"m": self.m, "ef_construction": self.ef_construction, "ef_search": self.ef_search}
