"""A user tower that embeds a user by the items they took: their history string, pooled item embeddings."""

from __future__ import annotations

from typing import Iterable, Mapping

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.encoders.id_tower import id_vocabulary
from keras_contrastive.encoders.item_tower import CatalogueColumn
from keras_contrastive.layers.masked_mean_pooling import MaskedMeanPooling
from keras_contrastive.validation import check_positive_int, check_separator

#: The string between the item ids of a history ("1 50 2571"), as `kc.data.next_item_examples` joins them.
HISTORY_SEPARATOR = " "
#: Items of a history kept by default: a user's latest.
HISTORY_LENGTH = 50


@keras.saving.register_keras_serializable(package="keras_contrastive")
class ItemHistory(keras.layers.Layer):
    """History strings ("1 50 2571") as `(batch, history_length)` item ids: the latest ones, "" after them.

    Core TensorFlow ops only (a string split and a ragged slice), so a
    SavedModel of it serves in TF Serving.

    Args:
        history_length: The most items kept of a history: its last ones.
        separator: The string between the item ids.
        **kwargs: The layer's `name`.

    Example:
    >>> ItemHistory(2)(tf.constant(["1 50 2571", ""]))  # [[b"50", b"2571"], [b"", b""]]
    """

    def __init__(self, history_length: int = HISTORY_LENGTH, separator: str = HISTORY_SEPARATOR, **kwargs):
        super().__init__(**kwargs)
        self.history_length = check_positive_int(history_length, "history_length")
        self.separator = check_separator(separator)

    def call(self, histories):
        if histories.dtype != tf.string:
            raise ValueError(f"ItemHistory takes history strings, got dtype {histories.dtype.name}.")
        items = tf.strings.split(histories, sep=self.separator)
        return items[:, -self.history_length:].to_tensor(default_value="", shape=[None, self.history_length])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.history_length)

    def compute_output_spec(self, histories):
        return keras.KerasTensor((histories.shape[0], self.history_length), dtype="string")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(history_length=self.history_length, separator=self.separator)
        return config


def history_tower(
    item_ids: Iterable | np.ndarray | tf.data.Dataset,
    embedding_dim: int = 64,
    history_length: int = HISTORY_LENGTH,
    min_count: int = 1,
    num_oov_buckets: int = 1,
    separator: str = HISTORY_SEPARATOR,
    name: str = "history_tower",
) -> keras.Model:
    """A user tower over the user's latest items: each item's learned embedding, averaged, then a `Dense` layer.

    The input is a history string, the user's item ids in time order
    joined by `separator` (`kc.data.next_item_examples` makes the training
    pairs `(history, next item)`; `kc.data.user_histories` each user's
    latest). Trained on those pairs with `kc.methods.InBatchSoftmax`
    against an item tower, it learns what a user takes next from what they
    took before: on MovieLens it recommends held-out movies better than a
    tower of user ids and than a truncated SVD (README, "Recommendation").
    A user is served by id through `user_history_tower`; a new user with a
    history embeds without retraining, and one with none gets the empty
    history's embedding (the `Dense` layer's bias).

    Inside: `ItemHistory` (the latest `history_length` ids), a
    `StringLookup` of the items of `item_ids` occurring `min_count` times
    (`num_oov_buckets` rows for the others), an `Embedding`, the mean over
    the history's items (`kc.layers.MaskedMeanPooling`) and a `Dense` layer.
    Core TensorFlow ops only.

    Args:
        item_ids: The items that get their own embedding rows (repeats count
            towards `min_count`), e.g. the training interactions' items:
            strings or integers, or a `tf.data.Dataset` of them.
        embedding_dim: The width of the item embeddings and of the output.
        history_length: The most items of a history used: its latest.
        min_count: How many times an item must occur to get its own row.
        num_oov_buckets: Rows shared by the items outside the vocabulary.
        separator: The string between the item ids of a history.
        name: The model's name.

    Returns:
        A functional `keras.Model` from `(batch,)` history strings to
        float32 `(batch, embedding_dim)`.

    Raises:
        ValueError: for no item ids, or settings out of range.

    Example:
    >>> train = kc.data.load_interactions("movielens", "train")
    >>> users = history_tower(train.map(lambda user, item: item))
    >>> users(tf.constant(["1 50 2571", ""])).shape
    TensorShape([2, 64])
    """
    embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
    num_oov_buckets = check_positive_int(num_oov_buckets, "num_oov_buckets")
    vocabulary = [str(item) for item in id_vocabulary(item_ids, min_count, "item_ids")]
    inputs = keras.Input(shape=(), dtype="string", name="history")
    items = ItemHistory(history_length, separator, name="items")(inputs)
    rows = keras.layers.StringLookup(vocabulary=vocabulary, mask_token="", num_oov_indices=num_oov_buckets,
                                     name="item_lookup")(items)
    vectors = keras.layers.Embedding(len(vocabulary) + num_oov_buckets + 1, embedding_dim, mask_zero=True,
                                     name="item_embedding")(rows)
    outputs = keras.layers.Dense(embedding_dim, name="embedding")(MaskedMeanPooling(name="mean")(vectors))
    return keras.Model(inputs, outputs, name=name)


