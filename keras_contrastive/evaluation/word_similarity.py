"""Spearman correlation of embedding cosines with human similarity scores of word pairs (SimLex-999, WordSim-353)."""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.evaluation.embed import embed


def word_similarity_correlation(featurize: keras.Model | Callable, pairs) -> float:
    """Spearman's rank correlation between the cosine of each pair's embeddings and its human score.

    Args:
        featurize: A text encoder (run in inference mode) or a function from
            a batch of strings to a `(batch, dim)` array (e.g. `TfidfFeatures`).
        pairs: A `tf.data.Dataset` of `(word_a, word_b, score)` (as
            `kc.data.load_text("simlex999", "test")`) or a tuple of three arrays.

    Returns:
        Spearman's rho in [-1, 1]; NaN where every cosine is the same (as for
        TF-IDF, which scores any two different words 0).

    Example:
    >>> word_similarity_correlation(model.encoder, kc.data.load_text("simlex999", "test"))
    """
    from scipy.stats import spearmanr

    if isinstance(pairs, tf.data.Dataset):
        columns = [np.concatenate(c) for c in zip(*pairs.batch(4096).as_numpy_iterator())]
    else:
        columns = [np.asarray(c) for c in pairs]
    if len(columns) != 3 or len(columns[0]) < 2:
        raise ValueError("Expected word pairs with scores: (word_a, word_b, score), at least 2 of them.")
    words_a, words_b, scores = columns
    if isinstance(featurize, keras.Model):
        a, b = embed(featurize, words_a), embed(featurize, words_b)
    else:
        a, b = np.asarray(featurize(words_a), np.float32), np.asarray(featurize(words_b), np.float32)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cosines = np.sum(a * b, axis=1) / np.maximum(norms, 1e-12)
    if np.ptp(cosines) == 0:
        return float("nan")
    return float(spearmanr(cosines, scores.astype(np.float64)).statistic)
