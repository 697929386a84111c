"""The evaluation report: kNN, linear probe, representation health and plots, written to a directory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Sequence

import keras
import numpy as np

from keras_contrastive.evaluation.alignment import alignment
from keras_contrastive.evaluation.effective_rank import effective_rank
from keras_contrastive.evaluation.embed import embed
from keras_contrastive.evaluation.embedding_std import embedding_std
from keras_contrastive.evaluation.labelled_arrays import labelled_arrays
from keras_contrastive.evaluation.report import score_features
from keras_contrastive.evaluation.training_history import load_training_history
from keras_contrastive.evaluation.uniformity import uniformity
from keras_contrastive.plots import plot_embedding_map, plot_retrieval_grid, plot_training_curves


def write_evaluation_report(
    model: keras.Model,
    train_data,
    test_data,
    out_dir: str | os.PathLike,
    k: int = 200,
    temperature: float | None = 0.1,
    probe_epochs: int = 30,
    augment: Callable | None = None,
    history_file: str | os.PathLike | None = None,
    class_names: Sequence[str] | None = None,
    health_sample: int = 2000,
    map_points: int = 2000,
    seed: int = 0,
    metadata: dict | None = None,
) -> dict:
    """Scores an encoder and draws it: writes `report.json` and PNGs to `out_dir`.

    The encoder embeds the training and test images once; the report holds
    the weighted kNN accuracy and the linear-probe accuracy on the test
    images, and the representation health of up to `health_sample` test
    embeddings: uniformity, `embedding_std`, effective rank and, with
    `augment`, alignment between the embeddings of two augmented views. The
    plots are `embedding_map.png` (t-SNE of test embeddings),
    `retrieval_grid.png` (the first test image of each class and its nearest
    training images) and, given a history file, `training_curves.png`.

    Args:
        model: A `ContrastiveModel` (its encoder is used) or an encoder.
        train_data: The kNN index and probe training set: a `tf.data.Dataset`
            of `(image, label)` or a tuple `(images, labels)`.
        test_data: The images scored, in the same forms.
        out_dir: Directory for `report.json` and the PNGs.
        k: kNN neighbours.
        temperature: kNN vote temperature, or None for a majority vote.
        probe_epochs: Epochs of the linear probe.
        augment: Optional view augmentation for the alignment, e.g.
            `kc.augment.simclr(28, channels=1)`.
        history_file: Optional JSON from `save_training_history`.
        class_names: Optional label names for the plots.
        health_sample: Test embeddings used for the health metrics.
        map_points: Test embeddings drawn in the t-SNE map.
        seed: Seed of the probe, the samples and t-SNE.
        metadata: Entries put first in the report, e.g. the model's path.

    Returns:
        The report written to `out_dir/report.json`.

    Example:
    >>> write_evaluation_report(kc.load_model("runs/fm/model.keras"),
    ...                         kc.data.load("fashion_mnist", "train"),
    ...                         kc.data.load("fashion_mnist", "test"), "runs/fm/eval")
    """
    encoder = getattr(model, "encoder", model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_images, train_labels = labelled_arrays(train_data)
    test_images, test_labels = labelled_arrays(test_data)
    if not 1 <= k <= len(train_images):
        raise ValueError(f"k must be between 1 and the {len(train_images)} training images, got {k}.")
    train_embeddings = embed(encoder, train_images)
    test_embeddings = embed(encoder, test_images)

    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(test_images), min(health_sample, len(test_images)), replace=False))
    health = {
        "uniformity": float(uniformity(test_embeddings[sample])),
        "embedding_std": float(embedding_std(test_embeddings[sample])),
        "embedding_std_if_spread": float(1 / np.sqrt(test_embeddings.shape[1])),
        "effective_rank": float(effective_rank(test_embeddings[sample])),
        "embedding_dim": int(test_embeddings.shape[1]),
    }
    if augment is not None:
        images = test_images[sample]
        health["alignment"] = float(alignment(embed(encoder, augment(images)), embed(encoder, augment(images))))

    queries = [int(np.flatnonzero(test_labels == label)[0]) for label in np.unique(test_labels)[:10]]
    retrieval = min(8, len(train_images))
    plot_retrieval_grid(
        test_images[queries], test_labels[queries], test_embeddings[queries],
        train_images, train_labels, train_embeddings, out / "retrieval_grid.png", k=retrieval,
        class_names=class_names,
    )
    plots = {"retrieval_grid": "retrieval_grid.png"}
    plot_embedding_map(test_embeddings, test_labels, out / "embedding_map.png", class_names=class_names,
                       max_points=map_points, seed=seed)
    plots["embedding_map"] = "embedding_map.png"
    if history_file is not None:
        metrics, epochs = load_training_history(history_file)
        plot_training_curves(metrics, out / "training_curves.png", epochs=epochs)
        plots["training_curves"] = "training_curves.png"

    scores = score_features((train_embeddings, train_labels), (test_embeddings, test_labels),
                            k=k, temperature=temperature, probe_epochs=probe_epochs, seed=seed)
    report = {
        **(metadata or {}),
        "train_images": int(len(train_images)),
        "test_images": int(len(test_images)),
        "knn": {
            "k": int(k),
            "temperature": temperature,
            "accuracy": scores["knn_accuracy"],
        },
        "linear_probe": {
            "epochs": int(probe_epochs),
            "accuracy": scores["linear_probe_accuracy"],
        },
        "health": health,
        "plots": plots,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report
