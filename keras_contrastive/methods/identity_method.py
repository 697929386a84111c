"""The base of methods whose loss compares embeddings by identity: class labels or source images."""

from __future__ import annotations

import tensorflow as tf

from keras_contrastive.evaluation.embedding_std import embedding_std
from keras_contrastive.methods.projection_method import ProjectionMethod


class IdentityMethod(ProjectionMethod):
    """A projection method whose loss takes L2-normalised embeddings and identities.

    With `use_labels=True` (the default) the identity of both views of an
    image is its class label, and batches must carry labels; with
    `use_labels=False` it is the image itself, so the only positive of a view
    is the other view of its image. Subclasses implement
    `loss_from_identities`. `embedding_std` of the projections shows collapse.

    Args:
        projection_dim, hidden_dim, num_layers: The projector's shape.
        use_labels: Whether identities are class labels (else source images).
    """

    metric_names = ("embedding_std",)

    def __init__(
        self,
        projection_dim: int = 128,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        use_labels: bool = True,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, **kwargs)
        self.use_labels = bool(use_labels)

    @property
    def requires_labels(self) -> bool:
        return self.use_labels

    def loss_from_identities(self, embeddings: tf.Tensor, identities: tf.Tensor) -> tf.Tensor:
        """The loss of `(2N, D)` unit embeddings (view a's rows, then view b's) and `(2N,)` identities."""
        raise NotImplementedError(f"{type(self).__name__} must implement loss_from_identities.")

    def compute_loss_and_metrics(
        self, encoder, view_a, view_b, labels=None, training=False
    ) -> dict[str, tf.Tensor]:
        projections = self.project(encoder, view_a, view_b, training)
        embeddings = tf.math.l2_normalize(tf.cast(projections, tf.float32), axis=1)
        if self.use_labels:
            identities = tf.cast(labels, tf.int32)
        else:
            identities = tf.range(tf.shape(view_a)[0])
        identities = tf.concat([identities, identities], axis=0)
        loss = self.loss_from_identities(embeddings, identities)
        return {"loss": loss, "embedding_std": embedding_std(projections)}

    def get_config(self) -> dict:
        config = super().get_config()
        config["use_labels"] = self.use_labels
        return config
