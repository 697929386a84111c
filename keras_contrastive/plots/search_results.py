"""What a similarity search answered, drawn: each query, then the images of its results."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from keras_contrastive.plots.image_rows import QUERY_FRAME, plot_image_rows

_RESULT_FRAME = "tab:gray"


def plot_search_results(
    query_images,
    query_titles: Sequence[str],
    result_images,
    result_ids,
    result_scores,
    path: str | os.PathLike,
    cell_size: int = 96,
) -> None:
    """Writes a PNG with one row per query: the query, then its results titled by id and score.

    Unlike `plot_retrieval_grid`, which ranks a labelled gallery itself, this
    draws the answer of a search (e.g. `kc.retrieval.ServedSearch`), whose
    results carry no labels.

    Args:
        query_images: `(Q, H, W, C)` raw images in [0, 255] (C is 1 or 3), or
            Q strings for text queries (an image-text search's), drawn as text.
        query_titles: Q titles, e.g. the queries' file names.
        result_images: `(Q, k, H', W', C)` images of the results, in rank order.
        result_ids: `(Q, k)` their ids (a path shows its file name, a long one its end).
        result_scores: `(Q, k)` their similarities.
        path: The PNG file to write.
        cell_size: Width of one cell in pixels.

    Example:
    >>> ids, scores = ServedSearch("serving/search/1")(queries)
    >>> plot_search_results(queries, ["cat.png"], images_of(ids), ids, scores, "out/search.png")
    """
    texts = all(isinstance(query, str) for query in query_images)
    query_images = list(query_images) if texts else np.asarray(query_images)
    result_images = np.asarray(result_images)
    result_ids, result_scores = np.asarray(result_ids), np.asarray(result_scores)
    count = len(query_images)
    if not (len(query_titles) == len(result_images) == len(result_ids) == len(result_scores) == count):
        raise ValueError(
            f"Got {count} queries, {len(query_titles)} titles and results for {len(result_images)} "
            "queries; give one of each per query."
        )
    if result_images.shape[:2] != result_ids.shape or result_ids.shape != result_scores.shape:
        raise ValueError(
            f"Expected result images (Q, k, H, W, C) with ids and scores (Q, k), got {result_images.shape}, "
            f"{result_ids.shape} and {result_scores.shape}."
        )
    rows = []
    for query in range(count):
        cells = [(query_images[query], _short(str(query_titles[query]), 14), QUERY_FRAME)]
        for image, found, score in zip(result_images[query], result_ids[query], result_scores[query]):
            cells.append((image, f"{score:.2f} {_short(str(found).rsplit('/', 1)[-1], 9)}", _RESULT_FRAME))
        rows.append(cells)
    plot_image_rows(rows, path, cell_size)


def _short(text: str, length: int) -> str:
    return text if len(text) <= length else "…" + text[-(length - 1):]
