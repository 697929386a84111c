"""Loading saved models with errors that say what is wrong with the file."""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import keras


def load_model(path: str | os.PathLike) -> keras.Model:
    """Loads a `.keras` file in Keras's safe mode, refusing damaged files clearly.

    Keras reports a truncated or corrupt file as "File not found"; this tells
    a missing file, a file that is not a complete `.keras` archive and one
    whose contents fail their checksums apart, naming the file.

    Args:
        path: A file written by `model.save(...)`.

    Returns:
        The model, e.g. a `ContrastiveModel` ready to `fit` on from its saved
        optimizer state.

    Raises:
        FileNotFoundError: No file at `path`.
        ValueError: The file is truncated, corrupt, or not a Keras model.

    Example:
    >>> model = load_model("runs/fm/model.keras")
    """
    path = Path(path)
    if path.is_dir() and (path / "saved_model.pb").is_file():
        raise ValueError(
            f"{path} is a SavedModel export (for TF Serving), not a .keras model: load it with "
            f"tf.saved_model.load({str(path)!r}) and call its signatures, or load the .keras file it was "
            "exported from."
        )
    if path.is_dir():
        raise ValueError(f"{path} is a directory; expected a .keras file written by model.save or kc.save_model.")
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path} is not a complete .keras file (a .keras file is a zip archive); "
            "it may be truncated or corrupt."
        )
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            members = set(archive.namelist())
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        raise ValueError(f"{path} is a damaged .keras file: {error}") from error
    if damaged is not None:
        raise ValueError(f"{path} is corrupt: its member {damaged!r} fails its checksum.")
    if "config.json" not in members:
        raise ValueError(f"{path} is a zip file but not a Keras model: it has no config.json.")
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:
        raise ValueError(f"Could not load the model in {path}: {error}") from error
