"""The two baselines a recommender must beat: the most popular items, and matrix factorisation (PureSVD)."""

from __future__ import annotations

import numpy as np

from keras_contrastive.validation import check_positive_int


def popularity_scores(item_columns, users: int, items: int) -> np.ndarray:
    """Every user's scores as the items' training popularity: the same ranking for all.

    Args:
        item_columns: The catalogue column of each training interaction's item.
        users: The number of users (rows) to score.
        items: The catalogue's size (columns).

    Returns:
        `(users, items)` float32 scores: each item's number of training
        interactions, in every row.

    Example:
    >>> popularity_scores([0, 2, 2], users=2, items=3)
    array([[1., 0., 2.], [1., 0., 2.]], dtype=float32)
    """
    counts = np.bincount(_checked(item_columns, items, "item_columns"), minlength=items).astype(np.float32)
    return np.broadcast_to(counts, (check_positive_int(users, "users"), items)).copy()


def svd_scores(user_rows, item_columns, users: int, items: int, rank: int = 64, values=None, seed: int = 0) -> np.ndarray:
    """Scores by a truncated SVD of the user-item matrix (PureSVD, Cremonesi et al. 2010).

    The `(users, items)` matrix holds `values` (ratings, say) at the
    training interactions and 0 elsewhere; scikit-learn's `TruncatedSVD`
    (randomised) keeps its `rank` leading singular vectors, and a user's
    scores are their row of the rank-`rank` reconstruction, `U S V^T`.

    Args:
        user_rows: The row of each training interaction's user.
        item_columns: The column of each one's item.
        users: The number of users (rows).
        items: The catalogue's size (columns).
        rank: The number of singular vectors kept, below `min(users, items)`.
        values: Each interaction's value, or None for 1 (implicit feedback).
        seed: The randomised SVD's seed.

    Returns:
        `(users, items)` float32 scores.

    Example:
    >>> scores = svd_scores(train_rows, train_columns, users=671, items=9066, rank=64)
    """
    from scipy.sparse import csr_matrix
    from sklearn.decomposition import TruncatedSVD

    users = check_positive_int(users, "users")
    rank = check_positive_int(rank, "rank")
    if rank >= min(users, items):
        raise ValueError(f"rank must be below min(users, items) = {min(users, items)}, got {rank}.")
    rows = _checked(user_rows, users, "user_rows")
    columns = _checked(item_columns, items, "item_columns")
    if len(rows) != len(columns):
        raise ValueError(f"user_rows and item_columns must be one per interaction, got {len(rows)} and {len(columns)}.")
    values = np.ones(len(rows), np.float32) if values is None else np.asarray(values, np.float32)
    if values.shape != rows.shape:
        raise ValueError(f"values must be one number per interaction ({len(rows)}), got shape {values.shape}.")
    matrix = csr_matrix((values, (rows, columns)), shape=(users, items))
    svd = TruncatedSVD(n_components=rank, random_state=seed)
    user_factors = svd.fit_transform(matrix)  # U S
    return (user_factors @ svd.components_).astype(np.float32)


def _checked(indices, size: int, name: str) -> np.ndarray:
    """`indices` as an int64 array within [0, size), or a ValueError naming `name`."""
    indices = np.asarray(indices)
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-D array of integer indices, got {indices.dtype} of shape {indices.shape}.")
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        raise ValueError(f"{name} must lie in [0, {size}), got values from {indices.min()} to {indices.max()}.")
    return indices.astype(np.int64)
