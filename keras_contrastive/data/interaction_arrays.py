"""Interactions given as a `tf.data` set of `(user_id, item_id, ...)` or as two arrays, read into NumPy arrays."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_contrastive.encoders.id_tower import id_array


def interaction_arrays(data, name: str = "interactions") -> tuple[np.ndarray, np.ndarray]:
    """The user ids and item ids of `data`'s interactions, one each per interaction, in `data`'s order.

    Args:
        data: A `tf.data.Dataset` of `(user_id, item_id, ...)` tuples (as
            `kc.data.load_interactions` gives) or a pair of arrays
            `(user_ids, item_ids)`.
        name: The argument's name, for the messages.

    Returns:
        `(user_ids, item_ids)` as 1-D arrays of Python strings (object dtype)
        or int64 (see `kc.encoders.id_tower`'s `id_array`).

    Raises:
        ValueError: for data in neither form, no interactions, or user and
            item arrays of different lengths.

    Example:
    >>> users, items = interaction_arrays((["u1", "u1", "u2"], ["m1", "m2", "m1"]))
    >>> items.tolist()
    ['m1', 'm2', 'm1']
    """
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if not isinstance(spec, tuple) or len(spec) < 2:
            raise ValueError(f"{name} must be a dataset of (user_id, item_id, ...) tuples, got elements {spec}.")
        return (id_array(data.map(lambda *row: row[0]), f"{name} users"),
                id_array(data.map(lambda *row: row[1]), f"{name} items"))
    if isinstance(data, (tuple, list)) and len(data) == 2:
        users, items = id_array(data[0], f"{name} users"), id_array(data[1], f"{name} items")
        if len(users) != len(items):
            raise ValueError(f"{name}'s user and item ids must be one per interaction, got {len(users)} and {len(items)}.")
        return users, items
    raise ValueError(f"{name} must be a tf.data.Dataset of (user_id, item_id, ...) or a pair of arrays "
                     f"(user_ids, item_ids), got {type(data).__name__}.")
