"""The base of methods that put an MLP projection head on the encoder."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.heads import ProjectionHead
from keras_contrastive.methods.method import Method


class ProjectionMethod(Method):
    """A method whose loss sees the encoder's embeddings through a projection head.

    Subclasses set the head's form with the class attributes
    `projector_batch_norm` and `projector_output_batch_norm`, extend `build`
    for further heads or state, and implement `compute_loss_and_metrics`,
    usually starting from `project`.

    Args:
        projection_dim: Width of the projection the loss sees.
        hidden_dim: Width of the head's hidden layers; by default the
            encoder's embedding width.
        num_layers: Dense layers in the head.
    """

    #: Whether the projector's hidden layers are batch-normalised.
    projector_batch_norm: bool = True
    #: Whether the projector's output is batch-normalised.
    projector_output_batch_norm: bool = False

    def __init__(
        self,
        projection_dim: int = 128,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.projection_dim = int(projection_dim)
        self.hidden_dim = None if hidden_dim is None else int(hidden_dim)
        self.num_layers = int(num_layers)
        self.projector = None

    def build(self, embedding_shape):
        self.projector = ProjectionHead(
            hidden_dim=self.hidden_dim or int(embedding_shape[-1]),
            output_dim=self.projection_dim,
            num_layers=self.num_layers,
            batch_norm=self.projector_batch_norm,
            output_batch_norm=self.projector_output_batch_norm,
            name="projector",
        )
        self.projector.build(embedding_shape)
        self.built = True

    def call(self, embeddings, training=None):
        """The projection of encoder embeddings."""
        return self.projector(embeddings, training=training)

    def project(
        self, encoder: keras.Model, view_a: tf.Tensor, view_b: tf.Tensor, training: bool
    ) -> tf.Tensor:
        """Both views through the encoder and projector as one batch.

        Returns:
            `(2N, projection_dim)`: view a's projections, then view b's.
        """
        embeddings = encoder(tf.concat([view_a, view_b], axis=0), training=training)
        return self.projector(embeddings, training=training)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            projection_dim=self.projection_dim,
            hidden_dim=self.hidden_dim,
            num_layers=self.num_layers,
        )
        return config
