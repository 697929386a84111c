"""NNCLR (Dwibedi et al., 2021): nearest neighbours from a support set as positives."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.heads import prediction_head
from keras_contrastive.losses.info_nce import info_nce_and_accuracy
from keras_contrastive.methods.embedding_queue import EmbeddingQueue
from keras_contrastive.methods.projection_method import ProjectionMethod
from keras_contrastive.towers import Towers
from keras_contrastive.validation import check_optional_positive_int, check_positive, check_positive_int


@keras.saving.register_keras_serializable(package="keras_contrastive")
class NNCLR(ProjectionMethod):
    """NNCLR: each view's positive is the nearest neighbour of the other view.

    Both views go through the encoder, projector and predictor. Each
    projection is replaced by its nearest neighbour (cosine) in a support set
    of projections from earlier steps; InfoNCE then pulls each view's
    prediction towards the neighbour of the other view, symmetric over the
    views and over the two sides of each similarity matrix: each neighbour
    picks its prediction out of the batch's predictions, and each prediction
    its neighbour out of the batch's neighbours (as in the Keras example of
    NNCLR; on Fashion-MNIST this learns faster than one side alone). The
    support set is a queue in the method's variables; view a's projections
    enter it after each step. Neighbours are drawn only from projections
    already written to it, never from its random initial rows; on the very
    first step, when it holds none, each projection is its own positive, as
    in SimCLR.

    Args:
        projection_dim: Width of the projection (256 in the paper).
        hidden_dim: Hidden width of the projector; by default the encoder's
            embedding width.
        num_layers: Dense layers in the projector.
        predictor_hidden_dim: Hidden width of the predictor; by default
            `4 * projection_dim`.
        temperature: InfoNCE temperature, a positive number (0.1 in the paper).
        support_set_size: Projections kept to draw neighbours from; at least
            the batch size.
        block_size: None for InfoNCE's full similarity matrices, or the
            number of candidate columns per block.

    Example:
    >>> model = ContrastiveModel(small_cnn((28, 28, 1)), NNCLR(support_set_size=8192))
    """

    metric_names = ("contrastive_accuracy",)

    def __init__(
        self,
        projection_dim: int = 256,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        predictor_hidden_dim: int | None = None,
        temperature: float = 0.1,
        support_set_size: int = 8192,
        block_size: int | None = None,
        **kwargs,
    ):
        super().__init__(projection_dim, hidden_dim, num_layers, **kwargs)
        self.predictor_hidden_dim = check_optional_positive_int(predictor_hidden_dim, "predictor_hidden_dim")
        self.temperature = check_positive(temperature, "temperature")
        self.support_set_size = check_positive_int(support_set_size, "support_set_size")
        self.block_size = check_optional_positive_int(block_size, "block_size")

    def build(self, towers: Towers) -> None:
        super().build(towers)
        hidden = self.predictor_hidden_dim or 4 * self.projection_dim
        self.predictors = [
            prediction_head(self.projection_dim, hidden, name=name)
            for name, _ in zip(["predictor", "pair_predictor"], towers.encoders)
        ]
        self.support_set = EmbeddingQueue(self.support_set_size, name="support_set")
        self.support_set.build((None, self.projection_dim))

    def nearest_neighbours(self, normalised: tf.Tensor) -> tf.Tensor:
        """The support set's most cosine-similar written entry to each L2-normalised float32 projection.

        While the support set holds no projections yet, the projections themselves.
        """
        support = self.support_set.embeddings
        similarities = tf.matmul(normalised, support, transpose_b=True)
        # Cosine similarities are at least -1, so -2 puts unwritten rows last.
        similarities = tf.where(self.support_set.written_rows()[None, :], similarities, -2.0)
        neighbours = tf.gather(support, tf.argmax(similarities, axis=1))
        return tf.where(self.support_set.filled > 0, neighbours, normalised)

    def compute_loss_and_metrics(self, towers, view_a, view_b, labels=None, training=False) -> dict[str, tf.Tensor]:
        _, (z_a, z_b), (p_a, p_b) = towers.forward(view_a, view_b, training, [self.projectors, self.predictors])
        unit_a, unit_b = (tf.stop_gradient(tf.math.l2_normalize(tf.cast(z, tf.float32), axis=1)) for z in (z_a, z_b))
        neighbours_a, neighbours_b = self.nearest_neighbours(unit_a), self.nearest_neighbours(unit_b)
        terms = [
            info_nce_and_accuracy(queries, keys, None, self.temperature, self.block_size)
            for queries, keys in (
                (neighbours_a, p_b), (p_b, neighbours_a), (neighbours_b, p_a), (p_a, neighbours_b)
            )
        ]
        return {
            "loss": tf.add_n([loss for loss, _ in terms]) / len(terms),
            "contrastive_accuracy": tf.add_n([accuracy for _, accuracy in terms]) / len(terms),
            "support": unit_a,
        }

    def after_step(self, towers: Towers, results: dict) -> None:
        self.support_set.enqueue(results["support"])  # view a's normalised projections

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            predictor_hidden_dim=self.predictor_hidden_dim,
            temperature=self.temperature,
            support_set_size=self.support_set_size,
            block_size=self.block_size,
        )
        return config
