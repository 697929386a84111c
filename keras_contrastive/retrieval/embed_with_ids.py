"""Embedding a collection to index with a model's encoder, each example keeping its id."""

from __future__ import annotations

from typing import Iterable

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.model import ContrastiveModel
from keras_contrastive.retrieval.checks import check_ids
from keras_contrastive.tower_input import TowerInput
from keras_contrastive.towers import Towers
from keras_contrastive.validation import check_positive_int


def embed_with_ids(
    model: ContrastiveModel | keras.Model,
    examples,
    ids=None,
    batch_size: int = 256,
    verbose: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Embeds `examples` with the model's encoder a batch at a time, returning each one's id beside it.

    Each batch goes through `model.predict_on_batch`, the compiled predict
    step of `model.predict` (for a `ContrastiveModel`, its encoder's float32
    embedding, with the input checked against the encoder's). A Keras
    progress bar counts the examples when `verbose`.

    `examples` is one of:

    - an array (or tensor) of examples, `(N, ...)`, with `ids` N strings;
    - a `tf.data.Dataset` of examples, batched or not, with `ids` in the
      dataset's order;
    - a `tf.data.Dataset` of `(example, id)` pairs, batched or not, with
      string ids and `ids=None`: each id travels with its example, so
      shuffling, filtering or decoding files in parallel cannot misalign
      them. The best form for a collection read from files, e.g.
      `tf.data.Dataset.list_files(...).map(lambda path: (decode(path), path))`.

    Args:
        model: A `ContrastiveModel` or an encoder `keras.Model`.
        examples: What the encoder takes, in one of the forms above.
        ids: One string per example, or None for a dataset of pairs.
        batch_size: Examples per forward pass (arrays and unbatched datasets).
        verbose: Whether to show a progress bar.

    Returns:
        `(embeddings, ids)`: float32 `(N, D)` (not normalised) and an
        object array of N distinct strings.

    Raises:
        ValueError: for examples the encoder does not take, ids that are not
            N distinct strings, ids given beside a dataset of pairs, or no
            examples at all.

    Example:
    >>> embeddings, ids = embed_with_ids(model, images, [f"{i}.png" for i in range(len(images))])
    >>> kc.retrieval.Index().add(embeddings, ids)
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    tower_input = (model.towers if isinstance(model, ContrastiveModel) else Towers(model)).inputs[0]
    batches, count, paired = _batches(examples, ids, tower_input, batch_size)
    what = tower_input.kind
    if not paired:
        ids = check_ids(ids, count, of=what)
    if count == 0:
        raise ValueError(f"There is nothing to index: got no {what}.")
    progress = keras.utils.Progbar(count, unit_name="example") if verbose else None
    embeddings, found_ids, seen = [], [], 0
    for inputs, batch_ids in batches:
        embeddings.append(np.asarray(model.predict_on_batch(inputs), np.float32))
        seen += len(embeddings[-1])
        if paired:
            found_ids.extend(batch_ids.numpy().reshape(-1))
        if progress is not None:
            progress.update(seen, finalize=seen == count)
    if progress is not None and count is None:
        progress.update(seen, finalize=True)
    if not embeddings:
        raise ValueError(f"There is nothing to index: the dataset holds no {what}.")
    embeddings = np.concatenate(embeddings)
    return embeddings, check_ids(found_ids if paired else ids, len(embeddings), of=what)


def _batches(examples, ids, tower_input: TowerInput, batch_size: int) -> tuple[Iterable, int | None, bool]:
    """`(batches of (inputs, ids or None), number of examples if known, whether ids come with the examples)`."""
    if not isinstance(examples, tf.data.Dataset):
        array = np.asarray(examples)
        tower_input.check(array, "examples")
        batches = ((array[start : start + batch_size], None) for start in range(0, len(array), batch_size))
        return batches, len(array), False
    spec = examples.element_spec
    paired = isinstance(spec, tuple) and len(spec) == 2
    if paired:
        if ids is not None:
            raise ValueError(
                "ids must be None for a dataset of (example, id) pairs: the ids come with the examples."
            )
        if spec[1].dtype != tf.string:
            raise ValueError(
                f"Expected a dataset of examples or of (example, id) pairs with string ids, got ids of dtype "
                f"{spec[1].dtype.name}."
            )
    elif not isinstance(spec, tf.TensorSpec):
        raise ValueError(f"Expected a dataset of examples or of (example, id) pairs, got elements of spec {spec}.")
    count = None
    if (spec[0] if paired else spec).shape.rank == len(tower_input.shape):  # one example per element
        cardinality = int(examples.cardinality())
        count = cardinality if cardinality >= 0 else None
        examples = examples.batch(batch_size)
        spec = examples.element_spec
    tower_input.check(spec[0] if paired else spec, "the dataset's examples")
    batches = examples.prefetch(tf.data.AUTOTUNE)
    return (batches if paired else ((batch, None) for batch in batches)), count, paired
