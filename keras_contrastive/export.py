"""Exports a trained encoder as a SavedModel that TensorFlow Serving loads as it is."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from keras_contrastive.model import ContrastiveModel


def _next_version(base_dir: Path) -> int:
    versions = [int(p.name) for p in base_dir.iterdir() if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def export_embedder(
    model: ContrastiveModel | keras.Model,
    base_dir: str | os.PathLike,
    version: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Writes the encoder as a SavedModel in TF Serving's layout, `base_dir/<version>/`.

    The signature `serving_default` takes `images`, a uint8 batch of raw
    images of the encoder's shape and any batch size, and returns
    `embedding`, the L2-normalised float32 embedding. `serving_float` takes
    float32 pixel values in [0, 255] instead. The pixel scaling the encoder
    was trained with is part of the graph, and images of another shape or
    dtype are refused by the signature with a message naming the expected
    shape. The version is written to a
    temporary directory beside the target and renamed into place, so a
    server polling `base_dir` never sees a half-written version.

    Args:
        model: A `ContrastiveModel` or the encoder itself.
        base_dir: The model's base directory, as given to TF Serving.
        version: A positive integer; by default one more than the highest
            version in `base_dir` (1 for an empty one).
        overwrite: Whether to replace an existing version.

    Returns:
        The path of the version directory written.

    Example:
    >>> export_embedder(model, "serving/fmnist")   # serving/fmnist/1/
    """
    encoder = model.encoder if isinstance(model, ContrastiveModel) else model
    if not isinstance(encoder, keras.Model) or len(encoder.input_shape) != 4:
        raise ValueError(
            "Expected a ContrastiveModel or an encoder keras.Model taking (batch, height, "
            f"width, channels) images, got {type(model).__name__}."
        )
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    if version is None:
        version = _next_version(base_dir)
    if int(version) != version or version < 1:
        raise ValueError(f"version must be a positive integer, got {version!r}.")
    target = base_dir / str(int(version))
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it.")

    image_shape = (None, *encoder.input_shape[1:])

    def embedding(images):
        # Signatures check dtypes but not shapes; a pooled encoder would embed
        # images of any size, so refuse them here, naming the expected shape.
        images = tf.ensure_shape(images, image_shape)
        features = encoder(tf.cast(images, tf.float32), training=False)
        return {"embedding": tf.math.l2_normalize(tf.cast(features, tf.float32), axis=-1)}

    archive = keras.export.ExportArchive()
    archive.track(encoder)
    archive.add_endpoint(
        "serving_default", embedding, input_signature=[tf.TensorSpec(image_shape, tf.uint8, name="images")]
    )
    archive.add_endpoint(
        "serving_float", embedding, input_signature=[tf.TensorSpec(image_shape, tf.float32, name="images")]
    )
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=base_dir))
    try:
        archive.write_out(str(staging), verbose=False)
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=base_dir))
            os.replace(target, retired / target.name)
            os.replace(staging, target)
            shutil.rmtree(retired)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target
