"""Writing files whole or not at all: a temporary name beside the target, then a rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import keras


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed onto `path` only if the block succeeds.

    Killed, or failing (a full disk, say), the block leaves `path` as it was:
    the old file, or none. The temporary file is removed on failure. The file
    gets the permissions the umask gives a new file (a temporary file is
    the owner's only), so others can read a model or metrics as usual.

    Args:
        path: The file to write.
        suffix: An ending the writer needs, e.g. ".keras" or ".weights.h5".

    Example:
    >>> with atomic_path("metrics.json") as tmp:
    ...     tmp.write_text(json.dumps(report))
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".partial{suffix}", dir=path.parent)
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def current_umask() -> int:
    """The process's umask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_model(model: keras.Model, path: str | os.PathLike) -> Path:
    """`model.save(path)`, written to a temporary file and renamed, so an existing model is never half-overwritten.

    Keras writes a `.keras` file in place: on a full disk, or killed
    mid-write, the previous model is gone. Here the previous file stays until
    the new one is complete. `kc.load_model` is the counterpart.

    Args:
        model: Any Keras model, e.g. a `ContrastiveModel`.
        path: The `.keras` file.

    Returns:
        `path`.

    Example:
    >>> kc.save_model(model, "runs/fm/model.keras")
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"A model file must end in .keras, got {path}.")
    with atomic_path(path, suffix=".keras") as temporary:
        model.save(temporary)
    return path
