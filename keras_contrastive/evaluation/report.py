"""Compares a trained encoder with a random-init one and with raw pixels."""

from __future__ import annotations

import keras
import numpy as np

from keras_contrastive.evaluation.embed import embed
from keras_contrastive.evaluation.knn import knn_accuracy
from keras_contrastive.evaluation.linear_probe import linear_probe_accuracy


def compare_with_baselines(
    encoder: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    k: int = 200,
    temperature: float = 0.1,
    probe_epochs: int = 30,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """kNN and linear-probe accuracy of `encoder`, a fresh copy of it, and raw pixels.

    The random-init baseline is `encoder`'s architecture with new weights
    (cloned from its config), so any gain over it is what training learned.

    Args:
        encoder: The trained encoder.
        train: `(images, labels)` the kNN index and probe are fitted on.
        test: `(images, labels)` they are scored on.
        k: kNN neighbours (capped at the training set size).
        temperature: kNN vote temperature.
        probe_epochs: Epochs of the linear probe.
        seed: Seed of the random-init encoder and of the probe.

    Returns:
        `{"trained": {...}, "random_init": {...}, "raw_pixels": {...}}`, each
        with "knn_accuracy" and "linear_probe_accuracy".
    """
    keras.utils.set_random_seed(seed)
    random_init = keras.Model.from_config(encoder.get_config())
    k = min(k, len(train[0]))
    results = {}
    for name, features in (
        ("trained", lambda x: embed(encoder, x)),
        ("random_init", lambda x: embed(random_init, x)),
        ("raw_pixels", lambda x: np.asarray(x, np.float32).reshape(len(x), -1) / 255.0),
    ):
        results[name] = score_features(
            (features(train[0]), train[1]), (features(test[0]), test[1]),
            k=k, temperature=temperature, probe_epochs=probe_epochs, seed=seed,
        )
    return results


def score_features(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    k: int = 200,
    temperature: float = 0.1,
    probe_epochs: int = 30,
    seed: int = 0,
) -> dict[str, float]:
    """kNN and linear-probe test accuracy of fixed features.

    Args:
        train: `(features, labels)` the kNN index and the probe are fitted on.
        test: `(features, labels)` they are scored on.
        k, temperature: The kNN protocol's neighbours and vote temperature.
        probe_epochs: Epochs of the linear probe.
        seed: Seed of the probe.

    Returns:
        `{"knn_accuracy": ..., "linear_probe_accuracy": ...}`.

    Example:
    >>> score_features((embed(encoder, x_train), y_train), (embed(encoder, x_test), y_test))
    """
    return {
        "knn_accuracy": knn_accuracy(*train, *test, k=k, temperature=temperature),
        "linear_probe_accuracy": linear_probe_accuracy(
            *train, *test, epochs=probe_epochs, seed=seed
        ),
    }
