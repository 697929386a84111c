"""The `search` signature of an exported similarity search, called from Python as TF Serving would."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf


class ServedSearch:
    """A search signature of an exported similarity search, loaded with TensorFlow alone, as TF Serving would serve it.

    Nothing of this package runs inside the SavedModel, so it answers as TF
    Serving does. `search` (written by `kc.export.export_search`) takes
    uint8 images; `search_images` (by `kc.export.export_image_text`) takes
    text queries.

    Args:
        version_dir: The version directory, e.g. `serving/search/1`.
        signature: The signature to call: "search" (image queries), or
            "search_images" (text queries) of an image-text export.

    Attributes:
        image_shape: `(height, width, channels)` of the query images, or None
            for text queries.
        queries: What a query is: "images" or "text".
        k: The number of neighbours each query gets.

    Example:
    >>> search = ServedSearch("serving/search/1")
    >>> ids, scores = search(images)     # uint8 (Q, H, W, C) -> (Q, k) ids, (Q, k) cosine similarities
    >>> ids, scores = ServedSearch("serving/clipart/1", "search_images")(["a red car", "a cat"])
    """

    def __init__(self, version_dir: str | os.PathLike, signature: str = "search"):
        path = Path(version_dir)
        if not (path / "saved_model.pb").is_file():
            raise ValueError(
                f"{path} is not a SavedModel version directory (no saved_model.pb); give the version that "
                "export_search or `keras-contrastive index` wrote, e.g. serving/search/1."
            )
        self._saved = tf.saved_model.load(str(path))
        if signature not in self._saved.signatures:
            raise ValueError(
                f"{path} has no {signature} signature (it has {sorted(self._saved.signatures)}); export it with "
                "kc.export.export_search (search), kc.export.export_image_text (search_images) or "
                "`keras-contrastive index`, not export_embedder."
            )
        self._search = self._saved.signatures[signature]
        (name, spec), = self._search.structured_input_signature[1].items()
        self._input_name, self._spec = name, spec
        self.queries = "text" if spec.dtype == tf.string else "images"
        self.image_shape = None if self.queries == "text" else tuple(spec.shape[1:])
        self.k = int(self._search.structured_outputs["ids"].shape[-1])

    def __call__(self, queries) -> tuple[np.ndarray, np.ndarray]:
        """The ids (str) and scores of each query's `k` nearest indexed images, highest score first.

        Args:
            queries: uint8 `(Q, height, width, channels)` images, or for a
                text search a sequence of Q strings.

        Returns:
            `(ids, scores)`: `(Q, k)` object array of str and `(Q, k)` float32.
        """
        if self.queries == "text":
            texts = [queries] if isinstance(queries, str) else list(queries)
            if not all(isinstance(text, str) for text in texts):
                raise ValueError(f"Expected the text queries as a sequence of strings, got {queries!r:.80}.")
            inputs = tf.constant(texts, tf.string)
        else:
            images = np.asarray(queries)
            if images.dtype != np.uint8 or images.shape[1:] != self.image_shape:
                raise ValueError(
                    f"Expected uint8 queries of shape (Q, {', '.join(map(str, self.image_shape))}), "
                    f"got {images.dtype} {images.shape}."
                )
            inputs = tf.constant(images)
        outputs = self._search(**{self._input_name: inputs})
        ids = np.vectorize(lambda raw: raw.decode("utf-8"), otypes=[object])(outputs["ids"].numpy())
        return ids, outputs["scores"].numpy()
