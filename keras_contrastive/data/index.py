"""Finding the image files of a folder tree, and their classes from its first level of subfolders."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from keras_contrastive.data.decode import IMAGE_EXTENSIONS

# Paths named in an error message before it says "and N more".
_SHOWN_PATHS = 5


def index_directory(
    path: str | os.PathLike, labels: str | None = "inferred"
) -> tuple[list[str], np.ndarray | None, list[str] | None]:
    """Lists the image files under `path`, recursively, sorted, with their classes.

    Files count as images by their extension (`IMAGE_EXTENSIONS`, any case);
    hidden files and folders (names starting with ".") are left out, and
    symbolic links are followed (each real folder is visited once).

    Args:
        path: The folder.
        labels: `"inferred"`: every first-level subfolder holding images
            (at any depth below it) is a class, class ids following the sorted
            folder names; an image directly in `path` then has no class and
            is an error. `None`: all images, no labels.

    Returns:
        `(file_paths, label_ids, class_names)`: the sorted paths, and for
        `labels="inferred"` int64 class ids per path and the class names
        (`None` and `None` otherwise).

    Raises:
        ValueError: If `path` is not a folder, holds no image files, or
            (labels inferred) holds images outside any subfolder; or for
            another `labels`.

    Example:
    >>> paths, label_ids, class_names = index_directory("pictures/")  # pictures/cats/..., pictures/dogs/...
    >>> class_names
    ['cats', 'dogs']
    """
    if labels not in ("inferred", None):
        raise ValueError(f'labels must be "inferred" or None, got {labels!r}.')
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{str(root)!r} is not a folder: expected a folder of images ({_extensions()}).")
    file_paths = _image_files(root)
    if not file_paths:
        raise ValueError(f"No image files ({_extensions()}) found in {str(root)!r} or its subfolders.")
    if labels is None:
        return file_paths, None, None
    top_level = [file_path for file_path in file_paths if Path(file_path).parent == root]
    if top_level:
        raise ValueError(
            f'With labels="inferred" every image must be in a class subfolder of {str(root)!r}, but '
            f"{len(top_level)} are directly in it: {first_paths(top_level)}. Move them into a subfolder, "
            "or pass labels=None."
        )
    class_of = [Path(file_path).relative_to(root).parts[0] for file_path in file_paths]
    class_names = sorted(set(class_of))
    class_ids = {name: index for index, name in enumerate(class_names)}
    return file_paths, np.array([class_ids[name] for name in class_of], np.int64), class_names


def _image_files(root: Path) -> list[str]:
    """Every image file under `root`, sorted by path, following links but never a folder twice."""
    found, visited = [], set()
    for folder, subfolders, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited:
            subfolders[:] = []
            continue
        visited.add(real)
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        found += [
            os.path.join(folder, name) for name in files
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)
        ]
    return sorted(found)


def _extensions() -> str:
    return ", ".join(IMAGE_EXTENSIONS) + " in any case"


def first_paths(paths: list[str]) -> str:
    """The first few paths, quoted, then how many more: for messages that name files."""
    shown = ", ".join(repr(path) for path in paths[:_SHOWN_PATHS])
    return shown + (f" and {len(paths) - _SHOWN_PATHS} more" if len(paths) > _SHOWN_PATHS else "")
