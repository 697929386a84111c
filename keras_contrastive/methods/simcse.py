"""SimCSE (Gao et al., 2021): sentence embeddings by the multiple-negatives ranking loss."""

from __future__ import annotations

import keras

from keras_contrastive.losses.multiple_negatives_ranking import multiple_negatives_ranking_and_accuracy
from keras_contrastive.methods.method import Method
from keras_contrastive.towers import Towers
from keras_contrastive.validation import check_optional_positive_int, check_positive


@keras.saving.register_keras_serializable(package="keras_contrastive")
class SimCSE(Method):
    """SimCSE: each anchor's embedding ranked against the batch's positives (and hard negatives).

    The loss is `kc.losses.multiple_negatives_ranking` on the encoders'
    embeddings themselves (no projection head), so what is trained is what
    is served.

    - Unsupervised: batches `(sentences, sentences)` (the same sentence
      twice, `kc.data.make_views(texts, None)`). In a siamese model both
      copies go through the encoder as one batch, so dropout draws a new mask
      for each: dropout is the only augmentation, and the encoder must have
      some (the text encoders of `kc.encoders` do).
    - Supervised: batches `(anchors, positives)` or `(anchors, positives,
      hard_negatives)` (`kc.data.make_pairs`): in-batch negatives plus every
      hard negative of the batch, sentence-transformers'
      `MultipleNegativesRankingLoss`. In a two-tower model the positives and
      hard negatives go through the pair encoder (queries and documents).

    Under `tf.distribute` the positives and hard negatives of all replicas
    are candidates, as on one device. Besides the loss each step reports
    `contrastive_accuracy`: how often an anchor's own positive is its most
    similar candidate.

    Args:
        temperature: The softmax temperature, a positive number (0.05, as
            SimCSE and sentence-transformers' scale of 20).
        block_size: None for the full similarity matrix, or the number of
            candidate columns per block (see `kc.losses.blockwise`).
        **kwargs: The layer's `name`.

    Example:
    >>> encoder = kc.encoders.text_transformer(kc.text.train_tokenizer(sentences))
    >>> model = kc.ContrastiveModel(encoder, kc.methods.SimCSE())
    >>> model.compile(optimizer=keras.optimizers.Adam(3e-4))
    >>> model.fit(kc.data.make_views(tf.data.Dataset.from_tensor_slices(sentences), None, batch_size=64))
    """

    metric_names = ("contrastive_accuracy",)

    def __init__(self, temperature: float = 0.05, block_size: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.temperature = check_positive(temperature, "temperature")
        self.block_size = check_optional_positive_int(block_size, "block_size")

    def check_third_part(self, third, batch: int | None, towers: Towers) -> None:
        """A third part, when given, is a batch of hard negatives for view b's encoder."""
        if third is None:
            return
        try:
            towers.input_pair[1].check(third, "hard_negatives")
        except ValueError as error:
            raise ValueError(
                f"{error} SimCSE takes a batch's third part as hard negatives (kc.data.make_pairs), not class "
                "labels: make the views of unlabelled examples."
            ) from None

    def compute_loss_and_metrics(self, towers: Towers, view_a, view_b, labels=None, training: bool = False):
        """The ranking loss of view a's embeddings against view b's and the hard negatives (`labels`) of the batch."""
        ((h_a, h_b),) = towers.forward(view_a, view_b, training)
        hard = None if labels is None else towers.forward_side(1, labels, training)[0]
        loss, accuracy = multiple_negatives_ranking_and_accuracy(h_a, h_b, hard, self.temperature, self.block_size)
        return {"loss": loss, "contrastive_accuracy": accuracy}

    def call(self, embeddings, training=None):
        """The embeddings themselves: SimCSE has no head."""
        return embeddings

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(temperature=self.temperature, block_size=self.block_size)
        return config
