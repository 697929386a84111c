"""The base of methods whose loss compares embeddings by identity: class labels or source examples."""

from __future__ import annotations

import tensorflow as tf

from keras_contrastive.methods.projection_method import ProjectionMethod, pair_embedding_std
from keras_contrastive.validation import check_labels


class IdentityMethod(ProjectionMethod):
    """A projection method whose loss takes L2-normalised projections and the identity of each example.

    With `use_labels=True` (the default) an example's identity is its class
    label, and batches must carry labels; with `use_labels=False` it is the
    example itself, so the only positive of a view is the other view of its
    example. Labels are checked (integer, one per example) before use and
    keep their dtype. Subclasses implement `loss_from_identities`.
    `embedding_std` of the projections shows collapse. The loss is a
    function of the projections that `forward` returns, so these methods
    support chunking (see `Method`).

    Args:
        projection_dim, hidden_dim, num_layers: The projectors' shape.
        use_labels: Whether identities are class labels (else the examples).
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

    def loss_from_identities(self, z_a: tf.Tensor, z_b: tf.Tensor, identities: tf.Tensor) -> tf.Tensor:
        """The loss of `(N, D)` unit projections of both views and the `(N,)` identities they share."""
        raise NotImplementedError(f"{type(self).__name__} must implement loss_from_identities.")

    def loss_from_outputs(self, outputs, labels=None) -> dict[str, tf.Tensor]:
        z_a, z_b = outputs
        if self.use_labels:
            identities = check_labels(labels, z_a, type(self).__name__)
        else:
            identities = tf.range(tf.shape(z_a)[0])
        unit_a, unit_b = (tf.math.l2_normalize(tf.cast(z, tf.float32), axis=1) for z in (z_a, z_b))
        loss = self.loss_from_identities(unit_a, unit_b, identities)
        return {"loss": loss, "embedding_std": pair_embedding_std(z_a, z_b)}

    def get_config(self) -> dict:
        config = super().get_config()
        config["use_labels"] = self.use_labels
        return config
