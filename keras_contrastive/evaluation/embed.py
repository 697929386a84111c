"""Embedding whole sets of examples with an encoder, from arrays or streamed from `tf.data`."""

from __future__ import annotations

import weakref
from typing import Callable

import keras
import numpy as np
import tensorflow as tf


def embed(encoder: keras.Model, examples, batch_size: int = 512) -> np.ndarray:
    """Runs `encoder` in inference mode over `examples` a batch at a time.

    Args:
        encoder: A model from examples to `(batch, dim)` embeddings.
        examples: An array (or tensor) of examples, e.g. `(N, H, W, C)` raw
            images or `(N,)` strings.
        batch_size: Examples per forward pass.

    Returns:
        float32 `(N, dim)` embeddings.

    Example:
    >>> embeddings = embed(model.encoder, test_images)
    """
    if isinstance(examples, (list, tuple)) or (isinstance(examples, np.ndarray) and examples.dtype.kind in "USO"):
        examples = tf.constant(examples)  # NumPy's unicode arrays are no Keras dtype; TF strings are
    if len(examples) == 0:  # Keras's predict fails on no examples
        return np.zeros((0, int(encoder.outputs[0].shape[-1])), np.float32)
    return np.asarray(encoder.predict(examples, batch_size=batch_size, verbose=0), np.float32)


def embed_labelled(
    featurize: keras.Model | Callable, data, batch_size: int = 512, verbose: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of labelled examples, streamed: only the features are kept in memory.

    Args:
        featurize: An encoder (run in inference mode) or a function from a
            batch of examples to a `(batch, dim)` array.
        data: A `tf.data.Dataset` of `(example, label)` pairs (batched or
            not), or a tuple `(examples, labels)` of arrays.
        batch_size: Examples per forward pass of an unbatched dataset or arrays.
        verbose: Whether to show a progress bar of the examples embedded.

    Returns:
        `(features, labels)`: float32 `(N, dim)` and int64 `(N,)`.

    Raises:
        ValueError: for data that is not labelled pairs, or an empty set.

    Example:
    >>> features, labels = embed_labelled(model.encoder, kc.data.load("fashion_mnist", "test"))
    """
    if isinstance(data, (tuple, list)) and len(data) == 2:
        data = tf.data.Dataset.from_tensor_slices((np.asarray(data[0]), np.asarray(data[1])))
    if not isinstance(data, tf.data.Dataset):
        raise ValueError(
            "Expected a tf.data.Dataset of (example, label) pairs or a tuple (examples, labels), "
            f"got {type(data).__name__}."
        )
    spec = data.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError(
            f"Expected a dataset of (example, label) pairs, got elements of spec {spec}. Load it with labels, "
            "e.g. kc.data.load(name, with_labels=True)."
        )
    if not spec[1].dtype.is_integer:
        raise ValueError(f"Expected integer class labels, got labels of dtype {spec[1].dtype.name}.")
    unbatched = spec[1].shape.rank == 0
    count = int(data.cardinality()) if unbatched and data.cardinality() >= 0 else None
    if unbatched:
        data = data.batch(batch_size)
    progress = keras.utils.Progbar(count, verbose=1 if verbose else 0, unit_name="example")
    if isinstance(featurize, keras.Model):
        step = _inference_step(featurize)
        featurize = lambda x: step(x).numpy()  # noqa: E731
    features, labels = [], []
    for examples, batch_labels in data.prefetch(tf.data.AUTOTUNE):
        features.append(np.asarray(featurize(examples), np.float32))
        labels.append(np.reshape(batch_labels.numpy(), -1).astype(np.int64))
        progress.add(len(labels[-1]))
    if not features:
        raise ValueError("The dataset is empty: there is nothing to embed.")
    return np.concatenate(features), np.concatenate(labels)


#: One compiled inference function per encoder, kept as long as the encoder lives.
_INFERENCE_STEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _inference_step(encoder: keras.Model) -> tf.types.experimental.PolymorphicFunction:
    """`encoder(x, training=False)` compiled once per encoder and input signature.

    A new `tf.function` per call traced the encoder again every time (a report
    embeds the same encoder several times) and made TensorFlow warn about
    retracing; the function holds the encoder weakly, so caching it keeps no
    model alive.
    """
    step = _INFERENCE_STEPS.get(encoder)
    if step is None:
        reference = weakref.ref(encoder)
        step = tf.function(lambda x: reference()(x, training=False), reduce_retracing=True)
        _INFERENCE_STEPS[encoder] = step
    return step
