"""Exports trained encoders, alone or with a search index, as SavedModels that TensorFlow Serving loads as they are."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.encoders.history_tower import check_takes_user_ids
from keras_contrastive.model import ContrastiveModel
from keras_contrastive.retrieval.checks import check_ids, check_k
from keras_contrastive.retrieval.embed_with_ids import embed_with_ids
from keras_contrastive.retrieval.index import Index
from keras_contrastive.retrieval.top_k import top_k_cosine
from keras_contrastive.serving_versions import write_version
from keras_contrastive.tower_input import TowerInput
from keras_contrastive.towers import Towers, pair_of
from keras_contrastive.validation import after_checks, check_positive_int


def _serving_spec(tower_input: TowerInput, dtype=None) -> tf.TensorSpec:
    """The signature's input: images as uint8 (or `dtype`), everything else in the encoder's own dtype."""
    if dtype is None:
        dtype = tf.uint8 if tower_input.kind == "images" else tf.as_dtype(tower_input.dtype)
    return tf.TensorSpec(tower_input.batch_shape(), dtype, name=tower_input.kind)


def _embedding_endpoint(encoder: keras.Model, head: keras.layers.Layer | None, tower_input: TowerInput):
    """A function from a batch the signature accepts to `{"embedding": unit rows}` of `encoder` (then `head`)."""
    batch_shape = tower_input.batch_shape()
    input_dtype = tf.as_dtype(tower_input.dtype)

    def embedding(inputs):
        # Signatures check dtypes but not shapes; a pooled encoder would embed
        # images of any size, so refuse them here, naming the expected shape.
        inputs = tf.ensure_shape(inputs, batch_shape)
        features = encoder(tf.cast(inputs, input_dtype), training=False)
        if head is not None:
            features = head(features, training=False)
        return {"embedding": _unit_rows(tf.cast(features, tf.float32))}

    return embedding


def _unit_rows(features: tf.Tensor) -> tf.Tensor:
    """`features` divided by their L2 norms (zero rows stay zero), as `tf.math.l2_normalize` but exactly rounded.

    `l2_normalize` multiplies by `rsqrt`, which is not correctly rounded (it
    was inexact on every one of 4000 rows with exact norms); a correctly
    rounded `sqrt` and division normalise such rows exactly, so equal
    similarities stay equal and a served top-k breaks ties as a float64
    brute force does.
    """
    # DivNoNan rather than `/`: Grappler rewrites a division by a Sqrt into a
    # multiplication by Rsqrt in the served graph, undoing the exactness.
    return tf.math.divide_no_nan(features, tf.norm(features, axis=-1, keepdims=True))


def export_embedder(
    model: ContrastiveModel | keras.Model,
    base_dir: str | os.PathLike,
    version: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Writes the encoder(s) as a SavedModel in TF Serving's layout, `base_dir/<version>/`.

    The signature `serving_default` takes a batch of what the encoder takes
    and returns `embedding`, the L2-normalised float32 embedding (the
    model's `predict`, normalised). Its input is named by kind: `images`
    (uint8, any batch size; `serving_float` takes float32 pixel values in
    [0, 255] instead), `text` (strings), `ids` or `token_ids` (the encoder's
    integer dtype), `features`. A two-tower model adds `embed_pair` (and
    `embed_pair_float` for an image pair tower) for the pair encoder.
    Preprocessing inside the encoders (pixel scaling, tokenisation) is part
    of the graph; inputs of another shape or dtype are refused by the
    signature with a message naming the expected shape.

    The version is written to a hidden staging directory beside the target
    and renamed into place, so a server polling `base_dir` never sees a
    half-written version; a version that another process claimed first is
    never replaced (without `version`, the next free number is taken
    instead). The version directory gets the permissions the process's umask
    gives a new directory, so a server running as another user can read it.

    Args:
        model: A `ContrastiveModel` or one encoder `keras.Model`.
        base_dir: The model's base directory, as given to TF Serving.
        version: A positive integer; by default one more than the highest
            version in `base_dir` (1 for an empty one).
        overwrite: Whether to replace an existing version.

    Returns:
        The path of the version directory written.

    Example:
    >>> export_embedder(model, "serving/fmnist")   # serving/fmnist/1/
    """
    base_dir, version = _check_version(base_dir, version, overwrite)
    archive, _ = _embedding_archive(model)
    return _write_version(archive, base_dir, version, overwrite)


