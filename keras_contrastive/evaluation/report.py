"""Compares a trained encoder with a random-init one and with the raw input (pixels, TF-IDF)."""

from __future__ import annotations

import keras
import numpy as np

from keras_contrastive.encoders.whitened import fit_whitening
from keras_contrastive.evaluation.embed import embed_labelled
from keras_contrastive.evaluation.knn import knn_accuracy
from keras_contrastive.evaluation.linear_probe import linear_probe_accuracy
from keras_contrastive.evaluation.raw_baselines import RAW_BASELINES
from keras_contrastive.layers.whitening import Whitening, whiten_alike
from keras_contrastive.tower_input import TowerInput


def compare_with_baselines(
    encoder: keras.Model,
    train,
    test,
    k: int = 200,
    temperature: float = 0.1,
    probe_epochs: int = 30,
    seed: int = 0,
    verbose: bool = False,
) -> dict[str, dict[str, float]]:
    """kNN and linear-probe accuracy of `encoder`, a fresh copy of it, and the raw input.

    The random-init baseline is `encoder`'s architecture with new weights
    (rebuilt from its config), so any gain over it is what training learned.
    The raw input is raw pixels for image encoders and TF-IDF (its
    vocabulary learned from the training texts) for text encoders. An
    encoder that ends in a `kc.layers.Whitening` (`kc.encoders.whitened`)
    has its baselines whitened alike, each fitted to its own training
    features, so the readout is no part of the gain.
    The examples are streamed through each encoder; only the features are
    held in memory.

    Args:
        encoder: The trained encoder.
        train: The kNN index and probe training set: a `tf.data.Dataset` of
            `(example, label)` pairs or a tuple `(examples, labels)`.
        test: The examples they are scored on, in the same forms.
        k: kNN neighbours (capped at the training set size).
        temperature: kNN vote temperature.
        probe_epochs: Epochs of the linear probe.
        seed: Seed of the random-init encoder and of the probe.
        verbose: Whether to show progress bars while embedding, one per
            encoder and split.

    Returns:
        `{"trained": {...}, "random_init": {...}, "raw_pixels" | "tfidf": {...}}`
        (no raw baseline for other inputs than images and text), each with
        "knn_accuracy" and "linear_probe_accuracy".

    Example:
    >>> compare_with_baselines(model.encoder, kc.data.load("digits", "train"), kc.data.load("digits", "test"))
    """
    keras.utils.set_random_seed(seed)
    random_init = keras.Model.from_config(encoder.get_config())
    whitening = encoder.layers[-1] if encoder.layers and isinstance(encoder.layers[-1], Whitening) else None
    if whitening is not None:
        fit_whitening(random_init, train[0] if isinstance(train, (tuple, list)) else train)
    featurizers = {"trained": encoder, "random_init": random_init}
    kind = TowerInput.of(encoder).kind
    if kind in RAW_BASELINES:
        name, make_featurizer = RAW_BASELINES[kind]
        featurizers[name] = make_featurizer(train)
    results = {}
    for name, featurize in featurizers.items():
        if verbose:
            print(f"{name}: the training examples, then the test examples", flush=True)
        train_features, train_labels = embed_labelled(featurize, train, verbose=verbose)
        test_features, test_labels = embed_labelled(featurize, test, verbose=verbose)
        if whitening is not None and not isinstance(featurize, keras.Model):  # the raw input, whitened alike
            train_features, test_features = whiten_alike(train_features, test_features, epsilon=whitening.epsilon)
        results[name] = score_features(
            (train_features, train_labels), (test_features, test_labels),
            k=min(k, len(train_features)), temperature=temperature, probe_epochs=probe_epochs, seed=seed,
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

