"""Exports trained encoders as a SavedModel that TensorFlow Serving loads as it is."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from keras_contrastive.model import ContrastiveModel
from keras_contrastive.tower_input import TowerInput
from keras_contrastive.towers import Towers
from keras_contrastive.validation import check_positive_int


def _versions(base_dir: Path) -> list[int]:
    return [int(p.name) for p in base_dir.iterdir() if p.is_dir() and p.name.isdigit()]


def _serving_spec(tower_input: TowerInput, dtype=None) -> tf.TensorSpec:
    """The signature's input: images as uint8 (or `dtype`), everything else in the encoder's own dtype."""
    if dtype is None:
        dtype = tf.uint8 if tower_input.kind == "images" else tf.as_dtype(tower_input.dtype)
    return tf.TensorSpec(tower_input.batch_shape(), dtype, name=tower_input.kind)


def _embedding_endpoint(encoder: keras.Model, tower_input: TowerInput):
    """A function from a batch the signature accepts to `{"embedding": unit rows}`."""
    batch_shape = tower_input.batch_shape()
    input_dtype = tf.as_dtype(tower_input.dtype)

    def embedding(inputs):
        # Signatures check dtypes but not shapes; a pooled encoder would embed
        # images of any size, so refuse them here, naming the expected shape.
        inputs = tf.ensure_shape(inputs, batch_shape)
        features = encoder(tf.cast(inputs, input_dtype), training=False)
        return {"embedding": tf.math.l2_normalize(tf.cast(features, tf.float32), axis=-1)}

    return embedding


def export_embedder(
    model: ContrastiveModel | keras.Model,
    base_dir: str | os.PathLike,
    version: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Writes the encoder(s) as a SavedModel in TF Serving's layout, `base_dir/<version>/`.

    The signature `serving_default` takes a batch of what the encoder takes
    and returns `embedding`, the L2-normalised float32 embedding (the
    model's `predict`, normalised). Its input is named by kind: `images`
    (uint8, any batch size; `serving_float` takes float32 pixel values in
    [0, 255] instead), `text` (strings), `ids` or `token_ids` (the encoder's
    integer dtype), `features`. A two-tower model adds `embed_pair` (and
    `embed_pair_float` for an image pair tower) for the pair encoder.
    Preprocessing inside the encoders (pixel scaling, tokenisation) is part
    of the graph; inputs of another shape or dtype are refused by the
    signature with a message naming the expected shape.

    The version is written to a hidden staging directory beside the target
    and renamed into place, so a server polling `base_dir` never sees a
    half-written version; a version that another process claimed first is
    never replaced (without `version`, the next free number is taken
    instead). The version directory gets the permissions the process's umask
    gives a new directory, so a server running as another user can read it.

    Args:
        model: A `ContrastiveModel` or one encoder `keras.Model`.
        base_dir: The model's base directory, as given to TF Serving.
        version: A positive integer; by default one more than the highest
            version in `base_dir` (1 for an empty one).
        overwrite: Whether to replace an existing version.

    Returns:
        The path of the version directory written.

    Example:
    >>> export_embedder(model, "serving/fmnist")   # serving/fmnist/1/
    """
    towers = model.towers if isinstance(model, ContrastiveModel) else Towers(model)
    base_dir = Path(base_dir)
    if base_dir.exists() and not base_dir.is_dir():
        raise ValueError(f"base_dir {base_dir} is a file; TF Serving's base directory must be a directory.")
    if version is not None:
        version = check_positive_int(version, "version")
    base_dir.mkdir(parents=True, exist_ok=True)
    if version is not None and (base_dir / str(version)).exists() and not overwrite:
        raise FileExistsError(f"{base_dir / str(version)} exists; pass overwrite=True to replace it.")

    archive = keras.export.ExportArchive()
    names = ("serving_default", "embed_pair")
    for encoder, tower_input, name in zip(towers.encoders, towers.inputs, names):
        archive.track(encoder)
        endpoint = _embedding_endpoint(encoder, tower_input)
        archive.add_endpoint(name, endpoint, input_signature=[_serving_spec(tower_input)])
        if tower_input.kind == "images":
            float_name = "serving_float" if name == "serving_default" else f"{name}_float"
            archive.add_endpoint(float_name, endpoint, input_signature=[_serving_spec(tower_input, tf.float32)])
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=base_dir))
    try:
        archive.write_out(str(staging), verbose=False)
        os.chmod(staging, 0o777 & ~_umask())
        return _move_into_place(staging, base_dir, version, overwrite)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _move_into_place(staging: Path, base_dir: Path, version: int | None, overwrite: bool) -> Path:
    """Renames `staging` to `base_dir/<version>`, claiming the number atomically.

    `rename` onto a name that exists (with content) fails, so of two
    processes claiming the same number exactly one succeeds; without an
    explicit version the other takes the next number.
    """
    while True:
        number = version if version is not None else max(_versions(base_dir), default=0) + 1
        target = base_dir / str(number)
        if target.exists() and overwrite and version is not None:
            retired = Path(tempfile.mkdtemp(prefix=".retired-", dir=base_dir))
            os.replace(target, retired / target.name)
            os.replace(staging, target)
            shutil.rmtree(retired)
            return target
        try:
            os.rename(staging, target)
            return target
        except OSError:
            if not target.exists():
                raise
            if version is not None:
                raise FileExistsError(
                    f"{target} was written by another process while this export ran; pass another "
                    "version, or overwrite=True to replace it."
                ) from None
