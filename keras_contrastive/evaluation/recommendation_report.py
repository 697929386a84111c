"""Two-tower recommenders beside the popularity and SVD baselines, on the same held-out interactions."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import tensorflow as tf

from keras_contrastive.data.interaction_arrays import interaction_arrays
from keras_contrastive.encoders.history_tower import check_takes_user_ids
from keras_contrastive.encoders.id_tower import id_array
from keras_contrastive.evaluation.recommendation_baselines import popularity_scores, svd_scores
from keras_contrastive.evaluation.recommendation_metrics import recommendation_metrics
from keras_contrastive.model import ContrastiveModel


def recommendation_report(
    models: Mapping[str, ContrastiveModel],
    train,
    test,
    item_ids,
    svd_rank: int = 64,
    recall_at: Sequence[int] = (10, 50, 100),
    ndcg_at: Sequence[int] = (10,),
    batch_size: int = 1024,
) -> dict[str, dict[str, float]]:
    """Recall@K and NDCG@K of each model and of two baselines, for every user with held-out items.

    Every user of `test` gets the catalogue ranked, leaving out the items
    they have in `train` (`kc.evaluation.recommendation_metrics`):

    - by each two-tower model: the cosine of the user tower's embedding of
      their id (`model.predict`) with the item tower's of each item
      (`model.embed_pair`), as `kc.export.export_recommender` serves it;
    - `"popularity"`: by the items' number of training interactions;
    - `"svd"`: by a rank-`svd_rank` truncated SVD of the binary training
      user-item matrix (`kc.evaluation.svd_scores`).

    Interactions with an item outside `item_ids` are left out; a test user
    absent from `train` is embedded by the user tower's out-of-vocabulary
    row and by the SVD as a row of zeros.

    Args:
        models: Named two-tower `ContrastiveModel`s whose towers take user
            and item ids (e.g. `{"trained": model, "random_init": other}`).
        train: The training interactions: a `tf.data.Dataset` of
            `(user_id, item_id, ...)` (as `kc.data.load_interactions` gives)
            or a pair of arrays `(user_ids, item_ids)`.
        test: The held-out interactions, in the same form.
        item_ids: The catalogue's distinct item ids, in the ids' kind.
        svd_rank: The SVD baseline's rank.
        recall_at, ndcg_at: As in `recommendation_metrics`.
        batch_size: Ids per forward pass of a tower.

    Returns:
        `{name: {"recall@10": ..., "ndcg@10": ...}}` for each model, then
        `"popularity"` and `"svd"`.

    Raises:
        ValueError: for a model whose user tower is a bare
            `kc.encoders.history_tower` (it takes histories, not ids: wrap
            it with `kc.encoders.user_history_tower`), interactions in
            neither form, repeated item ids,
            no test interaction with a catalogue item, or as
            `recommendation_metrics`.

    Example:
    >>> train, test = (kc.data.load_interactions("movielens", s) for s in ("train", "test"))
    >>> catalogue = kc.data.interaction_catalogue("movielens")
    >>> recommendation_report({"trained": model}, train, test, catalogue.item_ids)["trained"]["recall@100"]
    0.25
    """
    for model in models.values():
        check_takes_user_ids(model, "recommendation_report")
    items = id_array(item_ids, "item_ids")
    column_of = {item: column for column, item in enumerate(items.tolist())}
    if len(column_of) != len(items):
        raise ValueError(f"item_ids must be distinct: {len(items) - len(column_of)} of {len(items)} are repeats.")
    train_users, train_columns = _interactions(train, column_of, "train")
    test_users, test_columns = _interactions(test, column_of, "test")
    if not len(test_users):
        raise ValueError("test holds no interaction with an item of item_ids; nothing to measure.")
    users = list(dict.fromkeys(test_users.tolist()))  # in order of first appearance
    row_of = {user: row for row, user in enumerate(users)}
    relevant, exclude = _per_user(test_users, test_columns, row_of), _per_user(train_users, train_columns, row_of)

    def metrics(scores):
        return recommendation_metrics(scores, relevant, exclude, recall_at=recall_at, ndcg_at=ndcg_at)

    results = {}
    for name, model in models.items():
        queries = _unit(model.predict(tf.constant(np.array(users, dtype=items.dtype)), batch_size=batch_size, verbose=0))
        candidates = _unit(model.embed_pair(tf.constant(items), batch_size=batch_size))
        results[name] = metrics(queries @ candidates.T)
    results["popularity"] = metrics(popularity_scores(train_columns, len(users), len(items)))
    # The SVD factors the whole training matrix (every user's row informs the item factors); the test users come first.
    all_rows = dict(row_of)
    for user in train_users.tolist():
        all_rows.setdefault(user, len(all_rows))
    rows = np.array([all_rows[user] for user in train_users.tolist()], dtype=np.int64)
    svd = svd_scores(rows, train_columns, len(all_rows), len(items),
                     rank=min(svd_rank, len(all_rows) - 1, len(items) - 1))
    results["svd"] = metrics(svd[: len(users)])
    return results


def _interactions(data, column_of: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The user ids and item columns of `data`'s interactions with catalogue items."""
    users, items = interaction_arrays(data, name)
    columns = np.array([column_of.get(item, -1) for item in items.tolist()], dtype=np.int64)
    kept = columns >= 0
    return users[kept], columns[kept]


def _per_user(users: np.ndarray, columns: np.ndarray, row_of: dict) -> list[list[int]]:
    """Each evaluated user's item columns among these interactions (users outside `row_of` dropped)."""
    per_user: list[list[int]] = [[] for _ in row_of]
    for user, column in zip(users.tolist(), columns.tolist()):
        row = row_of.get(user)
        if row is not None:
            per_user[row].append(column)
    return per_user


def _unit(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    embeddings = np.asarray(embeddings, np.float32)
    return embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
