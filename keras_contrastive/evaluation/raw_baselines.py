"""The no-learning baseline of each kind of input: raw pixels for images, TF-IDF for texts."""

from __future__ import annotations

from typing import Callable

import numpy as np

from keras_contrastive.evaluation.tfidf import TfidfFeatures


def raw_pixels(images) -> np.ndarray:
    """Images flattened and scaled to [0, 1]: `(N, H * W * C)` float32."""
    return np.asarray(images, np.float32).reshape(len(images), -1) / 255.0


def tfidf_of(train) -> TfidfFeatures:
    """TF-IDF features whose vocabulary is learned from the texts of `train`.

    Args:
        train: Labelled texts: a `tf.data.Dataset` of `(text, label)`
            (batched or not) or a tuple `(texts, labels)`.
    """
    if isinstance(train, (tuple, list)):
        return TfidfFeatures(np.ravel(train[0]))
    if train.element_spec[1].shape.rank == 0:
        train = train.batch(1024)
    return TfidfFeatures(text for texts, _ in train.as_numpy_iterator() for text in np.ravel(texts))


#: For each input kind (`kc.TowerInput.kind`): the baseline's name in reports, and a function from the labelled
#: training data to the featurizer (read only where the baseline learns from it).
RAW_BASELINES: dict[str, tuple[str, Callable]] = {
    "images": ("raw_pixels", lambda train: raw_pixels),
    "text": ("tfidf", tfidf_of),
}
