"""Rows of framed, titled image cells in one PNG: the drawing under the retrieval plots."""

from __future__ import annotations

import os
import textwrap
from typing import Sequence

import numpy as np

from keras_contrastive.plots._figure import new_figure, save_png

#: The frame of a query cell (bold title); neighbours get their own colour.
QUERY_FRAME = "tab:blue"


def plot_image_rows(
    rows: Sequence[Sequence[tuple[np.ndarray | str, str, str]]], path: str | os.PathLike, cell_size: int = 96
) -> None:
    """Writes a PNG of `rows`, each a sequence of `(image, title, frame colour)` cells, left to right.

    The first cell of each row has a bold title (the query). Images are raw
    pixels in [0, 255], `(H, W, 1)` (shown in grey) or `(H, W, 3)`; a string
    in place of an image is drawn as its text, wrapped (a text query).

    Args:
        rows: The cells of each row; rows may differ in length.
        path: The PNG file to write.
        cell_size: Width of one cell in pixels; its height adds a title line.

    Example:
    >>> plot_image_rows([[(query, "query", QUERY_FRAME), (match, "0.93", "tab:gray")]], "out/rows.png")
    """
    title_height = 18
    columns = max(len(cells) for cells in rows)
    width, height = cell_size * columns, (cell_size + title_height) * len(rows)
    figure = new_figure(width, height)
    margin = 4
    for row, cells in enumerate(rows):
        for column, (image, title, frame) in enumerate(cells):
            left = (column * cell_size + margin) / width
            bottom = ((len(rows) - 1 - row) * (cell_size + title_height) + margin) / height
            axes = figure.add_axes((left, bottom, (cell_size - 2 * margin) / width, (cell_size - 2 * margin) / height))
            if isinstance(image, str):
                axes.text(0.5, 0.5, "\n".join(textwrap.wrap(image, 14, max_lines=5, placeholder="…")), ha="center",
                          va="center", fontsize=8, fontweight="bold", transform=axes.transAxes)
            else:
                _show(axes, np.asarray(image))
            axes.set_title(title, fontsize=8, pad=3, fontweight="bold" if column == 0 else "normal")
            axes.set_xticks([])
            axes.set_yticks([])
            for spine in axes.spines.values():
                spine.set_color(frame)
                spine.set_linewidth(3)
    save_png(figure, path)


def _show(axes, image: np.ndarray) -> None:
    if image.shape[-1] == 1:
        axes.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        axes.imshow(np.clip(image, 0, 255).astype(np.uint8), interpolation="nearest")
