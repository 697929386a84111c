"""The base of methods that put an MLP projection head on each tower."""

from __future__ import annotations

import tensorflow as tf

from keras_contrastive.evaluation.embedding_std import embedding_std
from keras_contrastive.heads import ProjectionHead
from keras_contrastive.methods.method import Method
from keras_contrastive.towers import Towers
from keras_contrastive.validation import check_optional_positive_int, check_positive_int


class ProjectionMethod(Method):
    """A method whose loss sees the encoders' embeddings through a projection head.

    A siamese model has one projector; a two-tower model one per tower, each
    from its encoder's width to the shared `projection_dim`. Subclasses set
    the heads' form with the class attributes `projector_batch_norm` and
    `projector_output_batch_norm`, extend `build` for further heads or
    state, and implement `compute_loss_and_metrics`, usually starting from
    `project`, or `loss_from_outputs` of the projections that `forward`
    returns, which lets the method chunk (see `Method`).

    Args:
        projection_dim: Width of the projection the loss sees.
        hidden_dim: Width of the heads' hidden layers; by default each
            encoder's embedding width (`default_hidden_dim`).
        num_layers: Dense layers in each head.
        projector_batch_norm: Whether the projectors' hidden layers are
            batch-normalised; None for the method's own choice (the class
            attribute). False makes the heads free of batch statistics, so
            that a chunked step equals the whole batch's when the encoder
            has no batch norm either.
    """

    #: Whether the projectors' hidden layers are batch-normalised.
    projector_batch_norm: bool = True
    #: Whether the projectors' outputs are batch-normalised.
    projector_output_batch_norm: bool = False

    def __init__(
        self,
        projection_dim: int = 128,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        projector_batch_norm: bool | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.projection_dim = check_positive_int(projection_dim, "projection_dim")
        self.hidden_dim = check_optional_positive_int(hidden_dim, "hidden_dim")
        self.num_layers = check_positive_int(num_layers, "num_layers")
        if projector_batch_norm is not None:
            self.projector_batch_norm = bool(projector_batch_norm)

    def default_hidden_dim(self, embedding_dim: int) -> int:
        """The heads' hidden width when `hidden_dim` is None: the encoder's embedding width."""
        return embedding_dim

    def build(self, towers: Towers) -> None:
        names = ["projector", "pair_projector"]
        self.projectors = []
        for name, dim in zip(names, towers.embedding_dims):
            projector = ProjectionHead(
                hidden_dim=self.hidden_dim or self.default_hidden_dim(dim),
                output_dim=self.projection_dim,
                num_layers=self.num_layers,
                batch_norm=self.projector_batch_norm,
                output_batch_norm=self.projector_output_batch_norm,
                name=name,
            )
            projector.build((None, dim))
            self.projectors.append(projector)
        self.built = True

    def call(self, embeddings, training=None):
        """The projection of the (first) encoder's embeddings."""
        return self.projectors[0](embeddings, training=training)

    def project(self, towers: Towers, view_a, view_b, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
        """Both views through their towers and projectors.

        Returns:
            `(z_a, z_b)`: the `(N, projection_dim)` projections of each view.
        """
        _, projections = towers.forward(view_a, view_b, training, [self.projectors])
        return projections

    def forward(self, towers: Towers, view_a, view_b, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """`project`: the outputs `loss_from_outputs` takes, for the methods that implement it."""
        return self.project(towers, view_a, view_b, training)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            projection_dim=self.projection_dim,
            hidden_dim=self.hidden_dim,
            num_layers=self.num_layers,
            projector_batch_norm=self.projector_batch_norm,
        )
        return config


def pair_embedding_std(z_a: tf.Tensor, z_b: tf.Tensor) -> tf.Tensor:
    """The mean of the two views' `embedding_std`; it falls towards 0 as the projections collapse."""
    return (embedding_std(z_a) + embedding_std(z_b)) / 2.0
