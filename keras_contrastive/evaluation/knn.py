"""Weighted cosine k-nearest-neighbour accuracy (the InstDisc / lightly protocol)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_contrastive.validation import check_finite_array, check_positive


def knn_accuracy(
    train_embeddings,
    train_labels,
    test_embeddings,
    test_labels,
    k: int = 200,
    temperature: float | None = 0.1,
    batch_size: int = 512,
) -> float:
    """Top-1 accuracy of a k-nearest-neighbour classifier on cosine similarity.

    Each test embedding's `k` most similar training embeddings vote for their
    labels with weight `exp(similarity / temperature)`, or 1 each when
    `temperature` is None (plain majority vote). Test embeddings are scored
    a batch at a time, so memory stays at `batch_size x len(train)`.

    Args:
        train_embeddings: `(N, D)` array of training embeddings.
        train_labels: `(N,)` integer labels.
        test_embeddings: `(M, D)` array of test embeddings.
        test_labels: `(M,)` integer labels.
        k: Number of neighbours, between 1 and N.
        temperature: Positive vote temperature, or None for equal votes.
        batch_size: Test embeddings scored at once.

    Returns:
        The accuracy as a float in [0, 1].

    Example:
    >>> knn_accuracy(model.predict(x_train), y_train, model.predict(x_test), y_test)
    0.85...
    """
    train = check_finite_array(train_embeddings, "The training embeddings").astype(np.float32)
    test = check_finite_array(test_embeddings, "The test embeddings").astype(np.float32)
    train_labels = np.asarray(train_labels).reshape(-1).astype(np.int64)
    test_labels = np.asarray(test_labels).reshape(-1).astype(np.int64)
    if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1]:
        raise ValueError(
            "Expected (N, D) training and (M, D) test embeddings of the same D, got "
            f"{train.shape} and {test.shape}."
        )
    if len(train_labels) != len(train) or len(test_labels) != len(test):
        raise ValueError(
            f"Got {len(train)} training embeddings and {len(train_labels)} labels, "
            f"{len(test)} test embeddings and {len(test_labels)} labels; the counts must match."
        )
    if not 1 <= k <= len(train):
        raise ValueError(f"k must be between 1 and the {len(train)} training embeddings, got {k}.")
    if temperature is not None:
        temperature = check_positive(temperature, "temperature")
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    train_t = tf.math.l2_normalize(tf.constant(train), axis=1)
    train_labels_t = tf.constant(train_labels)
    correct = 0
    for start in range(0, len(test), batch_size):
        query = tf.math.l2_normalize(tf.constant(test[start : start + batch_size]), axis=1)
        similarity = tf.matmul(query, train_t, transpose_b=True)
        top_similarity, top_index = tf.math.top_k(similarity, k=k)
        if temperature is None:
            weights = tf.ones_like(top_similarity)
        else:
            weights = tf.exp(top_similarity / temperature)
        votes = tf.one_hot(tf.gather(train_labels_t, top_index), num_classes)
        scores = tf.reduce_sum(votes * weights[..., None], axis=1)
        predicted = tf.argmax(scores, axis=1).numpy()
        correct += int(np.sum(predicted == test_labels[start : start + batch_size]))
    return correct / len(test)
