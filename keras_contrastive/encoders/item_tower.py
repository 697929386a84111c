"""The tower of a catalogue item: its id's embedding, its title's words and its genres, from the item id alone."""

from __future__ import annotations

import collections
from typing import Iterable, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.encoders.bag_of_embeddings import bag_of_embeddings
from keras_contrastive.encoders.id_tower import id_array, id_input, id_lookup, id_vocabulary
from keras_contrastive.text.train_tokenizer import train_tokenizer
from keras_contrastive.validation import check_in_range, check_positive_int, check_separator


@keras.saving.register_keras_serializable(package="keras_contrastive")
class CatalogueColumn(keras.layers.Layer):
    """A column of a catalogue looked up by item id: `values[i]` for the id `keys[i]`, `default` for any other id.

    The keys are mapped to rows by a `StringLookup` (or `IntegerLookup`),
    and the column is a string constant of the graph gathered at those
    rows, so a SavedModel of it runs on core TensorFlow ops (a hash table
    lookup and a gather) and the catalogue is saved in the layer's config.

    Args:
        keys: The distinct item ids (strings or integers).
        values: One string per key.
        default: The value of ids that are not keys.
        **kwargs: The layer's `name`.

    Example:
    >>> titles = CatalogueColumn(["m1", "m2"], ["Heat", "Alien"])
    >>> titles(tf.constant(["m2", "m9"]))  # [b"Alien", b""]
    """

    def __init__(self, keys: Sequence, values: Sequence[str], default: str = "", **kwargs):
        super().__init__(**kwargs)
        keys = id_array(keys, "keys").tolist()
        repeated = [key for key, count in collections.Counter(keys).items() if count > 1]
        if repeated:
            raise ValueError(f"keys must be distinct item ids; {', '.join(map(repr, repeated[:3]))} repeat.")
        self.keys, self.values, self.default = keys, _column(values, keys, "values"), str(default)
        self._lookup = id_lookup(keys, 1, "rows")

    def build(self, input_shape):
        self._lookup.build(input_shape)
        self.built = True

    def call(self, ids):
        column = tf.constant([self.default, *self.values], tf.string)
        return tf.gather(column, self._lookup(ids))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, ids):
        return keras.KerasTensor(ids.shape, dtype="string")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(keys=self.keys, values=self.values, default=self.default)
        return config


@keras.saving.register_keras_serializable(package="keras_contrastive")
class DelimitedMultiHot(keras.layers.Layer):
    """Strings of labels joined by `separator` ("Action|Comedy") as float32 multi-hot vectors over `vocabulary`.

    Column 0 stands for every label outside the vocabulary; empty strings
    and empty labels set nothing. Core TensorFlow ops only (a split and a
    `StringLookup` in `multi_hot` mode).

    Args:
        vocabulary: The labels, one column each after the OOV column.
        separator: The string between labels.
        **kwargs: The layer's `name`.

    Example:
    >>> DelimitedMultiHot(["Action", "Comedy"])(tf.constant(["Comedy|Action", ""]))  # [[0, 1, 1], [0, 0, 0]]
    """

    def __init__(self, vocabulary: Sequence[str], separator: str = "|", **kwargs):
        super().__init__(**kwargs)
        self.separator = check_separator(separator)
        self.vocabulary = [str(label) for label in vocabulary]
        if not self.vocabulary or "" in self.vocabulary or len(set(self.vocabulary)) != len(self.vocabulary):
            raise ValueError("vocabulary must hold distinct non-empty labels.")
        self._lookup = keras.layers.StringLookup(vocabulary=self.vocabulary, mask_token="", output_mode="multi_hot",
                                                 name="labels")

    def build(self, input_shape):
        self._lookup.build((*input_shape, None))
        self.built = True

    @property
    def width(self) -> int:
        """The multi-hot width: the OOV column and one per label."""
        return len(self.vocabulary) + 1

    def call(self, strings):
        return tf.cast(self._lookup(tf.strings.split(strings, self.separator)), tf.float32)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.width)

    def compute_output_spec(self, strings):
        return keras.KerasTensor((*strings.shape, self.width), dtype="float32")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(vocabulary=self.vocabulary, separator=self.separator)
        return config


