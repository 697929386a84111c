"""A similarity-search index: embeddings with string ids, searched by cosine similarity."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from keras_contrastive.retrieval.backend import SearchBackend
from keras_contrastive.retrieval.checks import check_ids, check_k, unit_rows
from keras_contrastive.retrieval.exact_search import ExactSearch
from keras_contrastive.retrieval.faiss_hnsw import FaissHNSW
from keras_contrastive.retrieval.index_file import read_index_file, write_index_file
from keras_contrastive.validation import check_choice

#: Backends by the name `Index(backend=...)` and saved index files know them by.
BACKENDS = {backend.name: backend for backend in (ExactSearch, FaissHNSW)}


class Index:
    """Embeddings, each named by a string id, searched for the most similar by cosine similarity.

    Rows are stored L2-normalised, so a search ranks by inner product. The
    default backend, `ExactSearch`, is exact brute force in TensorFlow,
    batched over queries and rows (millions of rows need no queries x rows
    matrix); `backend="faiss"` is faiss's approximate HNSW graph
    (`FaissHNSW`, `pip install keras-contrastive[faiss]`), for indexes too
    large to scan per query.

    Ids are unique: `add` refuses an id already in the index or repeated in
    its batch, naming it, rather than keeping two rows that answer to one
    name (there is no replacing or deleting: build a new index instead).
    Among rows of equal similarity the exact backend ranks the row added
    first first.

    Args:
        backend: `"exact"`, `"faiss"`, or a new `SearchBackend` object such
            as `ExactSearch(row_batch_size=4096)` or `FaissHNSW(ef_search=256)`.

    Example:
    >>> index = kc.retrieval.Index()
    >>> index.add(model.predict(images), ids=[f"img_{i}.png" for i in range(len(images))])
    >>> ids, scores = index.search(model.predict(query_images), k=5)   # (Q, 5) each, best first
    >>> index.save("catalog.npz"); again = kc.retrieval.Index.load("catalog.npz")
    """

    def __init__(self, backend: str | SearchBackend = "exact"):
        if isinstance(backend, str):
            backend = BACKENDS[check_choice(backend, "backend", BACKENDS)]()
        if not isinstance(backend, SearchBackend):
            raise ValueError(
                f"backend must be one of {', '.join(map(repr, BACKENDS))} or a kc.retrieval.SearchBackend, "
                f"got {type(backend).__name__}."
            )
        self.backend = backend
        self._dim = None
        self._ids = []
        self._id_set = set()
        self._id_array = np.empty(0, dtype=object)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def dim(self) -> int | None:
        """The embedding width, fixed by the first `add` (None before it)."""
        return self._dim

    @property
    def ids(self) -> np.ndarray:
        """The ids in the order they were added, as a str array."""
        return np.array(self._ids, dtype=str)

    @property
    def embeddings(self) -> np.ndarray:
        """The stored rows, `(N, D)` float32 unit vectors in the order they were added."""
        if not self._ids:
            return np.zeros((0, self._dim or 0), np.float32)
        return self.backend.rows()

    def add(self, embeddings, ids) -> None:
        """Adds `(N, D)` embeddings, normalised to unit length, under their `N` ids.

        Args:
            embeddings: A `(N, D)` array or tensor of finite, non-zero rows;
                D must match the rows already added.
            ids: N distinct strings (bytes are decoded as UTF-8), none of
                them already in the index.

        Raises:
            ValueError: for another width than the index's, a count of ids
                other than N, non-string or repeated ids, NaN, infinite or
                all-zero rows. Nothing is added then.

        Example:
        >>> index.add(embeddings, ["a.png", "b.png"])
        """
        self._append(unit_rows(embeddings, "embeddings", self._dim), ids)

    def _append(self, rows: np.ndarray, ids) -> None:
        """Adds unit rows (already checked) under `ids`, after checking the ids."""
        ids = check_ids(ids, len(rows))
        taken = [value for value in ids if value in self._id_set]
        if taken:
            raise ValueError(
                f"Expected ids not already in the index, but {len(taken)} are, e.g. "
                f"{', '.join(map(repr, taken[:3]))}; ids are unique (build a new index to replace rows)."
            )
        self._dim = rows.shape[1]
        if len(rows):
            self.backend.add(rows)
            self._ids.extend(ids)
            self._id_set.update(ids)

    def search(self, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The `k` most similar rows of each query, by cosine similarity.

        Args:
            queries: `(Q, D)` embeddings of the index's width (normalised here).
            k: Neighbours per query, between 1 and the number of rows.

        Returns:
            `(ids, scores)`: a `(Q, k)` str array of ids and a `(Q, k)`
            float32 array of cosine similarities, highest first.

        Raises:
            ValueError: for an empty index, a k out of range, or queries of
                another width, NaN, infinite or all-zero.

        Example:
        >>> ids, scores = index.search(query_embeddings, k=10)
        """
        if not self._ids:
            raise ValueError("The index is empty: add embeddings with Index.add before searching it.")
        k = check_k(k, len(self))
        scores, positions = self.backend.search(unit_rows(queries, "queries", self._dim), k)
        if len(self._id_array) != len(self._ids):
            self._id_array = np.array(self._ids, dtype=object)
        return self._id_array[positions].astype(str), scores

    def get_config(self) -> dict:
        """The backend's name and settings (not the rows), as JSON-serialisable values."""
        return {"backend": self.backend.name, "backend_config": self.backend.get_config()}

    @classmethod
    def from_config(cls, config: dict) -> "Index":
        """A new, empty index with the settings of `get_config`."""
        name = check_choice(config.get("backend"), "backend", BACKENDS)
        return cls(BACKENDS[name].from_config(config.get("backend_config", {})))

    def save(self, path: str | os.PathLike) -> Path:
        """Writes the rows, ids and settings to one file, atomically.

        The file is written under a temporary name beside `path` and renamed
        onto it when complete, so a crash never leaves a partial index at
        `path` (an earlier file there stays until the new one replaces it).
        It holds no pickled objects. A faiss index saves its rows, and
        `load` rebuilds the graph from them.

        Args:
            path: The file to write, used as given (e.g. `"catalog.npz"`).

        Returns:
            `path` as a `Path`.

        Example:
        >>> index.save("catalog.npz")
        """
        return write_index_file(path, {"dim": self._dim, **self.get_config()}, self.embeddings, self.ids)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Index":
        """Reads an index written by `save`, with the same rows, ids and backend.

        Args:
            path: A file written by `Index.save`.

        Returns:
            The index.

        Raises:
            FileNotFoundError: No file at `path`.
            ValueError: The file is truncated, corrupt or not an index file.
            ImportError: The index was saved with the faiss backend and faiss
                is not installed.

        Example:
        >>> index = Index.load("catalog.npz")
        """
        config, embeddings, ids = read_index_file(path)
        try:
            index = cls.from_config(config)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"{path} is not an index file written by Index.save: its settings fail ({error})."
            ) from error
        if config.get("dim") is not None:  # an index saved before its first add has no width yet
            index._append(embeddings, ids)
        return index