def export_search(
    model: ContrastiveModel | keras.Model,
    base_dir: str | os.PathLike,
    images,
    ids=None,
    k: int = 10,
    version: int | None = None,
    batch_size: int = 256,
    overwrite: bool = False,
    verbose: bool = True,
) -> Path:
    """Writes the encoder with a similarity-search index of `images` inside, in TF Serving's layout.

    One SavedModel, `base_dir/<version>/`, with the signatures of
    `export_embedder` (`serving_default`: uint8 `images` to the L2-normalised
    `embedding`, and the others) plus `search`: uint8 `images` (a batch of
    queries) to `ids`, a `(batch, k)` string tensor of the ids of the `k`
    most similar indexed images, and `scores`, their `(batch, k)` float32
    cosine similarities, highest first (equal scores: the image indexed
    first comes first). The search is exact, over the index rows a block at
    a time (`kc.retrieval.top_k_cosine`), and the index is a pair of
    variables in the SavedModel (its unit embeddings and its ids), so the
    graph holds only core TensorFlow ops and the stock TF Serving binary
    serves it.

    The images are embedded with the model's encoder through its predict
    step, a batch at a time, with a progress bar when `verbose` (see
    `kc.retrieval.embed_with_ids` for the accepted forms: an array, a
    dataset of images, or a dataset of `(image, id)` pairs with `ids=None`).
    A new index is a new version, written and claimed atomically as in
    `export_embedder`: a server polling `base_dir` never sees a partial
    version, and processes exporting at once each get their own number.

    Args:
        model: A `ContrastiveModel` or one encoder `keras.Model`.
        base_dir: The model's base directory, as given to TF Serving.
        images: The images to index: a uint8 `(N, H, W, C)` array, a
            `tf.data.Dataset` of images (batched or not), or a dataset of
            `(image, id)` pairs.
        ids: N distinct strings naming the images, in order; None for a
            dataset of pairs.
        k: Neighbours each query gets, between 1 and N.
        version: A positive integer; by default one more than the highest
            version in `base_dir`.
        batch_size: Images per forward pass while embedding the index.
        overwrite: Whether to replace an existing version.
        verbose: Whether to show a progress bar while embedding.

    Returns:
        The path of the version directory written.

    Raises:
        ValueError: for images the encoder does not take, no images, ids
            that are not one distinct string per image, or a k outside
            [1, N], each naming what was expected; nothing is written then.
        FileExistsError: if `version` exists and `overwrite` is False.

    Example:
    >>> export_search(model, "serving/catalog", images, ids=[f"{i}.png" for i in range(len(images))], k=5)
    """
    base_dir, version = _check_version(base_dir, version, overwrite)
    archive, _ = _search_archive(model, images, ids, k, batch_size, verbose)
    return _write_version(archive, base_dir, version, overwrite)


