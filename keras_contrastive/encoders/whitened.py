"""An encoder whose embedding ends in a `kc.layers.Whitening`, and the fitting of that whitening after training."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.layers.whitening import Whitening
from keras_contrastive.validation import check_positive_int


def whitened(encoder: keras.Model, epsilon: float = 1e-2) -> keras.Model:
    """`encoder` followed by a `kc.layers.Whitening(epsilon)`, to be fitted by `fit_whitening` once trained.

    The whitening passes embeddings through unchanged until it is fitted, so
    the model trains exactly as `encoder` would (the method's head sees the
    same features); `fit_whitening` then fits it to the trained encoder's
    embeddings of the training examples, and the saved model, its TF Serving
    export and a similarity search all whiten.

    Args:
        encoder: A functional Keras model with one `(batch, dim)` output.
        epsilon: The whitening's regulariser (see `kc.layers.Whitening`).

    Returns:
        A functional `keras.Model` on `encoder`'s inputs, named
        `<encoder>_whitened`, whose last layer is the whitening.

    Example:
    >>> encoder = whitened(kc.encoders.small_cnn((28, 28, 1), pool_grid=3))
    >>> model = kc.ContrastiveModel(encoder, kc.methods.SimCLR())   # train it, then
    >>> fit_whitening(encoder, train_images)
    """
    try:
        functional = isinstance(encoder, keras.Model) and bool(encoder.inputs) and bool(encoder.outputs)
    except (AttributeError, ValueError):  # a subclassed model has no symbolic inputs
        functional = False
    if not functional:
        raise ValueError(f"whitened() needs a functional Keras encoder, got {type(encoder).__name__}.")
    if len(encoder.outputs) != 1 or len(encoder.outputs[0].shape) != 2:
        raise ValueError(
            f"whitened() needs an encoder with one (batch, dim) output, got outputs of shapes "
            f"{[tuple(output.shape) for output in encoder.outputs]}."
        )
    inputs = encoder.inputs if len(encoder.inputs) > 1 else encoder.inputs[0]
    return keras.Model(inputs, Whitening(epsilon=epsilon)(encoder.outputs[0]), name=f"{encoder.name}_whitened")


def fit_whitening(encoder: keras.Model, data, batch_size: int = 512) -> keras.Model:
    """Fits the `kc.layers.Whitening` at `encoder`'s output to the embeddings of `data` before it.

    Args:
        encoder: A model from `whitened` (or any functional model whose last
            layer is a `Whitening`).
        data: The examples to fit on (the training set): an array, or a
            `tf.data.Dataset` of examples or of `(example, label)` pairs,
            batched or not.
        batch_size: Examples per forward pass of an array or unbatched dataset.

    Returns:
        `encoder`, its whitening fitted.

    Raises:
        ValueError: If the encoder's last layer is no `Whitening`, or the
            embeddings are not fit for one (see `Whitening.adapt`).

    Example:
    >>> fit_whitening(model.encoder, kc.data.load("fashion_mnist", "train"))
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    whitening = encoder.layers[-1] if isinstance(encoder, keras.Model) and encoder.layers else None
    if not isinstance(whitening, Whitening):
        raise ValueError(
            f"fit_whitening needs an encoder whose last layer is a kc.layers.Whitening (see kc.encoders.whitened); "
            f"{getattr(encoder, 'name', type(encoder).__name__)!r} ends in "
            f"{type(whitening).__name__ if whitening is not None else 'no layer'}."
        )
    before = keras.Model(encoder.inputs, whitening.input)
    if isinstance(data, tf.data.Dataset):
        if isinstance(data.element_spec, tuple):
            data = data.map(lambda example, *_: example)
        if data.element_spec.shape.rank == len(before.inputs[0].shape) - 1:
            data = data.batch(batch_size)
        batches = data.prefetch(tf.data.AUTOTUNE)
    else:
        examples = np.asarray(data)
        batches = (examples[start : start + batch_size] for start in range(0, len(examples), batch_size))
    whitening.adapt(np.asarray(before.predict_on_batch(batch), np.float32) for batch in batches)
    return encoder
