"""Each user's items in time order as history strings: next-item training examples and the histories to serve."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_contrastive.data.interaction_arrays import interaction_arrays
from keras_contrastive.encoders.history_tower import HISTORY_LENGTH, HISTORY_SEPARATOR
from keras_contrastive.validation import check_positive_int, check_separator


def next_item_examples(
    interactions,
    history_length: int = HISTORY_LENGTH,
    earlier=None,
    separator: str = HISTORY_SEPARATOR,
) -> tf.data.Dataset:
    """`(history, item)` for every interaction: the user's items before it, joined, and the item itself.

    The training examples of a history user tower (`kc.encoders.history_tower`):
    each interaction is predicted from its user's previous
    `history_length` items only, never from later ones, so the tower learns
    what a user takes next from what they took before, which is how it is
    asked at serving time (with their latest items, `user_histories`). A
    user's first interaction gets the empty history, which trains the
    embedding of a user with no history yet.

    Args:
        interactions: The interactions, ordered by time within each user: a
            `tf.data.Dataset` of `(user_id, item_id, ...)` (as
            `kc.data.load_interactions` gives) or a pair of arrays
            `(user_ids, item_ids)`.
        history_length: The most items of a history: the latest ones.
        earlier: Interactions of the same users before all of
            `interactions` (e.g. the training split, for examples of the test
            split), in the same form; they start the histories but give no
            examples.
        separator: The string between the item ids of a history.

    Returns:
        A `tf.data.Dataset` of `(history, item_id)` scalar strings, one per
        interaction of `interactions`, in their order.

    Raises:
        ValueError: for interactions in neither form, a `history_length`
            that is not a positive integer, or an item id holding the separator.

    Example:
    >>> examples = next_item_examples((["u1", "u1", "u1"], ["m1", "m2", "m3"]))
    >>> [(h.decode(), i.decode()) for h, i in examples.as_numpy_iterator()]
    [('', 'm1'), ('m1', 'm2'), ('m1 m2', 'm3')]
    """
    history_length = check_positive_int(history_length, "history_length")
    users, items = _strings(interactions, "interactions", separator)
    previous: dict[str, list[str]] = {}
    if earlier is not None:
        for user, item in zip(*_strings(earlier, "earlier", separator)):
            previous.setdefault(user, []).append(item)
    histories = []
    for user, item in zip(users, items):
        seen = previous.setdefault(user, [])
        histories.append(separator.join(seen[-history_length:]))
        seen.append(item)
    return tf.data.Dataset.from_tensor_slices(
        (np.array(histories, dtype=object), np.array(items, dtype=object)))


def user_histories(
    interactions,
    history_length: int = HISTORY_LENGTH,
    separator: str = HISTORY_SEPARATOR,
) -> dict[str, str]:
    """Each user's latest `history_length` items joined: what a history user tower embeds them by.

    Pass the result to `kc.encoders.user_history_tower` for a tower of user
    ids, as `kc.evaluation.recommendation_report` and
    `kc.export.export_recommender` take it.

    Args:
        interactions: As in `next_item_examples`, ordered by time within
            each user.
        history_length: The most items of a history: the latest ones.
        separator: The string between the item ids of a history.

    Returns:
        A dict from user id (a string) to their history string, in order of
        the users' first interaction.

    Example:
    >>> user_histories((["u1", "u2", "u1"], ["m1", "m9", "m2"]), history_length=1)
    {'u1': 'm2', 'u2': 'm9'}
    """
    history_length = check_positive_int(history_length, "history_length")
    per_user: dict[str, list[str]] = {}
    for user, item in zip(*_strings(interactions, "interactions", separator)):
        per_user.setdefault(user, []).append(item)
    return {user: separator.join(items[-history_length:]) for user, items in per_user.items()}


def _strings(interactions, name: str, separator: str) -> tuple[list[str], list[str]]:
    """The user and item ids as Python strings, or a ValueError for an item id holding the separator."""
    check_separator(separator)
    users, items = (array.astype(str).tolist() for array in interaction_arrays(interactions, name))
    joined = next((item for item in items if separator in item or not item), None)
    if joined is not None:
        raise ValueError(f"{name}' item ids must be non-empty and free of the separator {separator!r} that joins "
                         f"them into histories; got {joined!r}. Pass another separator.")
    return users, items