def export_image_text(
    model: ContrastiveModel,
    base_dir: str | os.PathLike,
    images,
    ids=None,
    k: int = 10,
    version: int | None = None,
    batch_size: int = 256,
    overwrite: bool = False,
    verbose: bool = True,
) -> Path:
    """Writes an image-text model (CLIP) with an index of `images`, searchable by text, in TF Serving's layout.

    The SavedModel holds everything `export_search` writes (`serving_default`
    and `search` for image queries, `embed_pair` for strings) and, named for
    what they do: `embed_image` (uint8 `images` to their unit `embedding`),
    `embed_text` (a batch of strings `text` to theirs) and `search_images`
    (strings `text` to the `(batch, k)` `ids` and `scores` of the most
    similar indexed images). Embeddings are those of the model's `predict`
    and `embed_pair`, normalised: for CLIP, the projections into the space
    images and captions share. Tokenisation is inside the text tower, so
    only core TensorFlow ops run (see `export_search`); versions are
    written atomically as there.

    Args:
        model: A two-tower `ContrastiveModel` of an image encoder and a text
            encoder, e.g. trained by `kc.methods.CLIP`.
        base_dir: The model's base directory, as given to TF Serving.
        images, ids, k, version, batch_size, overwrite, verbose: As in
            `export_search`.

    Returns:
        The path of the version directory written.

    Raises:
        ValueError: if the model's towers are not images then text, and as
            `export_search`.

    Example:
    >>> export_image_text(model, "serving/clipart", images, ids=paths, k=8)
    >>> # TF Serving: POST /v1/models/clipart:predict {"signature_name": "search_images", "inputs": {"text": ["a cat"]}}
    """
    kinds = tuple(tower_input.kind for tower_input in _towers(model).input_pair)
    if not isinstance(model, ContrastiveModel) or kinds != ("images", "text"):
        raise ValueError(
            "export_image_text needs a two-tower ContrastiveModel whose encoder takes images and whose "
            f"pair_encoder takes strings, got towers of {' and '.join(kinds)}; use export_search for image "
            "queries alone."
        )
    base_dir, version = _check_version(base_dir, version, overwrite)
    archive, (image_endpoint, text_endpoint, index) = _search_archive(model, images, ids, k, batch_size, verbose)
    image_spec, text_spec = (_serving_spec(tower_input) for tower_input in model.towers.input_pair)
    archive.add_endpoint("embed_image", image_endpoint, input_signature=[image_spec])
    archive.add_endpoint("embed_text", text_endpoint, input_signature=[text_spec])
    archive.add_endpoint("search_images", index.endpoint(text_endpoint), input_signature=[text_spec])
    return _write_version(archive, base_dir, version, overwrite)


