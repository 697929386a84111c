"""Semi-supervised evaluation: fine-tune the whole encoder and a linear head on a few labels."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.evaluation.class_balanced_subset import class_balanced_subset
from keras_contrastive.evaluation.classifier import classifier
from keras_contrastive.evaluation.embed import embed_labelled
from keras_contrastive.evaluation.labelled_arrays import labelled_arrays
from keras_contrastive.validation import check_positive, check_positive_int


def _check_integer_labels(data, name: str) -> None:
    if isinstance(data, tf.data.Dataset) and isinstance(data.element_spec, tuple) and len(data.element_spec) == 2:
        dtype = data.element_spec[1].dtype
        integer, dtype_name = dtype.is_integer, dtype.name
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        dtype = np.asarray(data[1]).dtype
        integer, dtype_name = dtype.kind in "iu", dtype.name
    else:
        return  # labelled_arrays names what was expected
    if not integer:
        raise ValueError(f"Expected integer class labels in {name}, got labels of dtype {dtype_name}.")


def _copy(encoder: keras.Model, keep_weights: bool) -> keras.Model:
    """A new encoder of the same architecture, with `encoder`'s weights or freshly initialised ones."""
    copy = keras.models.clone_model(encoder)
    if keep_weights:
        copy.set_weights(encoder.get_weights())
    return copy


def _fit(model, images, labels, epochs, learning_rate, batch_size, seed, verbose) -> None:
    """Trains the model's trainable weights with Adam, the learning rate decayed to zero on a cosine."""
    # The epochs run as one Keras epoch: a subset of ten examples would otherwise cost a whole
    # fit epoch's overhead per step.
    batches = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .repeat(epochs)
        .batch(batch_size)
    )
    steps = int(np.ceil(epochs * len(images) / batch_size))
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        jit_compile=False,  # XLA's compilation takes longer than fine-tuning on a few labels (15 s vs 4 s here)
    )
    model.fit(batches, epochs=1, steps_per_epoch=steps, verbose=verbose)


def _fine_tuned_accuracy(encoder, images, labels, test, num_classes, epochs, learning_rate, head_epochs,
                         head_learning_rate, batch_size, seed, verbose) -> float:
    keras.utils.set_random_seed(seed)
    model = classifier(encoder, num_classes, name="fine_tuned")
    if head_epochs:
        encoder.trainable = False  # the head alone first, on the frozen features (batch norm in inference mode)
        _fit(model, images, labels, head_epochs, head_learning_rate, batch_size, seed, verbose)
        encoder.trainable = True
    _fit(model, images, labels, epochs, learning_rate, batch_size, seed, verbose)
    progress = keras.utils.Progbar(None, verbose=verbose, unit_name="test example")

    def predict(batch):
        probabilities = model.predict_on_batch(batch)
        progress.add(len(probabilities))
        return probabilities

    probabilities, test_labels = embed_labelled(predict, test, batch_size=batch_size)
    if test_labels.min() < 0 or test_labels.max() >= num_classes:
        raise ValueError(
            f"The test labels run from {test_labels.min()} to {test_labels.max()}, outside the {num_classes} "
            "classes of the training labels; pass num_classes."
        )
    return float(np.mean(np.argmax(probabilities, axis=1) == test_labels))


