"""Figures drawn off-screen with matplotlib's Agg backend and saved as PNG."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.backends.backend_agg import FigureCanvasAgg


def new_figure(width_px: int, height_px: int, dpi: int = 100) -> Figure:
    """A figure of exactly `width_px x height_px` pixels when saved, not tied to pyplot."""
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Figure, path: str | os.PathLike) -> Path:
    """Writes `figure` as a PNG of its exact pixel size, creating the directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=figure.dpi)
    return path
