"""The margin contrastive loss over pairs (Hadsell, Chopra and LeCun, 2006)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.pair_margin import pair_margin
from keras_contrastive.methods.identity_method import IdentityMethod
from keras_contrastive.validation import check_non_negative


@keras.saving.register_keras_serializable(package="keras_contrastive")
class PairMargin(IdentityMethod):
    """Similar pairs pulled together, dissimilar pairs pushed beyond a margin.

    Both views go through the encoder and projector and are L2-normalised;
    every pair among the 2N embeddings is similar when the two share a class
    label (or, with `use_labels=False`, a source image) and dissimilar
    otherwise.

    Args:
        projection_dim: Width of the embedding the loss sees.
        hidden_dim: Hidden width of the projector.
        num_layers: Dense layers in the projector.
        margin: Distance beyond which dissimilar pairs cost nothing, >= 0
            (unit embeddings are at most 2 apart).
        use_labels: Whether similar pairs are same-class views (else the
            views of the same image).

    Example:
    >>> model = ContrastiveModel(small_cnn((28, 28, 1)), PairMargin(margin=1.0))
    """

    def __init__(
        self,
        projection_dim: int = 128,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        margin: float = 1.0,
        use_labels: bool = True,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, use_labels, **kwargs)
        self.margin = check_non_negative(margin, "margin")

    def loss_from_identities(self, z_a, z_b, identities) -> tf.Tensor:
        return pair_margin(z_a, z_b, identities, margin=self.margin)

    def get_config(self) -> dict:
        config = super().get_config()
        config["margin"] = self.margin
        return config
