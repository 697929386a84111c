"""Two-tower retrieval by the in-batch sampled softmax with the logQ correction (Yi et al., 2019)."""

from __future__ import annotations

from collections.abc import Mapping

import keras
import tensorflow as tf

from keras_contrastive.losses.in_batch_softmax import in_batch_softmax_and_accuracy
from keras_contrastive.methods.frequency_estimator import FrequencyEstimator
from keras_contrastive.methods.method import Method
from keras_contrastive.towers import Towers
from keras_contrastive.validation import (
    after_checks,
    check_in_range,
    check_optional_positive_int,
    check_positive,
    check_positive_int,
)

#: The keys a batch's third part may have when it is a dict.
THIRD_PART_KEYS = ("item_ids", "sampling_probabilities")


@keras.saving.register_keras_serializable(package="keras_contrastive")
class InBatchSoftmax(Method):
    """The in-batch sampled softmax of "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item Recommendations".

    Made for two towers, `ContrastiveModel(user_tower, InBatchSoftmax(),
    pair_encoder=item_tower)` on batches of interactions: the user of each
    interaction is a query, its item the positive, and the other items of
    the batch the negatives, scored by the cosine of the towers' embeddings
    over `temperature` (`kc.losses.in_batch_softmax`). There is no head: the
    towers' embeddings are what is trained and what is served, so items can
    be indexed with the item tower and users embedded with the user tower.

    In-batch negatives are sampled as the items occur in the data, so
    popular items are negatives more often than in the full softmax over
    the catalogue, and the model learns to push them down. The logQ
    correction subtracts each candidate's log sampling probability from its
    logit, which undoes that bias:

    - `sampling_correction=True` estimates the probabilities in a stream
      (`FrequencyEstimator`, the paper's hashed arrays A and B): each step's
      loss uses the estimates from the steps before, and `after_step`
      counts the step's items, so the estimates are method weights, saved
      with the model and resumed.
    - `sampling_correction="given"` takes them from each batch (your own
      counts over the training data, say).
    - `sampling_correction=False` uses none.

    With `remove_accidental_hits`, an item occurring in several rows of the
    batch is not a negative of the users whose positive it is.

    Batches (`(users, items)` or `(users, items, third)`):

    - `(users, items)` when the item tower takes the item ids themselves
      (`kc.encoders.item_tower`, `kc.encoders.id_tower`: strings or integers
      of shape `(batch,)`); the ids are the items.
    - `(users, items, item_ids)`: the items' ids, `(batch,)` strings or
      integers, when the item tower takes features (the same ids identify
      the same item: the accidental-hit mask and the frequencies use them).
    - `(users, items, {"item_ids": ..., "sampling_probabilities": ...})`: the
      ids (which may be left out when the items are ids) and, with
      `sampling_correction="given"`, each item's float `(batch,)` sampling
      probability (only their ratios matter).

    A method that needs no ids (`sampling_correction` False or "given",
    `remove_accidental_hits=False`) takes any item tower without them.
    Besides the loss each step reports `contrastive_accuracy`: how often a
    user's own item has the highest corrected logit among the batch's.
    Under `tf.distribute` the items, their probabilities and ids are
    gathered from every replica, and every replica's estimator counts the
    global batch.

    Args:
        temperature: The softmax temperature, a positive number (0.05).
        sampling_correction: True (estimated in a stream), "given" (from
            the batches) or False.
        remove_accidental_hits: Whether the batch's other rows of a user's
            item are left out of that user's softmax.
        frequency_buckets: The length of the estimator's hashed arrays, a
            positive int; some hundred times the number of distinct items
            keeps hash collisions (which merge items' counts) rare. Its
            arrays take 12 bytes a bucket in memory and in the saved model.
        frequency_learning_rate: The estimator's step in (0, 1] (see
            `FrequencyEstimator`); larger adapts faster to a changing
            stream, smaller averages over more occurrences.
        block_size: None for the full similarity matrix, or the number of
            candidate columns per block (see `kc.losses.blockwise`); only
            with `remove_accidental_hits=False`.
        **kwargs: The layer's `name`.

    Example:
    >>> users = kc.encoders.id_tower(train_user_ids, embedding_dim=64)
    >>> items = kc.encoders.item_tower(catalogue.item_ids, catalogue.titles, catalogue.genres, embedding_dim=64)
    >>> model = kc.ContrastiveModel(users, kc.methods.InBatchSoftmax(), pair_encoder=items)
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
    >>> model.fit(kc.data.load_interactions("movielens", "train").shuffle(100_000).batch(1024))
    """

    metric_names = ("contrastive_accuracy",)

    def __init__(
        self,
        temperature: float = 0.05,
        sampling_correction: bool | str = True,
        remove_accidental_hits: bool = True,
        frequency_buckets: int = 2**20,
        frequency_learning_rate: float = 0.05,
        block_size: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if tf.is_tensor(temperature) or isinstance(temperature, tf.Variable):
            raise ValueError("temperature must be a positive number, got a tensor.")
        self.temperature = check_positive(temperature, "temperature")
        if not (isinstance(sampling_correction, bool) or sampling_correction == "given"):
            raise ValueError(
                "sampling_correction must be True (estimated in a stream), 'given' (from the batches) or False, "
                f"got {sampling_correction!r}."
            )
        self.sampling_correction = sampling_correction
        if not isinstance(remove_accidental_hits, bool):
            raise ValueError(f"remove_accidental_hits must be True or False, got {remove_accidental_hits!r}.")
        self.remove_accidental_hits = remove_accidental_hits
        self.frequency_buckets = check_positive_int(frequency_buckets, "frequency_buckets")
        self.frequency_learning_rate = check_in_range(frequency_learning_rate, "frequency_learning_rate", 0.0, 1.0)
        if self.frequency_learning_rate == 0.0:
            raise ValueError("frequency_learning_rate must be a number in (0, 1], got 0.")
        self.block_size = check_optional_positive_int(block_size, "block_size")
        if self.block_size is not None and remove_accidental_hits:
            raise ValueError(
                "block_size needs remove_accidental_hits=False: the blockwise softmax leaves out at most one "
                "column per row, not every row sharing the positive's item."
            )

    @property
    def estimates_frequencies(self) -> bool:
        """Whether the sampling probabilities are estimated in a stream (`sampling_correction=True`)."""
        return self.sampling_correction is True

    @property
    def needs_ids(self) -> bool:
        """Whether every batch must identify its items (for the accidental hits or the estimator)."""
        return self.remove_accidental_hits or self.estimates_frequencies

    def build(self, towers: Towers) -> None:
        if self.estimates_frequencies:
            self.frequency_estimator = FrequencyEstimator(
                self.frequency_buckets, self.frequency_learning_rate, name="frequency_estimator"
            )
            self.frequency_estimator.build()
        self.built = True

    @staticmethod
    def items_are_ids(towers: Towers) -> bool:
        """Whether the item tower takes one string or integer id per item, which then identifies it."""
        item_input = towers.input_pair[1]
        return item_input.shape == () and item_input.kind in ("text", "ids")

    def check_third_part(self, third, batch: int | None, towers: Towers) -> None:
        """The third part is the items' ids, or a dict of them and their sampling probabilities (see the class)."""
        ids, probabilities = _split_third_part(third)
        if ids is not None:
            _check_column(ids, batch, "item_ids", "string or integer ids", lambda d: d == tf.string or d.is_integer)
        if probabilities is not None:
            if self.sampling_correction != "given":
                raise ValueError(
                    "The batch gives sampling_probabilities, which only InBatchSoftmax(sampling_correction='given') "
                    f"uses; this one has sampling_correction={self.sampling_correction!r}."
                )
            _check_column(probabilities, batch, "sampling_probabilities", "float probabilities",
                          lambda d: d.is_floating)
        elif self.sampling_correction == "given":
            raise ValueError(
                "InBatchSoftmax(sampling_correction='given') needs each batch's sampling probabilities: batches "
                "(users, items, {'sampling_probabilities': p}) with p a float (batch,) tensor, and 'item_ids' too "
                "unless the items are ids."
            )
        if ids is None and self.needs_ids and not self.items_are_ids(towers):
            needs = " and ".join(
                reason for reason, needed in (("to remove accidental hits", self.remove_accidental_hits),
                                              ("to estimate sampling probabilities", self.estimates_frequencies))
                if needed
            )
            raise ValueError(
                f"InBatchSoftmax needs the items' ids {needs}, and the item tower takes "
                f"{towers.input_pair[1].describe()}, not ids: give batches (users, items, item_ids) with item_ids "
                "a (batch,) string or integer tensor, or make the method with sampling_correction=False (or "
                "'given') and remove_accidental_hits=False."
            )

    def item_ids(self, towers: Towers, items, third) -> tf.Tensor | None:
        """The batch's item ids: the third part's, else the items themselves when they are ids, else None."""
        ids, _ = _split_third_part(third)
        if ids is None and self.items_are_ids(towers):
            ids = items
        return None if ids is None else tf.convert_to_tensor(ids)

    def compute_loss_and_metrics(self, towers: Towers, view_a, view_b, labels=None, training: bool = False):
        """The in-batch softmax of the users' embeddings against the items', corrected with the current estimates.

        `labels` is the batch's third part. Besides "loss" and
        "contrastive_accuracy", the result holds the items' estimator
        buckets ("item_buckets"), which `after_step` counts.
        """
        ids = self.item_ids(towers, view_b, labels)
        ((users, items),) = towers.forward(view_a, view_b, training)
        results = {}
        log_probabilities = None
        if self.estimates_frequencies:
            buckets = self.frequency_estimator.buckets(ids)
            log_probabilities = self.frequency_estimator.log_probabilities_of_buckets(buckets)
            results["item_buckets"] = buckets
        elif self.sampling_correction == "given":
            probabilities = tf.cast(_split_third_part(labels)[1], tf.float32)
            probabilities = after_checks([
                tf.debugging.assert_positive(probabilities, message="sampling_probabilities must be positive.")
            ], probabilities)
            log_probabilities = tf.math.log(probabilities)
        loss, accuracy = in_batch_softmax_and_accuracy(
            users, items, self.temperature, log_probabilities, ids if self.remove_accidental_hits else None,
            self.block_size,
        )
        results.update(loss=loss, contrastive_accuracy=accuracy)
        return results

    def after_step(self, towers: Towers, results: dict[str, tf.Tensor]) -> None:
        """Counts the step's items in the frequency estimator (with those of every replica)."""
        if self.estimates_frequencies:
            self.frequency_estimator.update_buckets(results["item_buckets"])

    def sampling_probabilities(self, item_ids) -> tf.Tensor:
        """The estimator's current `1 / B` of each id: float32 `(N,)`, occurrences per step (see `FrequencyEstimator`).

        Raises:
            ValueError: unless `sampling_correction=True`.
        """
        if not self.estimates_frequencies:
            raise ValueError(
                f"This InBatchSoftmax has sampling_correction={self.sampling_correction!r}: it estimates no "
                "sampling probabilities."
            )
        return tf.exp(self.frequency_estimator.log_probabilities(tf.convert_to_tensor(item_ids)))

    def call(self, embeddings, training=None):
        """The embeddings themselves: the method has no head."""
        return embeddings

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            temperature=self.temperature,
            sampling_correction=self.sampling_correction,
            remove_accidental_hits=self.remove_accidental_hits,
            frequency_buckets=self.frequency_buckets,
            frequency_learning_rate=self.frequency_learning_rate,
            block_size=self.block_size,
        )
        return config