def item_tower(
    item_ids: Sequence | np.ndarray,
    titles: Sequence[str] | None = None,
    genres: Sequence[str] | None = None,
    embedding_dim: int = 64,
    training_ids: Iterable | np.ndarray | tf.data.Dataset | None = None,
    tokenizer: keras.layers.TextVectorization | None = None,
    id_embedding_dim: int | None = None,
    text_embedding_dim: int | None = None,
    genre_separator: str = "|",
    min_count: int = 1,
    num_oov_buckets: int = 1,
    dropout: float = 0.1,
    name: str = "item_tower",
) -> keras.Model:
    """A feature tower for catalogue items that takes the item id alone: id embedding, title words and genres.

    The catalogue (each item's title and genres) is built into the model at
    construction (`CatalogueColumn`), so the tower's one input is the item
    id, the form every tower of `ContrastiveModel` takes (one input per
    encoder), interaction data comes in, and a server is asked for. Inside:

    - the id through a `StringLookup` or `IntegerLookup` of `training_ids`
      (with `min_count` and `num_oov_buckets` OOV rows, as `id_tower`) and an
      `Embedding` of `id_embedding_dim`;
    - the title, looked up by id, through `kc.encoders.bag_of_embeddings`
      with `tokenizer` (by default `kc.text.train_tokenizer` on the titles);
    - the genres, looked up by id and split at `genre_separator`, as a
      multi-hot vector (`DelimitedMultiHot`);

    concatenated, then a `Dense` layer to `embedding_dim`. An item of the
    catalogue that training never saw (pass the training interactions'
    items as `training_ids`) shares the OOV id row but keeps its own title
    and genres; an id outside the catalogue embeds from the OOV row, an
    empty title and no genre. Core TensorFlow ops only: a SavedModel of it
    serves ids in TF Serving.

    Args:
        item_ids: The catalogue's distinct item ids (strings or integers).
        titles: One title per item, or None for no title feature.
        genres: One string of `genre_separator`-joined genres per item, or
            None for no genre feature.
        embedding_dim: The width of the tower's output.
        training_ids: The ids that get their own embedding rows (repeats
            count towards `min_count`), e.g. the items of the training
            interactions; by default every catalogue item.
        tokenizer: An adapted integer `TextVectorization` for the titles;
            by default one trained on them (16 words a title).
        id_embedding_dim: The id embedding's width; `embedding_dim` by default.
        text_embedding_dim: The title embedding's width; `embedding_dim` by default.
        genre_separator: The string between an item's genres.
        min_count: How many times a training id must occur to get its own row.
        num_oov_buckets: Id rows shared by the ids outside the vocabulary.
        dropout: Dropout on the title's word vectors in training, in [0, 1).
        name: The model's name.

    Returns:
        A functional `keras.Model` from `(batch,)` item ids (strings, or
        int64) to float32 `(batch, embedding_dim)`.

    Raises:
        ValueError: for repeated catalogue ids, titles or genres that are
            not one string per item, or settings out of range.

    Example:
    >>> catalogue = kc.data.movielens_catalogue()
    >>> items = item_tower(catalogue.item_ids, catalogue.titles, catalogue.genres, embedding_dim=64,
    ...                    training_ids=kc.data.load_interactions("movielens", "train").map(lambda u, i: i))
    >>> items(tf.constant(["1", "never-seen"])).shape
    TensorShape([2, 64])
    """
    embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
    id_embedding_dim = check_positive_int(id_embedding_dim or embedding_dim, "id_embedding_dim")
    text_embedding_dim = check_positive_int(text_embedding_dim or embedding_dim, "text_embedding_dim")
    num_oov_buckets = check_positive_int(num_oov_buckets, "num_oov_buckets")
    dropout = check_in_range(dropout, "dropout", 0.0, 1.0, include_high=False)
    catalogue = id_array(item_ids, "item_ids").tolist()
    vocabulary = id_vocabulary(catalogue if training_ids is None else training_ids, min_count, "training_ids")
    if isinstance(vocabulary[0], str) != isinstance(catalogue[0], str):
        raise ValueError("training_ids and item_ids must be ids of one kind: both strings or both integers.")
    inputs = id_input(catalogue, "item_id")
    parts = [keras.layers.Embedding(len(vocabulary) + num_oov_buckets, id_embedding_dim, name="id_embedding")(
        id_lookup(vocabulary, num_oov_buckets, "id_lookup")(inputs))]
    if titles is not None:
        titles = _column(titles, catalogue, "titles")
        if tokenizer is None:
            tokenizer = train_tokenizer([title for title in titles if title.strip()], sequence_length=16)
        title_tower = bag_of_embeddings(tokenizer, text_embedding_dim, dropout, name="title_embedding")
        parts.append(title_tower(CatalogueColumn(catalogue, titles, name="title")(inputs)))
    if genres is not None:
        genres = _column(genres, catalogue, "genres")
        labels = sorted({label for joined in genres for label in joined.split(genre_separator) if label})
        if not labels:
            raise ValueError("genres hold no genre; pass genres=None for no genre feature.")
        genre_strings = CatalogueColumn(catalogue, genres, name="genres")(inputs)
        parts.append(DelimitedMultiHot(labels, genre_separator, name="genre_multi_hot")(genre_strings))
    features = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="features")(parts)
    outputs = keras.layers.Dense(embedding_dim, name="embedding")(features)
    return keras.Model(inputs, outputs, name=name)


def _column(values, catalogue: list, name: str) -> list[str]:
    """`values` as one Python string per catalogue item, or a ValueError."""
    if isinstance(values, str):
        raise ValueError(f"{name} must hold one string per item, got a single string.")
    values = list(values)
    if len(values) != len(catalogue):
        raise ValueError(f"{name} must hold one string per item: got {len(values)} for {len(catalogue)} item ids.")
    bad = [value for value in values if not isinstance(value, (str, np.str_))]
    if bad:
        raise ValueError(f"{name} must be strings (use '' for a missing one), got {bad[0]!r}.")
    return [str(value) for value in values]
