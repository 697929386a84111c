"""TF-IDF features of texts: the no-learning baseline a text encoder must beat."""

from __future__ import annotations

from typing import Iterable

import numpy as np


class TfidfFeatures:
    """Texts as L2-normalised TF-IDF vectors over a vocabulary learned from a training corpus (scikit-learn).

    It stands beside every text figure as raw pixels stand beside image
    figures: what a kNN or linear probe gets with no representation learning.
    Words only (sublinear term frequency, the `max_features` most frequent
    words of the corpus, ASCII and Unicode letters alike).

    Args:
        texts: The training corpus the vocabulary and IDF weights come from.
        max_features: The vocabulary size; the features are dense `(N, max_features)` float32.

    Example:
    >>> tfidf = TfidfFeatures(train_texts)
    >>> features = tfidf(["a sentence", "another one"])   # (2, V) float32
    """

    def __init__(self, texts: Iterable[str], max_features: int = 8192):
        from sklearn.feature_extraction.text import TfidfVectorizer

        corpus = [_text(t) for t in texts]
        if not corpus:
            raise ValueError("TfidfFeatures needs a non-empty training corpus of strings.")
        self.vectorizer = TfidfVectorizer(max_features=max_features, sublinear_tf=True, dtype=np.float32)
        self.vectorizer.fit(corpus)

    def __call__(self, texts) -> np.ndarray:
        """`(N, V)` float32 TF-IDF rows of `texts` (strings or bytes; a tensor of strings too)."""
        texts = texts.numpy() if hasattr(texts, "numpy") else texts
        return self.vectorizer.transform([_text(t) for t in np.ravel(texts)]).toarray()


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
