"""The file an `Index` is saved to: a NumPy `.npz` archive without pickles, written atomically."""

from __future__ import annotations

import json
import os
import secrets
import zipfile
from pathlib import Path

import numpy as np

FORMAT = "keras_contrastive.retrieval.Index"
FORMAT_VERSION = 1
_MEMBERS = ("config", "embeddings", "id_bytes", "id_offsets")


def write_index_file(path: str | os.PathLike, config: dict, embeddings: np.ndarray, ids: np.ndarray) -> Path:
    """Writes an index to `path`, replacing any file there only once the new one is complete.

    The archive holds the settings as JSON, the `(N, D)` float32 unit rows,
    and the ids as UTF-8 bytes with their offsets (no pickled objects, so
    loading a file runs no code from it). It is written to a hidden
    temporary name in the same directory, flushed to disk, then renamed onto
    `path`: a reader sees the old file or the new one, never part of one.

    Args:
        path: The file to write, e.g. `"catalog.index.npz"` (used as given).
        config: The index's settings (`Index.get_config()` and its width).
        embeddings: `(N, D)` float32 unit rows.
        ids: `(N,)` strings.

    Returns:
        `path` as a `Path`.

    Example:
    >>> write_index_file("catalog.npz", {"dim": 128, "backend": "exact", "backend_config": {}}, rows, ids)
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"Cannot save an index to {path}: it is a directory; give a file name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    encoded = [str(value).encode("utf-8") for value in ids]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(value) for value in encoded], out=offsets[1:])
    header = json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, **config}).encode("utf-8")
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    # Created like any new file (mode 0o666 less the umask), unlike mkstemp's 0o600.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            np.savez(
                file,
                config=np.frombuffer(header, np.uint8),
                embeddings=np.asarray(embeddings, np.float32),
                id_bytes=np.frombuffer(b"".join(encoded), np.uint8),
                id_offsets=offsets,
            )
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    return path


def read_index_file(path: str | os.PathLike) -> tuple[dict, np.ndarray, list[str]]:
    """Reads a file written by `write_index_file`, refusing a missing, damaged or foreign file clearly.

    Args:
        path: The index file.

    Returns:
        `(config, embeddings, ids)`: the settings, `(N, D)` float32 unit
        rows, and the N ids.

    Raises:
        FileNotFoundError: No file at `path`.
        ValueError: The file is truncated or corrupt (its checksums fail), or
            is not an index file, naming the file and what is wrong.

    Example:
    >>> config, embeddings, ids = read_index_file("catalog.npz")
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No index file at {path}.")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ValueError(f"{path} is a truncated or corrupt index file: {error}") from error
    except ValueError as error:  # neither a zip archive nor an array: NumPy would have to unpickle it
        raise _not_an_index(path, str(error)) from error
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise _not_an_index(path, "it holds one array, not an index archive")
    with loaded as archive:
        if set(_MEMBERS) - set(archive.files):
            raise _not_an_index(path, f"it lacks some of the members {', '.join(_MEMBERS)}")
        try:
            arrays = {name: archive[name] for name in _MEMBERS}
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
            raise ValueError(f"{path} is a truncated or corrupt index file: {error}") from error
    try:
        config = json.loads(arrays["config"].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _not_an_index(path, f"its config is not JSON ({error})") from error
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise _not_an_index(path, "its config does not name the format")
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} is an index file of format version {config.get('format_version')!r}; this version of "
            f"keras-contrastive reads version {FORMAT_VERSION}."
        )
    embeddings, id_bytes, offsets = arrays["embeddings"], arrays["id_bytes"].tobytes(), arrays["id_offsets"]
    dim = config.get("dim")
    if embeddings.dtype != np.float32 or embeddings.ndim != 2 or (dim is not None and embeddings.shape[1] != dim):
        raise _not_an_index(path, f"its embeddings are {embeddings.dtype} of shape {embeddings.shape}, not (N, {dim})")
    if (
        offsets.dtype != np.int64 or offsets.shape != (len(embeddings) + 1,) or offsets[0] != 0
        or offsets[-1] != len(id_bytes) or np.any(np.diff(offsets) < 0)
    ):
        raise _not_an_index(path, f"its id offsets do not describe {len(embeddings)} ids")
    norms = np.linalg.norm(embeddings.astype(np.float64), axis=1)
    if not np.all(np.abs(norms - 1) < 1e-3):
        raise _not_an_index(path, "its embeddings are not finite unit rows")
    try:
        ids = [id_bytes[start:end].decode("utf-8") for start, end in zip(offsets[:-1], offsets[1:])]
    except UnicodeDecodeError as error:
        raise _not_an_index(path, f"its ids are not UTF-8 ({error})") from error
    return {key: value for key, value in config.items() if key not in ("format", "format_version")}, embeddings, ids


def _not_an_index(path: Path, reason: str) -> ValueError:
    return ValueError(f"{path} is not an index file written by Index.save: {reason}.")
