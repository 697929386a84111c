"""Linear evaluation: a softmax classifier on frozen features."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.evaluation.embed import embed
from keras_contrastive.evaluation.labelled_arrays import labelled_arrays
from keras_contrastive.validation import check_finite_array


def linear_probe_accuracy(
    train_features,
    train_labels,
    test_features,
    test_labels,
    epochs: int = 30,
    batch_size: int = 256,
    learning_rate: float = 1e-2,
    seed: int = 0,
) -> float:
    """Test accuracy of a linear softmax classifier trained on frozen features.

    Features are standardised with the training set's mean and standard
    deviation, then a single Dense softmax layer is trained with Adam, its
    learning rate decayed to zero on a cosine, on the training features and
    scored on the test features.

    Args:
        train_features: `(N, D)` features of the training images.
        train_labels: `(N,)` integer labels.
        test_features: `(M, D)` features of the test images.
        test_labels: `(M,)` integer labels.
        epochs: Training epochs of the classifier.
        batch_size: Classifier batch size.
        learning_rate: Initial Adam learning rate.
        seed: Seed of the classifier's initialisation and shuffling.

    Returns:
        The test accuracy as a float in [0, 1].

    Example:
    >>> linear_probe_accuracy(encoder.predict(x_train), y_train,
    ...                       encoder.predict(x_test), y_test)
    """
    train_x = check_finite_array(train_features, "The training features").astype(np.float32).reshape(len(train_features), -1)
    test_x = check_finite_array(test_features, "The test features").astype(np.float32).reshape(len(test_features), -1)
    train_y = np.asarray(train_labels).reshape(-1).astype(np.int64)
    test_y = np.asarray(test_labels).reshape(-1).astype(np.int64)
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError(
            f"Got {len(train_x)} training features and {len(train_y)} labels, "
            f"{len(test_x)} test features and {len(test_y)} labels; the counts must match."
        )
    if train_x.shape[1] != test_x.shape[1]:
        raise ValueError(
            f"Training and test features differ in width: {train_x.shape[1]} and {test_x.shape[1]}."
        )
    mean = train_x.mean(axis=0)
    std = train_x.std(axis=0) + 1e-6
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    weights = _fit_softmax_classifier(
        (train_x - mean) / std, train_y, num_classes, epochs, batch_size, learning_rate, seed
    )
    logits = ((test_x - mean) / std) @ weights[0] + weights[1]
    return float(np.mean(np.argmax(logits, axis=1) == test_y))


def _fit_softmax_classifier(x: np.ndarray, y: np.ndarray, num_classes: int, epochs: int, batch_size: int,
                            learning_rate: float, seed: int) -> list[np.ndarray]:
    """The kernel and bias of a Dense softmax layer trained with Adam on a cosine decay, as Keras's `fit` would.

    Each epoch visits the examples in a new seeded order in batches of
    `batch_size` (the last one smaller). All epochs run in one compiled
    loop: a Keras `fit` spends more time per epoch on its own machinery
    than on a small classifier, and the probe runs for every encoder that
    is evaluated.
    """
    count = len(x)
    steps_per_epoch = int(np.ceil(count / batch_size))
    keras.utils.set_random_seed(seed)
    dense = keras.layers.Dense(num_classes)
    dense.build((None, x.shape[1]))
    optimizer = keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps_per_epoch)
    )
    optimizer.build(dense.trainable_variables)
    rng = np.random.default_rng(seed)
    order = tf.constant(np.concatenate([rng.permutation(count) for _ in range(epochs)]), tf.int32)
    epoch_starts = np.repeat(np.arange(epochs) * count, steps_per_epoch)
    batch_starts = np.tile(np.arange(steps_per_epoch) * batch_size, epochs)
    starts = tf.constant(epoch_starts + batch_starts, tf.int32)
    ends = tf.constant(epoch_starts + np.minimum(batch_starts + batch_size, count), tf.int32)
    features, labels = tf.constant(x, tf.float32), tf.constant(y, tf.int64)

    @tf.function
    def train():
        for step in tf.range(epochs * steps_per_epoch):
            batch = order[starts[step] : ends[step]]
            with tf.GradientTape() as tape:
                logits = dense(tf.gather(features, batch))
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.gather(labels, batch), logits))
            optimizer.apply_gradients(zip(tape.gradient(loss, dense.trainable_variables), dense.trainable_variables))

    train()
    return [variable.numpy() for variable in (dense.kernel, dense.bias)]


def linear_probe(
    encoder: keras.Model,
    train_data,
    test_data,
    epochs: int = 30,
    batch_size: int = 256,
    learning_rate: float = 1e-2,
    horizontal_flip: bool = False,
    seed: int = 0,
) -> float:
    """The standard linear evaluation of a frozen encoder, returning test accuracy.

    The encoder embeds the images once in inference mode (it is never
    trained); a linear softmax classifier is then fitted on the features by
    `linear_probe_accuracy`. The only augmentation is the optional horizontal
    flip, which adds each training image's mirror image to the training set.

    Args:
        encoder: A model from images to features, e.g. `model.encoder` of a
            `ContrastiveModel` (or the `ContrastiveModel` itself).
        train_data: A `tf.data.Dataset` of `(image, label)` (batched or not),
            or a tuple `(images, labels)`.
        test_data: The same for the test images.
        epochs: Training epochs of the classifier.
        batch_size: Classifier batch size.
        learning_rate: Initial Adam learning rate.
        horizontal_flip: Whether to train on mirrored copies as well.
        seed: Seed of the classifier's initialisation and shuffling.

    Returns:
        The test accuracy as a float in [0, 1].

    Example:
    >>> linear_probe(model.encoder, kc.data.load("digits", "train"),
    ...              kc.data.load("digits", "test"), epochs=30)
    0.97...
    """
    train_images, train_labels = labelled_arrays(train_data)
    test_images, test_labels = labelled_arrays(test_data)
    train_features = embed(encoder, train_images)
    if horizontal_flip:
        train_features = np.concatenate([train_features, embed(encoder, train_images[:, :, ::-1])])
        train_labels = np.concatenate([train_labels, train_labels])
    return linear_probe_accuracy(
        train_features, train_labels, embed(encoder, test_images), test_labels,
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
    )