def user_history_tower(histories: Mapping[str, str], tower: keras.Model, name: str = "user_tower") -> keras.Model:
    """A tower of user ids over a history tower: each id's history looked up, then embedded by `tower`.

    This is how a history tower is evaluated and served: its users are
    asked for by id (`kc.evaluation.recommendation_report`,
    `kc.export.export_recommender`), and their histories are built into
    the model (`CatalogueColumn`, core TensorFlow ops), so new histories
    are a new model sharing the trained `tower`'s weights, exported as a
    new version. An id without a history gets the empty history.

    Args:
        histories: User id to history string, as `kc.data.user_histories` gives.
        tower: A model from `(batch,)` history strings to embeddings, such
            as `history_tower`.
        name: The model's name.

    Returns:
        A functional `keras.Model` from `(batch,)` string user ids to
        `tower`'s embeddings.

    Raises:
        ValueError: for no histories, or user ids or histories that are not strings.

    Example:
    >>> histories = kc.data.user_histories(kc.data.load_interactions("movielens", "train"))
    >>> users = user_history_tower(histories, trained.encoder)
    >>> served = kc.ContrastiveModel(users, kc.methods.InBatchSoftmax(), pair_encoder=trained.pair_encoder)
    """
    if not histories:
        raise ValueError("histories holds no user; pass each user's history, e.g. kc.data.user_histories(train).")
    bad = next((key for key, value in histories.items() if not isinstance(key, str) or not isinstance(value, str)),
               None)
    if bad is not None:
        raise ValueError(f"histories must map string user ids to history strings; got {bad!r}: "
                         f"{histories[bad]!r}.")
    inputs = keras.Input(shape=(), dtype="string", name="user_id")
    looked_up = CatalogueColumn(list(histories), list(histories.values()), name="history")(inputs)
    return keras.Model(inputs, tower(looked_up), name=name)


def check_takes_user_ids(model, caller: str) -> None:
    """A ValueError if `model`'s user tower is a history tower itself, which `caller` would ask for user ids.

    A trained `history_tower` takes history strings, so asking it for a
    user id embeds the id as a history of one unknown item: every user the
    same. `user_history_tower` is what takes the ids.

    Args:
        model: A two-tower model (its `encoder` is the user tower).
        caller: The function asking, for the message.
    """
    encoder = getattr(model, "encoder", None)
    if isinstance(encoder, keras.Model) and any(isinstance(layer, ItemHistory) for layer in encoder.layers):
        raise ValueError(
            f"{caller} asks the user tower for user ids, but {encoder.name!r} takes history strings (a "
            "kc.encoders.history_tower). Serve it by id: kc.ContrastiveModel(kc.encoders.user_history_tower("
            "kc.data.user_histories(train), model.encoder), model.method, pair_encoder=model.pair_encoder)."
        )
