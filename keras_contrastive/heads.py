"""MLP heads that sit on top of an encoder: projection and prediction heads."""

from __future__ import annotations

import keras

from keras_contrastive.validation import check_positive_int


@keras.saving.register_keras_serializable(package="keras_contrastive")
class ProjectionHead(keras.layers.Layer):
    """An MLP head: (Dense -> BatchNorm -> ReLU) x (num_layers - 1) -> Dense.

    The SimCLR v2 / lightly form of the projection head. The last layer has
    no activation; `output_batch_norm=True` adds a BatchNorm after it (as
    Barlow Twins and VICReg use).

    Args:
        hidden_dim: Width of the hidden layers.
        output_dim: Width of the output.
        num_layers: Number of Dense layers, at least 1.
        batch_norm: Whether hidden layers are batch-normalised.
        output_batch_norm: Whether the output is batch-normalised.

    Example:
    >>> head = ProjectionHead(hidden_dim=256, output_dim=64)
    >>> head(keras.ops.ones((4, 32))).shape
    (4, 64)
    """

    def __init__(
        self,
        hidden_dim: int = 512,
        output_dim: int = 128,
        num_layers: int = 2,
        batch_norm: bool = True,
        output_batch_norm: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_dim = check_positive_int(hidden_dim, "hidden_dim")
        self.output_dim = check_positive_int(output_dim, "output_dim")
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.batch_norm = bool(batch_norm)
        self.output_batch_norm = bool(output_batch_norm)
        self.blocks = []
        for _ in range(self.num_layers - 1):
            self.blocks.append(
                keras.layers.Dense(self.hidden_dim, use_bias=not self.batch_norm)
            )
            if self.batch_norm:
                self.blocks.append(keras.layers.BatchNormalization())
            self.blocks.append(keras.layers.ReLU())
        self.blocks.append(
            keras.layers.Dense(self.output_dim, use_bias=not self.output_batch_norm)
        )
        if self.output_batch_norm:
            self.blocks.append(keras.layers.BatchNormalization(center=False, scale=False))

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.blocks:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, inputs, training=None):
        x = inputs
        for layer in self.blocks:
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.output_dim,)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            hidden_dim=self.hidden_dim,
            output_dim=self.output_dim,
            num_layers=self.num_layers,
            batch_norm=self.batch_norm,
            output_batch_norm=self.output_batch_norm,
        )
        return config


def prediction_head(dim: int, hidden_dim: int, name: str = "predictor") -> ProjectionHead:
    """The built predictor of BYOL, SimSiam and NNCLR: a 2-layer MLP from `dim` to `dim`.

    Args:
        dim: Width of the projections it maps (input and output).
        hidden_dim: Width of its hidden layer (a bottleneck in SimSiam).
        name: The layer's name.

    Returns:
        A built `ProjectionHead`.

    Example:
    >>> predictor = prediction_head(256, hidden_dim=1024)
    """
    head = ProjectionHead(hidden_dim=hidden_dim, output_dim=dim, num_layers=2, name=name)
    head.build((None, dim))
    return head
