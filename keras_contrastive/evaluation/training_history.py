"""A training run's per-epoch metrics as a JSON file, for plotting later."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping, Sequence


def save_training_history(
    history, path: str | os.PathLike, epochs: Mapping[str, Sequence[int]] | None = None
) -> Path:
    """Writes `{"metrics": {name: [values]}, "epochs": {name: [epochs]}}` as JSON.

    Args:
        history: A `keras.callbacks.History` or a dict of per-epoch values.
        path: The JSON file to write.
        epochs: 1-based epochs of metrics not logged every epoch, e.g.
            `{"knn_accuracy": monitor.epochs}`.

    Returns:
        `path`.

    Example:
    >>> save_training_history(model.fit(...), "runs/fm/history.json", {"knn_accuracy": monitor.epochs})
    """
    metrics = {name: [float(v) for v in values] for name, values in dict(getattr(history, "history", history)).items()}
    path = Path(path)
    path.write_text(json.dumps({"metrics": metrics, "epochs": {k: list(v) for k, v in (epochs or {}).items()}}, indent=1))
    return path


def load_training_history(path: str | os.PathLike) -> tuple[dict, dict]:
    """Reads a file written by `save_training_history`.

    Returns:
        `(metrics, epochs)`, the two arguments `kc.plots.plot_training_curves` takes.
    """
    content = json.loads(Path(path).read_text())
    if not isinstance(content, dict) or "metrics" not in content:
        raise ValueError(f"{path} is not a training history file (no 'metrics' entry).")
    return content["metrics"], content.get("epochs", {})
