"""The triplet margin loss (Schroff et al., 2015; Hermans et al., 2017) with in-batch mining."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.triplet import MINING_STRATEGIES, triplet_margin
from keras_contrastive.methods.identity_method import IdentityMethod
from keras_contrastive.validation import check_choice, check_non_negative


@keras.saving.register_keras_serializable(package="keras_contrastive")
class Triplet(IdentityMethod):
    """Triplets mined in the batch: an anchor nearer its positive than its negative by a margin.

    Both views go through the encoder and projector, are L2-normalised, and
    triplets are mined among the 2N embeddings: positives share the anchor's
    class label (or, with `use_labels=False`, its source image).

    Args:
        projection_dim: Width of the embedding the loss sees.
        hidden_dim: Hidden width of the projector.
        num_layers: Dense layers in the projector.
        margin: The margin between positive and negative distances, >= 0.
        mining: "semi_hard" (FaceNet), "batch_hard" or "batch_all".
        use_labels: Whether positives are same-class views (else the views
            of the same image).

    Example:
    >>> model = ContrastiveModel(small_cnn((28, 28, 1)), Triplet(margin=0.2, mining="batch_hard"))
    """

    def __init__(
        self,
        projection_dim: int = 128,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        margin: float = 0.2,
        mining: str = "semi_hard",
        use_labels: bool = True,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, use_labels, **kwargs)
        self.margin = check_non_negative(margin, "margin")
        self.mining = check_choice(mining, "mining", MINING_STRATEGIES)

    def loss_from_identities(self, z_a, z_b, identities) -> tf.Tensor:
        return triplet_margin(z_a, z_b, identities, margin=self.margin, mining=self.mining)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(margin=self.margin, mining=self.mining)
        return config
