"""What an `Index` asks of the code that finds nearest neighbours among its rows."""

from __future__ import annotations

import abc

import numpy as np


class SearchBackend(abc.ABC):
    """Finds the rows most similar to queries; an `Index` owns one and keeps the ids.

    A backend receives unit rows (float32, L2 norm 1) from `Index.add` and
    unit queries from `Index.search`, so the inner product it ranks by is the
    cosine similarity. A backend object belongs to one index.

    Subclasses set `name` (what `Index(backend=name)` and a saved index
    call it) and keep every constructor argument in `get_config`.

    Example:
    >>> index = Index(backend=ExactSearch(row_batch_size=4096))
    """

    #: The backend's name in `Index(backend=...)` and in saved index files.
    name: str

    @abc.abstractmethod
    def add(self, rows: np.ndarray) -> None:
        """Appends `(n, D)` float32 unit rows; their positions follow the rows already added."""

    @abc.abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """`(scores, positions)`, each `(Q, k)`: float32 similarities, highest first, and int64 row positions.

        The index has checked that 1 <= k <= the number of rows.
        """

    @abc.abstractmethod
    def rows(self) -> np.ndarray:
        """All rows added, `(N, D)` float32, in the order they were added."""

    @abc.abstractmethod
    def get_config(self) -> dict:
        """The constructor arguments, as JSON-serialisable values."""

    @classmethod
    def from_config(cls, config: dict) -> "SearchBackend":
        """A new, empty backend with the settings of `get_config`."""
        return cls(**config)