def export_recommender(
    model: ContrastiveModel,
    base_dir: str | os.PathLike,
    item_ids,
    k: int = 100,
    seen: Mapping[str, Iterable[str]] | None = None,
    version: int | None = None,
    batch_size: int = 1024,
    overwrite: bool = False,
    verbose: bool = True,
) -> Path:
    """Writes a two-tower recommender with its item catalogue inside, in TF Serving's layout.

    One SavedModel, `base_dir/<version>/`, with the signatures of
    `export_embedder` (`serving_default`: string user ids, input `text`, to
    their L2-normalised `embedding`; `embed_pair`: the same for item ids)
    plus `recommend`, which takes

    - `user_ids`: a `(batch,)` tf.string tensor of user ids, and
    - `exclude_seen`: a `(batch,)` tf.bool tensor, one flag per user,

    and returns `item_ids`, a `(batch, k)` tf.string tensor of the `k`
    catalogue items most similar to each user, and `scores`, their
    `(batch, k)` float32 cosine similarities, highest first (equal scores:
    the item listed first in `item_ids` comes first). Where
    `exclude_seen[i]` is true, the items user i has in `seen` are never
    returned: the ranking skips them and the next items move up. If fewer
    than `k` items remain unseen, the unseen ones come first and the rest of
    the row is padding, item id `""` with score `-inf`. Users that are not
    in `seen` (ids the user tower never saw included) exclude nothing;
    unknown users are embedded by the user tower's out-of-vocabulary row
    (by the empty history, for a `kc.encoders.user_history_tower`).

    The catalogue is embedded once with the item tower, as `model.embed_pair`
    does (any embedding head of the method included), L2-normalised, and stored
    as variables with the ids (as in `export_search`); the search is exact
    (`kc.retrieval.top_k_cosine`, over the `k` plus the batch's largest
    number of seen items, then the seen ones are dropped). `seen` becomes a
    hash table of its users and a variable of sorted `(user, item)` keys,
    so the graph holds only core TensorFlow ops and the stock TF Serving
    binary serves it. A new catalogue (or new `seen`) is a new version,
    written and claimed atomically as in `export_embedder`.

    Args:
        model: A two-tower `ContrastiveModel` whose encoder (the user tower)
            takes `(batch,)` string user ids and whose pair_encoder (the
            item tower) takes `(batch,)` string item ids, e.g. trained by
            `kc.methods.InBatchSoftmax` on `kc.encoders.id_tower`s, or a
            `kc.encoders.history_tower` trained on histories and served by
            user id through `kc.encoders.user_history_tower`.
        base_dir: The model's base directory, as given to TF Serving.
        item_ids: The catalogue to recommend from: N distinct strings (a
            list or array), none of them `""`.
        k: Items recommended per user, between 1 and N.
        seen: Optional mapping from user id to the item ids that user has
            already interacted with, e.g. `kc.data.seen_items("movielens",
            "train")`; items outside the catalogue are ignored.
        version: A positive integer; by default one more than the highest
            version in `base_dir`.
        batch_size: Items per forward pass while embedding the catalogue.
        overwrite: Whether to replace an existing version.
        verbose: Whether to show a progress bar while embedding.

    Returns:
        The path of the version directory written.

    Raises:
        ValueError: for a model whose towers are not two towers of string
            ids (or whose user tower is a bare `history_tower`), item ids
            that are not distinct non-empty strings, no items, a k outside
            [1, N], a `seen` that is not a mapping from string
            user ids to collections of string item ids, or a batch_size that
            is not a positive integer, each naming what was expected;
            nothing is written then.
        FileExistsError: if `version` exists and `overwrite` is False.

    Example:
    >>> catalogue = kc.data.interaction_catalogue("movielens")
    >>> export_recommender(model, "serving/movies", catalogue.item_ids, k=20,
    ...                    seen=kc.data.seen_items("movielens", "train"))
    >>> # TF Serving: POST /v1/models/movies:predict
    >>> # {"signature_name": "recommend", "instances": [{"user_ids": "1", "exclude_seen": true}]}
    """
    _check_id_towers(model)
    check_takes_user_ids(model, "export_recommender")
    base_dir, version = _check_version(base_dir, version, overwrite)
    items = check_ids(item_ids, None, "item_ids", "items")
    if len(items) == 0:
        raise ValueError("There is nothing to recommend: item_ids is empty; give the catalogue's item ids.")
    if "" in set(items.tolist()):
        raise ValueError('Expected item_ids to be non-empty strings: "" pads the rows of recommend that run out '
                         "of unseen items.")
    k = check_k(k, len(items), "items in the catalogue")
    seen_positions = _seen_positions(seen, {item: position for position, item in enumerate(items.tolist())})
    batch_size = check_positive_int(batch_size, "batch_size")
    index = Index()
    index.add(model.embed_pair(tf.constant(items.tolist(), tf.string), batch_size=batch_size, verbose=verbose), items)
    recommendations = _Recommendations(_SearchIndex(index, k), seen_positions)
    archive, endpoints = _embedding_archive(model)
    archive.track(recommendations.users)
    archive.add_endpoint("recommend", recommendations.endpoint(endpoints[0]), input_signature=[
        tf.TensorSpec((None,), tf.string, name="user_ids"), tf.TensorSpec((None,), tf.bool, name="exclude_seen"),
    ])
    return _write_version(archive, base_dir, version, overwrite)


def _check_id_towers(model) -> None:
    """A ValueError naming what the towers take, unless `model` is two towers of `(batch,)` strings."""
    string_ids = TowerInput(shape=(), dtype="string")
    towers = _towers(model)
    if isinstance(model, ContrastiveModel) and not towers.shared and towers.inputs == (string_ids, string_ids):
        return
    if towers.shared:
        one = "tower" if isinstance(model, ContrastiveModel) else "encoder"
        got = f"one {one} taking {towers.inputs[0].describe()}"
    else:
        got = f"towers taking {towers.inputs[0].describe()} and {towers.inputs[1].describe()}"
    raise ValueError(
        "export_recommender needs a two-tower ContrastiveModel whose encoder (the user tower) takes (batch,) "
        "string user ids and whose pair_encoder (the item tower) takes (batch,) string item ids, e.g. "
        f"kc.encoders.id_tower of each; got {got}."
    )


