"""An encoder with a linear softmax head: a plain Keras classifier to train and save."""

from __future__ import annotations

import keras

from keras_contrastive.validation import check_positive_int


def classifier(encoder: keras.Model, num_classes: int, name: str = "classifier") -> keras.Model:
    """A functional `keras.Model`: `encoder`, then one Dense softmax layer of `num_classes`.

    The encoder is a layer of the classifier, not a copy: training the
    classifier trains the encoder's weights too (freeze it with
    `encoder.trainable = False` for a linear head only). The head computes
    in float32, also under a mixed-precision policy. Compile it with a
    sparse categorical cross-entropy on integer labels; it saves as a
    `.keras` file and loads back with `keras.saving.load_model` (the
    package's layers are registered).

    Args:
        encoder: A `keras.Model` with one input and a `(batch, dim)` output,
            e.g. `kc.encoders.small_cnn(...)` or `model.encoder` of a
            `ContrastiveModel`.
        num_classes: The number of classes, at least 2.
        name: The classifier's name.

    Returns:
        A functional model from the encoder's input to `(batch, num_classes)`
        class probabilities; its head is the layer named `"head"`.

    Raises:
        ValueError: for an encoder without one input and a 2-D output, or
            fewer than 2 classes.

    Example:
    >>> model = classifier(kc.encoders.small_cnn((28, 28, 1)), num_classes=10)
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> model.fit(images, labels, epochs=5)
    >>> model.save("classifier.keras")
    """
    num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
    try:
        inputs, outputs = encoder.inputs, encoder.outputs
    except AttributeError:  # a subclassed model (a ContrastiveModel) has no symbolic inputs
        inputs = outputs = None
    if not isinstance(encoder, keras.Model) or not inputs or len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            "encoder must be a functional or Sequential keras.Model with one input and one output (for a "
            f"ContrastiveModel, pass model.encoder), got {type(encoder).__name__}."
        )
    if len(outputs[0].shape) != 2:
        raise ValueError(f"encoder must output (batch, dim) embeddings, got shape {outputs[0].shape}.")
    images = keras.Input(shape=inputs[0].shape[1:], dtype=inputs[0].dtype, name=inputs[0].name)
    head = keras.layers.Dense(num_classes, activation="softmax", dtype="float32", name="head")
    return keras.Model(images, head(encoder(images)), name=name)
