"""The `search` signature of an exported similarity search, called from Python as TF Serving would."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf


class ServedSearch:
    """A version directory written by `kc.export.export_search`, loaded with its `search` signature.

    Loads the SavedModel with TensorFlow alone (nothing of this package runs
    inside it), so it answers as TF Serving does.

    Args:
        version_dir: The version directory, e.g. `serving/search/1`.

    Attributes:
        image_shape: `(height, width, channels)` of the images it takes.
        k: The number of neighbours each query gets.

    Example:
    >>> search = ServedSearch("serving/search/1")
    >>> ids, scores = search(images)     # uint8 (Q, H, W, C) -> (Q, k) ids, (Q, k) cosine similarities
    """

    def __init__(self, version_dir: str | os.PathLike):
        path = Path(version_dir)
        if not (path / "saved_model.pb").is_file():
            raise ValueError(
                f"{path} is not a SavedModel version directory (no saved_model.pb); give the version that "
                "export_search or `keras-contrastive index` wrote, e.g. serving/search/1."
            )
        self._saved = tf.saved_model.load(str(path))
        if "search" not in self._saved.signatures:
            raise ValueError(
                f"{path} has no search signature (it has {sorted(self._saved.signatures)}); export it with "
                "kc.export.export_search or `keras-contrastive index`, not export_embedder."
            )
        self._search = self._saved.signatures["search"]
        (name, spec), = self._search.structured_input_signature[1].items()
        self._input_name = name
        self.image_shape = tuple(spec.shape[1:])
        self.k = int(self._search.structured_outputs["ids"].shape[-1])

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ids (str) and scores of each query's `k` nearest indexed images, highest score first.

        Args:
            images: uint8 `(Q, height, width, channels)` queries.

        Returns:
            `(ids, scores)`: `(Q, k)` object array of str and `(Q, k)` float32.
        """
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.shape[1:] != self.image_shape:
            raise ValueError(
                f"Expected uint8 queries of shape (Q, {', '.join(map(str, self.image_shape))}), "
                f"got {images.dtype} {images.shape}."
            )
        outputs = self._search(**{self._input_name: tf.constant(images)})
        ids = np.vectorize(lambda raw: raw.decode("utf-8"), otypes=[object])(outputs["ids"].numpy())
        return ids, outputs["scores"].numpy()