def _seen_positions(seen, position_of: dict[str, int]) -> dict[str, np.ndarray]:
    """Each user of `seen` with the sorted catalogue positions of their items (users with none left out)."""
    if seen is None:
        return {}
    if not isinstance(seen, Mapping):
        raise ValueError(
            "seen must be a mapping from user id to the item ids that user has seen, e.g. "
            f"kc.data.seen_items('movielens', 'train'), or None; got {type(seen).__name__}."
        )
    positions = {}
    for user, items in seen.items():
        if isinstance(user, bytes):
            user = user.decode("utf-8")
        if not isinstance(user, str):
            raise ValueError(f"seen's keys must be string user ids, as the user tower takes, got "
                             f"{type(user).__name__} ({user!r}).")
        if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
            raise ValueError(f"seen[{user!r}] must be a collection of item id strings, got "
                             f"{type(items).__name__} ({items!r}); put a single item in a list.")
        found = set()
        for item in items:
            if isinstance(item, bytes):
                item = item.decode("utf-8")
            if not isinstance(item, str):
                raise ValueError(f"seen[{user!r}] must hold item id strings, got {type(item).__name__} ({item!r}).")
            if item in position_of:
                found.add(position_of[item])
        if found:
            positions[user] = np.array(sorted(found), np.int64)
    return positions


class _Recommendations:
    """A catalogue's search index and each user's seen items, as state of the SavedModel, and `recommend`.

    The users of `seen` are keys of a hash table giving their row; their
    seen items are the int64 keys `row * N + position`, sorted (a search
    finds whether a candidate is seen), ending with a sentinel above all.
    """

    def __init__(self, index: _SearchIndex, seen: dict[str, np.ndarray]):
        self.index = index
        self.num_items = int(index.rows.shape[0])
        users = sorted(seen)
        self.users = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(users, tf.string), tf.range(len(users), dtype=tf.int64)),
            default_value=-1,
        )
        # One count per user, then 0 for users not in `seen`.
        counts = np.array([len(seen[user]) for user in users] + [0], np.int64)
        self.seen_counts = tf.Variable(counts, trainable=False, name="seen_counts")
        keys = [row * self.num_items + seen[user] for row, user in enumerate(users)]
        keys.append(np.array([np.iinfo(np.int64).max], np.int64))
        self.seen_keys = tf.Variable(np.concatenate(keys), trainable=False, name="seen_keys")

    def endpoint(self, embedding: Callable) -> Callable:
        """A function from `(user_ids, exclude_seen)` to `{"item_ids", "scores"}` (see `export_recommender`)."""
        k, num_items = self.index.k, self.num_items

        def recommend(user_ids, exclude_seen):
            user_ids = tf.ensure_shape(user_ids, (None,))
            exclude_seen = tf.ensure_shape(exclude_seen, (None,))
            user_ids, exclude_seen = after_checks([tf.debugging.assert_equal(
                tf.size(user_ids), tf.size(exclude_seen), message="recommend needs one exclude_seen flag per user id"
            )], user_ids, exclude_seen)
            rows = self.users.lookup(user_ids)
            unknown = tf.cast(tf.shape(self.seen_counts)[0] - 1, tf.int64)
            counts = tf.gather(self.seen_counts, tf.where(rows >= 0, rows, unknown))
            counts = tf.where(exclude_seen, counts, tf.zeros_like(counts))
            # Enough candidates that k remain once a user's seen items are dropped (all items if fewer).
            most_seen = tf.cast(tf.reduce_max(tf.concat([tf.zeros([1], tf.int64), counts], axis=0)), tf.int32)
            depth = tf.minimum(k + most_seen, num_items)
            scores, positions = top_k_cosine(embedding(user_ids)["embedding"], self.index.rows, depth)
            keys = tf.reshape(tf.expand_dims(rows, 1) * num_items + positions, [-1])
            found = tf.gather(self.seen_keys, tf.searchsorted(self.seen_keys, keys, out_type=tf.int64))
            seen = tf.logical_and(tf.reshape(tf.equal(found, keys), tf.shape(positions)), tf.expand_dims(counts > 0, 1))
            # Seen candidates sink to -inf; top_k keeps the others in their order (ties: the earlier item).
            scores, picked = tf.math.top_k(tf.where(seen, float("-inf"), scores), k)
            ids = tf.gather(self.index.ids, tf.gather(positions, picked, batch_dims=1))
            return {"item_ids": tf.where(tf.math.is_inf(scores), "", ids), "scores": scores}

        return recommend


