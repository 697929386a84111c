"""Embedding a whole array of images with an encoder."""

from __future__ import annotations

import keras
import numpy as np


def embed(encoder: keras.Model, images, batch_size: int = 512) -> np.ndarray:
    """Runs `encoder` in inference mode over `images` a batch at a time.

    Args:
        encoder: A model from images to `(batch, dim)` embeddings.
        images: `(N, H, W, C)` raw images.
        batch_size: Images per forward pass.

    Returns:
        float32 `(N, dim)` embeddings.
    """
    return np.asarray(encoder.predict(np.asarray(images), batch_size=batch_size, verbose=0), np.float32)
