"""Supervised contrastive learning (Khosla et al., 2020): every same-class view is a positive."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.supcon import supcon
from keras_contrastive.methods.identity_method import IdentityMethod
from keras_contrastive.validation import check_optional_positive_int, check_positive


@keras.saving.register_keras_serializable(package="keras_contrastive")
class SupCon(IdentityMethod):
    """SupCon: NT-Xent generalised to many positives per anchor, from labels.

    Both views go through the encoder and projector; each of the 2N
    projections has as positives every other view of the same class, and
    the rest of the batch as negatives. Batches must carry labels
    (`make_views` passes them along when the data set yields labels).
    SupCon supports chunking (`ContrastiveModel(..., chunk_size=...)`).

    Args:
        projection_dim: Width of the projection (128 in the paper).
        hidden_dim: Hidden width of the projector; by default the encoder's
            embedding width.
        num_layers: Dense layers in the projector.
        temperature: A positive float (0.1 in the paper).
        use_labels: False makes the views of an image the only positives,
            which is SimCLR.
        block_size: None for the full similarity matrix, or the number of
            candidate columns per block (see `kc.losses.supcon`).
        **kwargs: `projector_batch_norm` (see `ProjectionMethod`) and the
            layer's `name`.

    Example:
    >>> views = kc.data.make_views(kc.data.load("fashion_mnist", with_labels=True), augment)
    >>> model = ContrastiveModel(small_cnn((28, 28, 1)), SupCon(temperature=0.1))
    >>> large = ContrastiveModel(small_cnn((28, 28, 1)), SupCon(block_size=4096), chunk_size=1024)
    """

    def __init__(
        self,
        projection_dim: int = 128,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        temperature: float = 0.1,
        use_labels: bool = True,
        block_size: int | None = None,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, use_labels, **kwargs)
        self.temperature = check_positive(temperature, "temperature")
        self.block_size = check_optional_positive_int(block_size, "block_size")

    def loss_from_identities(self, z_a, z_b, identities) -> tf.Tensor:
        return supcon(z_a, z_b, identities, temperature=self.temperature, block_size=self.block_size)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(temperature=self.temperature, block_size=self.block_size)
        return config
