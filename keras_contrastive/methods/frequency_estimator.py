"""Streaming estimation of how often each item is sampled, in hashed arrays (Yi et al., 2019, Algorithm 2)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.distribute.cross_replica import all_gather_batch
from keras_contrastive.validation import check_in_range, check_positive_int


def hash_buckets(ids: tf.Tensor, num_buckets: int) -> tf.Tensor:
    """Each id's bucket in `[0, num_buckets)`, int64 `(N,)`: the fingerprint of its string form.

    Integers are hashed as their decimal strings, so the id `42` and the
    string `"42"` share a bucket (ids read from a CSV as either agree).

    Args:
        ids: A `(N,)` tensor of string or integer ids.
        num_buckets: The number of buckets, a positive int.

    Example:
    >>> hash_buckets(tf.constant(["movie-1", "movie-2"]), 2**20)
    """
    ids = tf.convert_to_tensor(ids)
    if ids.dtype.is_integer:
        ids = tf.strings.as_string(ids)
    elif ids.dtype != tf.string:
        raise ValueError(f"Item ids must be strings or integers, got dtype {ids.dtype.name}.")
    return tf.strings.to_hash_bucket_fast(ids, num_buckets)


@keras.saving.register_keras_serializable(package="keras_contrastive")
class FrequencyEstimator(keras.layers.Layer):
    """How often each item occurs per training step, estimated in a stream in two hashed arrays.

    Yi et al.'s (2019) frequency estimation: an item's bucket (a hash of its
    id into `num_buckets`) keeps in array A the last step it was seen at and
    in array B an estimate of the number of steps between its occurrences,
    moved after each step by `learning_rate` towards the gap just seen:
    `B <- (1 - a) B + a (t - A)`, `A <- t`. The estimated sampling
    probability is `1 / B`: the number of times the item occurs in a step
    (divide by the batch size for the probability that one example is it;
    the logQ correction needs only its logarithm up to a constant).

    Two choices the paper leaves open:

    - An item occurring k > 1 times in one step counts as k occurrences that
      share the gap evenly: B takes k updates towards `(t - A) / k`, that is
      `B <- (1 - a)^k B + (1 - (1 - a)^k) (t - A) / k`. (Taking the
      occurrences one after the other, as a literal reading does, gives the
      first the whole gap and the others gaps of 0; the mean is the same,
      but B then falls towards 0, and the estimate blows up, when `a k` is
      large.)
    - An item seen for the first time at step t starts at `B = t / k`: the
      start of training stands for its previous occurrence, which is the
      maximum-likelihood gap of an item first seen at step t. Before that
      first update, its estimate is `1 / t`.

    Buckets are shared by the ids that hash alike, which then count as one
    item (their frequencies add up): make `num_buckets` some hundred times
    the number of distinct items to keep that rare. The arrays and the step
    count are non-trainable weights, saved with the model. Under
    `tf.distribute` every replica updates its copy with the ids of the
    global batch, so the copies stay identical and equal to a single
    device's on the global batch.

    Args:
        num_buckets: The length of the arrays, a positive int.
        learning_rate: The step `a` of B's moving average, in (0, 1].
        **kwargs: The layer's `name`.

    Example:
    >>> estimator = FrequencyEstimator(2**16)
    >>> estimator.build()
    >>> log_q = estimator.log_probabilities(item_ids)   # this step's estimates
    >>> estimator.update(item_ids)                      # after the step
    """

    def __init__(self, num_buckets: int = 2**20, learning_rate: float = 0.05, **kwargs):
        super().__init__(**kwargs)
        self.num_buckets = check_positive_int(num_buckets, "num_buckets")
        self.learning_rate = check_in_range(learning_rate, "learning_rate", 0.0, 1.0)
        if self.learning_rate == 0.0:
            raise ValueError("learning_rate must be a number in (0, 1] (the step of the gaps' moving average), got 0.")

    def build(self, input_shape=None):
        self.steps = self.add_weight(shape=(), initializer="zeros", dtype="int64", trainable=False, name="steps")
        self.last_step = self.add_weight(shape=(self.num_buckets,), initializer="zeros", dtype="int64",
                                         trainable=False, name="last_step")
        # Never autocast: the gaps stay float32 under a mixed-precision policy.
        self.step_gap = self.add_weight(shape=(self.num_buckets,), initializer="zeros", dtype="float32",
                                        trainable=False, autocast=False, name="step_gap")
        self.built = True

    def buckets(self, ids: tf.Tensor) -> tf.Tensor:
        """Each id's bucket, int64 `(N,)` (see `hash_buckets`)."""
        return hash_buckets(ids, self.num_buckets)

    def log_probabilities(self, ids: tf.Tensor) -> tf.Tensor:
        """`log(1 / B)` of each id at the coming step, float32 `(N,)`; reads the state and changes none of it.

        An id never seen yet gets `log(1 / t)`, t being the coming step's
        number (see the class docstring).
        """
        return self.log_probabilities_of_buckets(self.buckets(ids))

    def log_probabilities_of_buckets(self, buckets: tf.Tensor) -> tf.Tensor:
        """`log_probabilities` from the ids' buckets (`buckets(ids)`)."""
        step = tf.cast(self.steps + 1, tf.float32)
        seen = _rows(self.last_step, buckets) > 0
        gap = tf.where(seen, _rows(self.step_gap, buckets), step)
        return -tf.math.log(gap)

    def update(self, ids: tf.Tensor) -> None:
        """Counts one step in which `ids` occurred (ids of every replica, inside `strategy.run`)."""
        self.update_buckets(self.buckets(ids))

    def update_buckets(self, buckets: tf.Tensor) -> None:
        """`update` from the ids' buckets (`buckets(ids)`), which a method computed already."""
        buckets, _ = all_gather_batch(tf.convert_to_tensor(buckets, tf.int64))
        step = self.steps + 1
        unique, _, counts = tf.unique_with_counts(buckets)
        counts = tf.cast(counts, tf.float32)
        last = _rows(self.last_step, unique)
        shared_gap = tf.cast(step - last, tf.float32) / counts
        previous = tf.where(last > 0, _rows(self.step_gap, unique), shared_gap)
        kept = tf.pow(1.0 - self.learning_rate, counts)
        gap = kept * previous + (1.0 - kept) * shared_gap
        _scatter(self.step_gap, unique, gap)
        _scatter(self.last_step, unique, tf.fill(tf.shape(unique), step))
        self.steps.assign(step)

    def call(self, ids):
        """The estimated log-probabilities of `ids` (`log_probabilities`)."""
        return self.log_probabilities(ids)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(num_buckets=self.num_buckets, learning_rate=self.learning_rate)
        return config


def _rows(variable, indices: tf.Tensor) -> tf.Tensor:
    """`variable[indices]` of a 1-D Keras variable.

    On one device read row by row: reading the whole array as a tensor
    would make the in-place scatter of `update` copy it, an O(num_buckets)
    cost per step. Under a strategy, whose replicas' variables take no
    sparse read, by a gather of the whole.
    """
    if tf.distribute.has_strategy():
        return tf.gather(variable, indices)
    return variable.value.sparse_read(indices)


def _scatter(variable, indices: tf.Tensor, updates: tf.Tensor) -> None:
    """Writes `updates` at `indices` of a 1-D Keras variable.

    In place on one device; under a `tf.distribute` strategy, whose mirrored
    variables take no scatter in a replica's context, by assigning the
    whole updated array (every replica writes the same values).
    """
    if tf.distribute.has_strategy():
        variable.assign(tf.tensor_scatter_nd_update(variable, indices[:, None], updates))
    else:
        variable.value.scatter_update(tf.IndexedSlices(updates, indices))
