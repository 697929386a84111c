"""A nearest-neighbour retrieval grid: each query image, then its top-k neighbours."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from keras_contrastive.plots.image_rows import QUERY_FRAME, plot_image_rows

_CORRECT_FRAME = "tab:green"
_WRONG_FRAME = "tab:red"


def plot_retrieval_grid(
    query_images,
    query_labels,
    query_embeddings,
    gallery_images,
    gallery_labels,
    gallery_embeddings,
    path: str | os.PathLike,
    k: int = 8,
    class_names: Sequence[str] | None = None,
    cell_size: int = 96,
) -> np.ndarray:
    """Writes a PNG with one row per query: the query, then its `k` nearest gallery images.

    Neighbours are ranked by cosine similarity of the embeddings, most
    similar first. The query has a blue frame and a bold title; a neighbour
    of the query's label a green frame, any other a red one. Each cell is
    titled with its label (and, for neighbours, the similarity).

    Args:
        query_images: `(Q, H, W, C)` raw images in [0, 255] (C is 1 or 3).
        query_labels: `(Q,)` integer labels.
        query_embeddings: `(Q, D)` embeddings of the queries.
        gallery_images: `(N, H, W, C)` images searched.
        gallery_labels: `(N,)` labels.
        gallery_embeddings: `(N, D)` embeddings.
        path: The PNG file to write.
        k: Neighbours per query, at most N.
        class_names: Optional names of the labels for the titles.
        cell_size: Width of one cell in pixels; its height adds a title line.

    Returns:
        `(Q, k)` gallery indices of the neighbours drawn, row by row, left to right.

    Example:
    >>> plot_retrieval_grid(x_test[:6], y_test[:6], embed(encoder, x_test[:6]),
    ...                     x_train, y_train, embed(encoder, x_train), "out/retrieval.png")
    """
    query_images, gallery_images = np.asarray(query_images), np.asarray(gallery_images)
    query_labels = np.asarray(query_labels).reshape(-1)
    gallery_labels = np.asarray(gallery_labels).reshape(-1)
    queries = np.asarray(query_embeddings, np.float64)
    gallery = np.asarray(gallery_embeddings, np.float64)
    for name, images, labels, embeddings in (
        ("query", query_images, query_labels, queries),
        ("gallery", gallery_images, gallery_labels, gallery),
    ):
        if images.ndim != 4 or images.shape[-1] not in (1, 3) or embeddings.ndim != 2:
            raise ValueError(
                f"Expected {name} images (N, H, W, 1 or 3) and embeddings (N, D), got "
                f"{images.shape} and {embeddings.shape}."
            )
        if not len(images) == len(labels) == len(embeddings):
            raise ValueError(
                f"Got {len(images)} {name} images, {len(labels)} labels and {len(embeddings)} "
                "embeddings; the counts must match."
            )
    if queries.shape[1] != gallery.shape[1]:
        raise ValueError(f"Query and gallery embeddings differ in width: {queries.shape[1]} and {gallery.shape[1]}.")
    if not 1 <= k <= len(gallery):
        raise ValueError(f"k must be between 1 and the {len(gallery)} gallery images, got {k}.")

    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    gallery = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    similarity = queries @ gallery.T
    neighbours = np.argsort(-similarity, axis=1, kind="stable")[:, :k]

    name = (lambda label: class_names[label]) if class_names is not None else str
    rows = []
    for row in range(len(queries)):
        cells = [(query_images[row], str(name(query_labels[row])), QUERY_FRAME)]
        for index in neighbours[row]:
            correct = gallery_labels[index] == query_labels[row]
            cells.append((
                gallery_images[index],
                f"{name(gallery_labels[index])} {similarity[row, index]:.2f}",
                _CORRECT_FRAME if correct else _WRONG_FRAME,
            ))
        rows.append(cells)
    plot_image_rows(rows, path, cell_size)
    return neighbours
