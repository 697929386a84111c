"""Text-to-image search drawn: each text query, then the images nearest to it in a two-tower model's joint space."""

from __future__ import annotations

import os
import textwrap
from typing import Sequence

import numpy as np

from keras_contrastive.plots._figure import new_figure, save_png
from keras_contrastive.plots.image_rows import QUERY_FRAME, _show

_MATCH_FRAME = "tab:green"
_OTHER_FRAME = "tab:gray"
_TITLE_HEIGHT = 18
_MARGIN = 4


def plot_text_query_grid(
    queries: Sequence[str],
    query_embeddings,
    gallery_images,
    gallery_embeddings,
    path: str | os.PathLike,
    gallery_captions: Sequence[str] | None = None,
    k: int = 6,
    cell_size: int = 96,
) -> np.ndarray:
    """Writes a PNG with one row per text query: the query's text, then its `k` nearest gallery images.

    Images are ranked by cosine similarity of the embeddings (e.g.
    `model.embed_pair(queries)` and `model.predict(images)` of a CLIP
    model), most similar first, the lower index first among equals. The
    query's cell holds its text, wrapped, in a blue frame. Each image is
    titled with its similarity and, given `gallery_captions`, its caption
    (shortened); an image whose caption is the query's text has a green
    frame, any other a grey one.

    Args:
        queries: Q query texts (strings or UTF-8 bytes).
        query_embeddings: `(Q, D)` embeddings of the queries.
        gallery_images: `(N, H, W, C)` raw images in [0, 255] (C is 1 or 3).
        gallery_embeddings: `(N, D)` embeddings of the images.
        path: The PNG file to write.
        gallery_captions: Optional N captions of the images, for the titles
            and frames.
        k: Images per query, between 1 and N.
        cell_size: Width of one cell in pixels; its height adds a title line.

    Returns:
        `(Q, k)` gallery indices of the images drawn, row by row, left to right.

    Raises:
        ValueError: for counts that do not match, embeddings that are not
            `(n, D)` of one width, images that are not `(N, H, W, 1 or 3)`,
            or a k out of range.

    Example:
    >>> texts = ["red heart", "flag: Japan"]
    >>> plot_text_query_grid(texts, model.embed_pair(np.array(texts)), test_images, model.predict(test_images),
    ...                      "out/text_queries.png", gallery_captions=test.captions)
    """
    texts = [_text(query) for query in queries]
    images = np.asarray(gallery_images)
    queries_z = np.asarray(query_embeddings, np.float64)
    gallery_z = np.asarray(gallery_embeddings, np.float64)
    if queries_z.ndim != 2 or gallery_z.ndim != 2 or queries_z.shape[1] != gallery_z.shape[1]:
        raise ValueError(
            f"Expected (Q, D) query and (N, D) gallery embeddings of one width, got {queries_z.shape} and "
            f"{gallery_z.shape}."
        )
    if len(texts) != len(queries_z) or not texts:
        raise ValueError(
            f"Got {len(texts)} queries and {len(queries_z)} query embeddings; give one of each, at least one."
        )
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"Expected gallery images (N, H, W, 1 or 3), got shape {images.shape}.")
    captions = None if gallery_captions is None else [_text(caption) for caption in gallery_captions]
    if len(images) != len(gallery_z) or (captions is not None and len(captions) != len(images)):
        raise ValueError(
            f"Got {len(images)} gallery images, {len(gallery_z)} embeddings"
            f"{'' if captions is None else f' and {len(captions)} captions'}; the counts must match."
        )
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(images):
        raise ValueError(f"k must be an integer between 1 and the {len(images)} gallery images, got {k!r}.")

    unit = lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # noqa: E731
    similarity = unit(queries_z) @ unit(gallery_z).T
    neighbours = np.argsort(-similarity, axis=1, kind="stable")[:, :k]

    width, height = cell_size * (k + 1), (cell_size + _TITLE_HEIGHT) * len(texts)
    figure = new_figure(width, height)
    for row, text in enumerate(texts):
        bottom = ((len(texts) - 1 - row) * (cell_size + _TITLE_HEIGHT) + _MARGIN) / height
        box = ((cell_size - 2 * _MARGIN) / width, (cell_size - 2 * _MARGIN) / height)
        axes = figure.add_axes((_MARGIN / width, bottom, *box))
        axes.text(0.5, 0.5, "\n".join(textwrap.wrap(text, 14, max_lines=5, placeholder="…")), ha="center",
                  va="center", fontsize=8, fontweight="bold", transform=axes.transAxes)
        axes.set_title("query", fontsize=8, pad=3)
        _frame(axes, QUERY_FRAME)
        for column, index in enumerate(neighbours[row], start=1):
            axes = figure.add_axes(((column * cell_size + _MARGIN) / width, bottom, *box))
            _show(axes, images[index])
            title = f"{similarity[row, index]:.2f}"
            if captions is not None:
                title += f" {_short(captions[index], 10)}"
            axes.set_title(title, fontsize=7, pad=3)
            _frame(axes, _MATCH_FRAME if captions is not None and captions[index] == text else _OTHER_FRAME)
    save_png(figure, path)
    return neighbours


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if not isinstance(value, str):
        raise ValueError(f"Expected texts (strings or UTF-8 bytes), got {type(value).__name__} ({value!r}).")
    return value


def _short(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _frame(axes, colour: str) -> None:
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_color(colour)
        spine.set_linewidth(3)

