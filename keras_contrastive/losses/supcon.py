"""SupCon, the supervised contrastive loss of Khosla et al. (2020)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.cross_replica import all_gather_batch, all_gather_views
from keras_contrastive.losses.validation import (
    check_labels,
    check_positive_temperature,
    check_view_pair,
    labels_from_keras,
)


def supcon(
    features_a: tf.Tensor,
    features_b: tf.Tensor,
    labels: tf.Tensor,
    temperature: float = 0.1,
) -> tf.Tensor:
    """The supervised contrastive loss L_out, the mean over all 2N anchors.

    The 2N features of both views are L2-normalised. Every other feature
    with the anchor's label is a positive (its own other view always is);
    for anchor `i` with positives `P(i)`,
    `loss_i = -1/|P(i)| sum_{p in P(i)} log(exp(s_ip / T) / sum_{a != i} exp(s_ia / T))`.
    With all labels distinct this is NT-Xent. Computed in float32 whatever
    the input dtype. Inside `strategy.run` of a `tf.distribute` strategy with
    several replicas, the positives and the denominators range over the
    global batch (features and labels are gathered as in `nt_xent`) and each
    replica returns the mean over its own 2n anchors.

    Args:
        features_a: `(N, D)` projections of the first views, N >= 2.
        features_b: `(N, D)` projections of the second views, same shape.
        labels: `(N,)` integer class labels, shared by both views.
        temperature: A positive float.

    Returns:
        A float32 scalar.

    Raises:
        ValueError: if `labels` is None, not integer or not `(N,)`.

    Example:
    >>> z_a, z_b = tf.random.normal((8, 16)), tf.random.normal((8, 16))
    >>> loss = supcon(z_a, z_b, tf.constant([0, 1, 0, 1, 2, 2, 3, 3]), 0.1)
    """
    check_positive_temperature(temperature)
    features_a, features_b = tf.convert_to_tensor(features_a), tf.convert_to_tensor(features_b)
    check_view_pair(features_a, features_b)
    labels = check_labels(labels, features_a, "SupCon")
    features = tf.concat([features_a, features_b], axis=0)
    features = tf.math.l2_normalize(tf.cast(features, tf.float32), axis=1)
    candidates, selves = all_gather_views(features)
    candidate_labels, _ = all_gather_batch(labels)
    logits = tf.matmul(features, candidates, transpose_b=True) / temperature
    is_self = tf.cast(tf.one_hot(selves, tf.shape(candidates)[0]), tf.bool)
    # -inf drops the anchor from its own denominator with zero gradient.
    log_denominators = tf.reduce_logsumexp(
        tf.where(is_self, -float("inf"), logits), axis=1, keepdims=True
    )
    anchor_labels = tf.concat([labels, labels], axis=0)
    candidate_labels = tf.concat([candidate_labels, candidate_labels], axis=0)
    positives = tf.logical_and(
        tf.equal(anchor_labels[:, None], candidate_labels[None, :]), tf.logical_not(is_self)
    )
    log_probabilities = tf.where(positives, logits - log_denominators, 0.0)
    per_anchor = -tf.reduce_sum(log_probabilities, axis=1) / tf.reduce_sum(
        tf.cast(positives, tf.float32), axis=1
    )
    return tf.reduce_mean(per_anchor)


@keras.saving.register_keras_serializable(package="keras_contrastive")
class SupConLoss(keras.losses.Loss):
    """SupCon as a serialisable Keras loss: `SupConLoss(0.1)(labels, features)`.

    Keras's `y_true` is the `(N,)` integer labels and `y_pred` the two views'
    features stacked as `(N, 2, D)` (`features[:, 0]` the first views,
    `features[:, 1]` the second). Keras casts `y_true` to float32 before
    `call`; the labels are cast back and must be whole numbers. The result
    equals `supcon(features[:, 0], features[:, 1], labels, temperature)`.

    Args:
        temperature: A positive float.
        name: The loss's name.

    Example:
    >>> features = tf.random.normal((4, 2, 8))
    >>> value = SupConLoss(0.1)(tf.constant([0, 1, 0, 1]), features)
    """

    def __init__(self, temperature: float = 0.1, name: str = "supcon", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(name=name, **kwargs)
        check_positive_temperature(temperature)
        self.temperature = float(temperature)

    def call(self, labels, features):
        if features.shape.rank != 3 or features.shape[1] != 2:
            raise ValueError(
                "SupConLoss expects y_pred of shape (batch, 2, dim), the two "
                f"views stacked on axis 1, got shape {features.shape}."
            )
        return supcon(
            features[:, 0], features[:, 1], labels_from_keras(labels), self.temperature
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config["temperature"] = self.temperature
        return config
