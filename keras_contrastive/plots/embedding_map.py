"""A 2-D t-SNE map of embeddings, coloured by label."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from keras_contrastive.plots._figure import new_figure, save_png


def plot_embedding_map(
    embeddings,
    labels,
    path: str | os.PathLike,
    class_names: Sequence[str] | None = None,
    max_points: int = 2000,
    perplexity: float = 30.0,
    size: tuple[int, int] = (800, 800),
    seed: int = 0,
) -> Path:
    """Writes a t-SNE map (scikit-learn, cosine distance) of embeddings as a PNG.

    Points are coloured by label, so classes the embedding separates show as
    separate islands. At most `max_points` embeddings, drawn at random, are
    mapped: t-SNE's time grows quickly with the number of points (2000 take
    about 15 s).

    Args:
        embeddings: `(N, D)` embeddings, e.g. of the test images.
        labels: `(N,)` integer labels.
        path: The PNG file to write.
        class_names: Optional names of the labels for the legend.
        max_points: Largest number of points mapped.
        perplexity: t-SNE perplexity (lowered for very few points).
        size: `(width, height)` of the image in pixels.
        seed: Seed of the sample and of t-SNE.

    Returns:
        `path`.

    Example:
    >>> plot_embedding_map(embed(model.encoder, x_test), y_test, "out/embedding_map.png")
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    embeddings = np.asarray(embeddings, np.float32)
    labels = np.asarray(labels).reshape(-1)
    if embeddings.ndim != 2 or len(embeddings) != len(labels):
        raise ValueError(
            f"Expected (N, D) embeddings and N labels, got {embeddings.shape} and {len(labels)} labels."
        )
    if len(embeddings) < 5:
        raise ValueError(f"A t-SNE map needs at least 5 embeddings, got {len(embeddings)}.")
    rng = np.random.default_rng(seed)
    if len(embeddings) > max_points:
        chosen = np.sort(rng.choice(len(embeddings), max_points, replace=False))
        embeddings, labels = embeddings[chosen], labels[chosen]
    # One OpenMP thread: on a busy 2-core machine t-SNE of 2000 points took 16 s on one
    # thread and 95 s on two (spinning threads wait for each other).
    with threadpool_limits(1, user_api="openmp"):
        points = TSNE(
            n_components=2, metric="cosine", init="pca", random_state=seed,
            perplexity=min(perplexity, (len(embeddings) - 1) / 3),
        ).fit_transform(embeddings)

    figure = new_figure(*size)
    axes = figure.add_axes((0.03, 0.03, 0.75, 0.91))
    classes = np.unique(labels)
    palette = _palette(len(classes))
    for colour, label in zip(palette, classes):
        name = class_names[label] if class_names is not None else str(label)
        mask = labels == label
        axes.scatter(points[mask, 0], points[mask, 1], s=6, color=colour, label=name, linewidths=0)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(f"t-SNE of {len(embeddings)} embeddings")
    axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), markerscale=3, frameon=False)
    return save_png(figure, path)


def _palette(count: int) -> list:
    from matplotlib import colormaps

    name = "tab10" if count <= 10 else "tab20" if count <= 20 else "turbo"
    colormap = colormaps[name]
    if name == "turbo":
        return [colormap(i / max(count - 1, 1)) for i in range(count)]
    return [colormap(i) for i in range(count)]