def fine_tune(
    encoder: keras.Model,
    labelled_train,
    test,
    label_fraction: float = 0.01,
    epochs: int = 30,
    learning_rate: float = 1e-3,
    head_epochs: int = 10,
    head_learning_rate: float = 1e-2,
    batch_size: int = 64,
    seed: int = 0,
    compare_random_init: bool = False,
    num_classes: int | None = None,
    verbose: int = 0,
) -> dict:
    """SimCLR's semi-supervised evaluation: test accuracy after fine-tuning on a few labels.

    A class-balanced subset of `label_fraction` of the labelled training
    examples is drawn (`class_balanced_subset`: the same share of each class,
    at least one example of each, fixed by `seed`). A copy of the whole
    encoder with a linear softmax head (`classifier`) is trained on it with
    Adam, its learning rate decayed to zero on a cosine, and scored on the
    test set. The head is first trained alone on the frozen features for
    `head_epochs` (linear probing, then fine-tuning: Kumar et al., 2022):
    a random head trained together with a pretrained encoder on a few
    labels pulls the encoder's features apart before it is any use (on 1%
    of the digits labels, a pretrained encoder scored 0.93 as a frozen
    probe, 0.68 fine-tuned without the head first and 0.74 with it). The caller's encoder is not changed. With
    `compare_random_init`, the same fine-tune runs from the same architecture
    freshly initialised, the baseline that shows what pretraining is worth.

    The labelled training set is read into memory (to draw the subset); the
    test set is streamed.

    Args:
        encoder: A `keras.Model` with one input and a `(batch, dim)` output,
            e.g. `model.encoder` of a trained `ContrastiveModel`.
        labelled_train: A `tf.data.Dataset` of `(image, label)` (batched or
            not), or a tuple `(images, labels)`; integer labels.
        test: The same for the test examples.
        label_fraction: Share of the training labels used, in (0, 1]; 0.01
            and 0.1 in the SimCLR paper.
        epochs: Fine-tuning epochs over the labelled subset.
        learning_rate: Initial Adam learning rate of the fine-tuning.
        head_epochs: Epochs of the head alone before; 0 for none (SimCLR's
            protocol as written).
        head_learning_rate: Initial Adam learning rate of the head alone.
        batch_size: Fine-tuning (and test) batch size.
        seed: Seed of the subset, the head's initialisation, the shuffling
            and the random-init baseline's weights.
        compare_random_init: Whether to run the random-init baseline too.
        num_classes: The number of classes; one more than the largest
            training label by default.
        verbose: 0 for silence, 1 for progress bars (training and testing).

    Returns:
        A dict with `accuracy` (test accuracy of the fine-tuned encoder),
        `label_fraction`, `labelled_examples` (size of the subset),
        `examples_per_class` (a list), and with `compare_random_init`
        `random_init_accuracy`.

    Raises:
        ValueError: for a fraction outside (0, 1], non-integer labels, a
            class without labelled examples, or test labels outside the
            classes.

    Example:
    >>> result = fine_tune(model.encoder, kc.data.load("digits", "train"), kc.data.load("digits", "test"),
    ...                    label_fraction=0.1, compare_random_init=True)
    >>> result["accuracy"], result["random_init_accuracy"]
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    learning_rate = check_positive(learning_rate, "learning_rate")
    head_epochs = check_positive_int(head_epochs, "head_epochs", minimum=0)
    head_learning_rate = check_positive(head_learning_rate, "head_learning_rate")
    _check_integer_labels(labelled_train, "labelled_train")
    _check_integer_labels(test, "test")
    images, labels = labelled_arrays(labelled_train)
    subset = class_balanced_subset(labels, label_fraction, num_classes=num_classes, seed=seed)
    images, labels = images[subset], labels[subset]
    counts = np.bincount(labels, minlength=num_classes or 0)
    num_classes = len(counts)
    settings = dict(test=test, num_classes=num_classes, epochs=epochs, learning_rate=learning_rate,
                    head_epochs=head_epochs, head_learning_rate=head_learning_rate, batch_size=batch_size,
                    seed=seed, verbose=verbose)
    result = {
        "accuracy": _fine_tuned_accuracy(_copy(encoder, keep_weights=True), images, labels, **settings),
        "label_fraction": float(label_fraction),
        "labelled_examples": int(len(labels)),
        "examples_per_class": counts.tolist(),
    }
    if compare_random_init:
        keras.utils.set_random_seed(seed)
        result["random_init_accuracy"] = _fine_tuned_accuracy(
            _copy(encoder, keep_weights=False), images, labels, **settings
        )
    return result