def _search_archive(model, images, ids, k: int, batch_size: int, verbose: bool):
    """The archive of `export_search` (embeddings and `search`), and `(endpoint_a, endpoint_b, index)` to extend it."""
    towers = _towers(model)
    k = check_positive_int(k, "k")
    index = Index()
    index.add(*embed_with_ids(model, images, ids, batch_size=batch_size, verbose=verbose))
    search_index = _SearchIndex(index, check_k(k, len(index), "images in the index"))
    archive, endpoints = _embedding_archive(model)
    archive.add_endpoint("search", search_index.endpoint(endpoints[0]), input_signature=[_serving_spec(towers.inputs[0])])
    return archive, (*pair_of(endpoints), search_index)


def _towers(model: ContrastiveModel | keras.Model) -> Towers:
    return model.towers if isinstance(model, ContrastiveModel) else Towers(model)


def _check_version(base_dir: str | os.PathLike, version: int | None, overwrite: bool) -> tuple[Path, int | None]:
    """`(base_dir, version)` checked before any work: not a file, and a version that is free (or to overwrite)."""
    base_dir = Path(base_dir)
    if base_dir.exists() and not base_dir.is_dir():
        raise ValueError(f"base_dir {base_dir} is a file; TF Serving's base directory must be a directory.")
    if version is not None:
        version = check_positive_int(version, "version")
    if version is not None and (base_dir / str(version)).exists() and not overwrite:
        raise FileExistsError(f"{base_dir / str(version)} exists; pass overwrite=True to replace it.")
    return base_dir, version


def _embedding_archive(model: ContrastiveModel | keras.Model) -> tuple[keras.export.ExportArchive, list[Callable]]:
    """An archive with the embedding signatures of every tower, and each tower's endpoint.

    A tower's embedding is its encoder's, followed by the method's embedding
    head for it where the method has one (`Method.embedding_heads`: CLIP's
    projections), as `ContrastiveModel.call` and `embed_pair` compute it.
    """
    towers = _towers(model)
    heads = model.method.embedding_heads if isinstance(model, ContrastiveModel) else None
    archive = keras.export.ExportArchive()
    names = ("serving_default", "embed_pair")
    endpoints = []
    for side, (encoder, tower_input, name) in enumerate(zip(towers.encoders, towers.inputs, names)):
        archive.track(encoder)
        head = None if heads is None else pair_of(heads)[side]
        if head is not None:
            archive.track(head)
        endpoint = _embedding_endpoint(encoder, head, tower_input)
        archive.add_endpoint(name, endpoint, input_signature=[_serving_spec(tower_input)])
        if tower_input.kind == "images":
            float_name = "serving_float" if name == "serving_default" else f"{name}_float"
            archive.add_endpoint(float_name, endpoint, input_signature=[_serving_spec(tower_input, tf.float32)])
        endpoints.append(endpoint)
    return archive, endpoints


class _SearchIndex:
    """An index's unit embeddings and ids as variables of the SavedModel, searched by any tower's queries."""

    def __init__(self, index: Index, k: int):
        self.rows = tf.Variable(index.embeddings, trainable=False, name="index_embeddings")
        self.ids = tf.Variable(index.ids, dtype=tf.string, trainable=False, name="index_ids")
        self.k = k

    def endpoint(self, embedding: Callable) -> Callable:
        """A function from a batch of queries (embedded by `embedding`) to `{"ids", "scores"}` of their k nearest rows."""

        def search(inputs):
            scores, positions = top_k_cosine(embedding(inputs)["embedding"], self.rows, self.k)
            return {"ids": tf.gather(self.ids, positions), "scores": scores}

        return search


def _write_version(archive: keras.export.ExportArchive, base_dir: Path, version: int | None, overwrite: bool) -> Path:
    """Writes `archive` as a new version of `base_dir` (see `kc.serving_versions.write_version`)."""
    return write_version(lambda path: archive.write_out(path, verbose=False), base_dir, version, overwrite)
