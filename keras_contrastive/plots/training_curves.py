"""Training curves from a Keras History: one panel per metric, validation beside training."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

from matplotlib.ticker import MaxNLocator

from keras_contrastive.plots._figure import new_figure, save_png


def plot_training_curves(
    history,
    path: str | os.PathLike,
    epochs: Mapping[str, Sequence[int]] | None = None,
    panel_size: tuple[int, int] = (400, 300),
    columns: int = 3,
) -> Path:
    """Writes the metrics of a training run as a PNG of line plots against epoch.

    Each metric gets a panel; `val_<metric>` is drawn in the same panel.
    Metrics logged every epoch are drawn at epochs 1, 2, ...; one logged
    less often (kNN accuracy with `KNNMonitor(every=n)`) needs its epochs in
    `epochs`, e.g. `{"knn_accuracy": monitor.epochs}`.

    Args:
        history: A `keras.callbacks.History` (what `fit` returns) or a dict
            of metric name to list of per-epoch values.
        path: The PNG file to write.
        epochs: 1-based epoch numbers of metrics not logged every epoch.
        panel_size: `(width, height)` of one panel in pixels.
        columns: Panels per row.

    Returns:
        `path`.

    Example:
    >>> history = model.fit(views, epochs=20, callbacks=[monitor])
    >>> plot_training_curves(history, "out/training_curves.png",
    ...                      epochs={"knn_accuracy": monitor.epochs})
    """
    metrics = dict(getattr(history, "history", history))
    epochs = dict(epochs or {})
    if not metrics or not all(len(values) for values in metrics.values()):
        raise ValueError(f"Expected a history with values for each metric, got {list(metrics)}.")
    num_epochs = max(len(values) for values in metrics.values())
    positions = {}
    for name, values in metrics.items():
        x = list(epochs.get(name, range(1, len(values) + 1)))
        if len(x) != len(values) or (name not in epochs and len(values) != num_epochs):
            raise ValueError(
                f"{name!r} has {len(values)} values for {num_epochs} epochs; pass the epochs it was "
                f"logged at, e.g. epochs={{{name!r}: monitor.epochs}}."
            )
        positions[name] = x
    panels = [name for name in metrics if not (name.startswith("val_") and name[4:] in metrics)]
    rows = math.ceil(len(panels) / columns)
    columns = min(columns, len(panels))
    figure = new_figure(panel_size[0] * columns, panel_size[1] * rows)
    for index, name in enumerate(panels):
        axes = figure.add_subplot(rows, columns, index + 1)
        for series, style in ((name, "-"), (f"val_{name}", "--")):
            if series in metrics:
                axes.plot(positions[series], metrics[series], style, marker="o", markersize=3, label=series)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        if f"val_{name}" in metrics:
            axes.legend()
    figure.tight_layout()
    return save_png(figure, path)
