"""A text encoder judged on the real text tasks these machines hold, beside its random init and TF-IDF."""

from __future__ import annotations

from typing import Callable, Sequence

import keras
import numpy as np

from keras_contrastive.evaluation.answer_recall import answer_recall
from keras_contrastive.evaluation.embed import embed, embed_labelled
from keras_contrastive.evaluation.report import score_features
from keras_contrastive.evaluation.tfidf import TfidfFeatures
from keras_contrastive.evaluation.word_similarity import word_similarity_correlation

#: The tasks of `text_report`, each on data that installs from Debian or PyPI (see `kc.data.load_text`).
TEXT_TASKS = ("reverse_dictionary", "food_reviews", "simlex999", "wordsim353")


def text_report(
    encoder: keras.Model,
    training_texts: Sequence,
    tasks: Sequence[str] = TEXT_TASKS,
    k: int = 20,
    seed: int = 0,
    verbose: bool = False,
) -> dict[str, dict]:
    """Each task's figures for `encoder`, a random-init copy of it, and TF-IDF.

    - "reverse_dictionary": each held-out WordNet gloss retrieves its words
      among all words of the held-out synsets (Recall@1, Recall@10).
    - "food_reviews": kNN (`k`, T=0.1) and linear-probe accuracy on the
      1,000 test reviews, the 4,000 training reviews as index and probe set.
    - "simlex999", "wordsim353": Spearman's rho of cosine with human scores
      (None for TF-IDF, which scores any two different words 0).

    The random init is `encoder`'s architecture with new weights (from its
    config, which holds the tokenizer's vocabulary); TF-IDF's vocabulary is
    learned from `training_texts`, what the encoder trained on.

    Args:
        encoder: A text encoder: `(batch,)` strings to `(batch, dim)`.
        training_texts: The texts the encoder was trained on.
        tasks: A subset of `TEXT_TASKS`.
        k: kNN neighbours.
        seed: Seed of the random-init copy and of the probe.
        verbose: Print each task as it starts.

    Returns:
        `{task: {"trained": {...}, "random_init": {...}, "tfidf": {...}}}`; a
        task whose data is not installed is `{"skipped": reason}`.

    Raises:
        ValueError: for an unknown task.

    Example:
    >>> text_report(model.encoder, corpus, tasks=("reverse_dictionary",))
    """
    from keras_contrastive.data.load_text import load_text
    from keras_contrastive.data.wordnet import wordnet_reverse_dictionary

    unknown = sorted(set(tasks) - set(TEXT_TASKS))
    if unknown:
        raise ValueError(f"Unknown text task(s) {unknown}; choose from {list(TEXT_TASKS)}.")
    keras.utils.set_random_seed(seed)
    featurizers: dict[str, Callable] = {
        "trained": _strings_to_embeddings(encoder),
        "random_init": _strings_to_embeddings(keras.Model.from_config(encoder.get_config())),
        "tfidf": TfidfFeatures(training_texts),
    }
    report = {}
    for task in tasks:
        if verbose:
            print(f"evaluating: {task} ...", flush=True)
        try:
            if task == "reverse_dictionary":
                book = wordnet_reverse_dictionary("test")
                report[task] = {name: answer_recall(f(book.queries), f(book.candidates), book.answers, k=(1, 10))
                                for name, f in featurizers.items()}
            elif task == "food_reviews":
                train, test = load_text(task, "train"), load_text(task, "test")
                report[task] = {name: score_features(embed_labelled(f, train), embed_labelled(f, test),
                                                     k=k, seed=seed)
                                for name, f in featurizers.items()}
            else:
                pairs = load_text(task, "test")
                report[task] = {name: {"spearman": _finite_or_none(word_similarity_correlation(f, pairs))}
                                for name, f in featurizers.items()}
        except (ImportError, FileNotFoundError) as error:
            report[task] = {"skipped": str(error)}
    return report


def _strings_to_embeddings(encoder: keras.Model) -> Callable:
    """A function from strings (a list, array or tensor) to the encoder's float32 embeddings."""
    return lambda texts: embed(encoder, np.asarray(texts.numpy() if hasattr(texts, "numpy") else texts, object))


def _finite_or_none(value: float) -> float | None:
    return None if np.isnan(value) else value