def _split_third_part(third) -> tuple:
    """`(item_ids, sampling_probabilities)` of a batch's third part, each possibly None."""
    if third is None:
        return None, None
    if isinstance(third, Mapping):
        unknown = sorted(set(third) - set(THIRD_PART_KEYS))
        if unknown:
            raise ValueError(
                f"InBatchSoftmax takes a batch's third part as item ids or a dict with the keys "
                f"{', '.join(THIRD_PART_KEYS)}; got the key(s) {', '.join(map(repr, unknown))}."
            )
        return third.get("item_ids"), third.get("sampling_probabilities")
    return third, None


def _check_column(values, batch: int | None, name: str, expected: str, dtype_ok) -> None:
    """A ValueError unless `values` is `(batch,)` with a dtype `dtype_ok` accepts."""
    shape = tf.TensorShape(getattr(values, "shape", None))
    dtype = tf.as_dtype(getattr(values, "dtype", tf.float32))
    if shape.rank != 1 or not dtype_ok(dtype) or (batch is not None and shape[0] not in (None, batch)):
        raise ValueError(
            f"InBatchSoftmax takes a batch's {name} as {expected} of shape (batch,) = ({batch or '?'},), got shape "
            f"{tuple(shape) if shape.rank is not None else 'of unknown rank'} and dtype {dtype.name}."
        )
