"""The in-batch sampled softmax of two-tower retrieval: InfoNCE with the logQ correction and accidental hits removed."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.distribute.cross_replica import all_gather_batch
from keras_contrastive.losses.blockwise import blockwise_cross_entropy
from keras_contrastive.losses.info_nce import _queries_and_candidates, info_nce_logits
from keras_contrastive.losses.pair_loss import PairLoss
from keras_contrastive.validation import after_checks, check_optional_positive_int, check_positive

#: Strings are compared by their 64-bit fingerprint, which is what crosses replicas (collectives carry no strings).
_FINGERPRINT_BUCKETS = 2**63 - 1


def in_batch_softmax_logits(
    queries: tf.Tensor,
    candidates: tf.Tensor,
    temperature=0.05,
    candidate_log_probabilities: tf.Tensor | None = None,
    candidate_ids: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """The logits of the in-batch softmax and the index of each query's positive among them.

    Row `i` holds `cos(queries[i], candidates[j]) / temperature -
    candidate_log_probabilities[j]` for every candidate `j` of the batch
    (`info_nce_logits`, then the logQ correction), with the accidental hits
    (candidates other than query `i`'s positive that carry its positive's
    id) set to the most negative float32, so that they take no part in the
    softmax. Under a strategy with several replicas, the candidates, their
    log-probabilities and their ids are those of every replica, in replica
    order, and the positives are offset by the replica's first row.

    Args and shapes as in `in_batch_softmax`.

    Returns:
        A tuple `(logits, positives)`: float32 `(n, N)` and int32 `(n,)`,
        where n = N on one device.

    Example:
    >>> logits, positives = in_batch_softmax_logits(users, items, 0.05, candidate_ids=tf.constant(["a", "b", "a"]))
    """
    log_probabilities, ids = _checked_columns(candidates, candidate_log_probabilities, candidate_ids)
    logits, positives = info_nce_logits(queries, candidates, None, temperature)
    if log_probabilities is not None:
        logits = logits - all_gather_batch(log_probabilities)[0][None, :]
    if ids is not None:
        logits = tf.where(_accidental_hits(all_gather_batch(ids)[0], positives), logits.dtype.min, logits)
    return logits, positives


def _accidental_hits(ids: tf.Tensor, positives: tf.Tensor) -> tf.Tensor:
    """`(n, N)` booleans: candidate `j` carries the id of row `i`'s positive and is not that positive."""
    own = tf.gather(ids, positives)
    columns = tf.range(tf.shape(ids)[0])
    return tf.logical_and(tf.equal(own[:, None], ids[None, :]), tf.not_equal(positives[:, None], columns[None, :]))


def _checked_columns(candidates, log_probabilities, ids) -> tuple[tf.Tensor | None, tf.Tensor | None]:
    """The candidates' log-probabilities as float32 `(N,)` and their ids as int64 `(N,)`, each checked, or None.

    String ids become their 64-bit fingerprints (`tf.strings.to_hash_bucket_fast`),
    integer ids int64.
    """
    candidates = tf.convert_to_tensor(candidates)
    if log_probabilities is not None:
        log_probabilities = _checked_column(log_probabilities, candidates, "candidate_log_probabilities")
        if not log_probabilities.dtype.is_floating:
            raise ValueError(
                "candidate_log_probabilities must be a float (batch,) tensor of the candidates' log sampling "
                f"probabilities, got dtype {log_probabilities.dtype.name}."
            )
        log_probabilities = tf.cast(log_probabilities, tf.float32)
    if ids is not None:
        ids = _checked_column(ids, candidates, "candidate_ids")
        if ids.dtype == tf.string:
            ids = tf.strings.to_hash_bucket_fast(ids, _FINGERPRINT_BUCKETS)
        elif ids.dtype.is_integer:
            ids = tf.cast(ids, tf.int64)
        else:
            raise ValueError(
                f"candidate_ids must be a (batch,) tensor of integer or string ids, got dtype {ids.dtype.name}."
            )
    return log_probabilities, ids


def _checked_column(values, candidates: tf.Tensor, name: str) -> tf.Tensor:
    """`values` as a `(N,)` tensor, one per candidate row (asserted in the graph when N is known only then)."""
    values = tf.convert_to_tensor(values)
    if values.shape.rank != 1:
        raise ValueError(f"{name} must be a (batch,) tensor with one value per candidate, got shape {values.shape}.")
    batch, length = candidates.shape[0] if candidates.shape.rank else None, values.shape[0]
    if batch is not None and length is not None:
        if batch != length:
            raise ValueError(f"{name} must hold one value per candidate: got {length} for {batch} candidates.")
    else:
        values = after_checks([tf.debugging.assert_equal(
            tf.shape(values)[0], tf.shape(candidates)[0], message=f"{name} must hold one value per candidate."
        )], values)
    return values


def _losses_and_predictions(queries, candidates, temperature, log_probabilities, ids, block_size):
    """Each query's loss, the index of its highest logit, and of its positive.

    With `block_size` None from the full matrix of `in_batch_softmax_logits`;
    else from blocks of candidate columns (`kc.losses.blockwise`), the logQ
    correction riding in one more dimension: the rows get a 1 and each
    candidate its `-log q`, so that the blocks' dot products are the
    corrected logits.
    """
    block_size = check_optional_positive_int(block_size, "block_size")
    if block_size is None:
        logits, positives = in_batch_softmax_logits(queries, candidates, temperature, log_probabilities, ids)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=positives, logits=logits)
        return losses, tf.argmax(logits, axis=1, output_type=tf.int32), positives
    if ids is not None:
        raise ValueError(
            "in_batch_softmax with block_size cannot remove accidental hits: the blockwise softmax leaves out at "
            "most one column per row, not every candidate sharing the positive's id. Pass candidate_ids=None "
            "(remove_accidental_hits=False), or block_size=None."
        )
    log_probabilities, _ = _checked_columns(candidates, log_probabilities, None)
    queries, candidates, positives, temperature = _queries_and_candidates(queries, candidates, None, temperature)
    rows = queries / temperature
    if log_probabilities is not None:
        rows = tf.concat([rows, tf.ones_like(rows[:, :1])], axis=1)
        candidates = tf.concat([candidates, -all_gather_batch(log_probabilities)[0][:, None]], axis=1)
    losses, predictions = blockwise_cross_entropy(rows, candidates, positives, block_size)
    return losses, predictions, positives


def in_batch_softmax_per_query(
    queries: tf.Tensor,
    candidates: tf.Tensor,
    temperature=0.05,
    candidate_log_probabilities: tf.Tensor | None = None,
    candidate_ids: tf.Tensor | None = None,
    block_size: int | None = None,
) -> tf.Tensor:
    """The loss of each of the N queries: float32 `(N,)`. Args as in `in_batch_softmax`.

    Under a strategy with several replicas, the `(n,)` losses of this
    replica's queries against the candidates of all replicas.
    """
    return _losses_and_predictions(queries, candidates, temperature, candidate_log_probabilities, candidate_ids,
                                   block_size)[0]


def in_batch_softmax_and_accuracy(
    queries: tf.Tensor,
    candidates: tf.Tensor,
    temperature=0.05,
    candidate_log_probabilities: tf.Tensor | None = None,
    candidate_ids: tf.Tensor | None = None,
    block_size: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """The in-batch softmax loss and the top-1 accuracy of its softmax, from one pass over the logits.

    The accuracy is how often a query's own positive has the highest logit
    of the loss (after the correction, with the accidental hits left out).
    Args as in `in_batch_softmax`.

    Returns:
        A tuple of float32 scalars `(loss, accuracy)`.
    """
    losses, predictions, positives = _losses_and_predictions(
        queries, candidates, temperature, candidate_log_probabilities, candidate_ids, block_size
    )
    return tf.reduce_mean(losses), tf.reduce_mean(tf.cast(tf.equal(predictions, positives), tf.float32))


def in_batch_softmax(
    queries: tf.Tensor,
    candidates: tf.Tensor,
    temperature=0.05,
    candidate_log_probabilities: tf.Tensor | None = None,
    candidate_ids: tf.Tensor | None = None,
    block_size: int | None = None,
) -> tf.Tensor:
    """The in-batch sampled softmax of two-tower retrieval (Yi et al., 2019), the mean over the N queries.

    Query `i` (a user) is scored against every candidate of the batch (the
    items of the batch's interactions); its own candidate `i` is the
    positive, the others are the negatives. The logits are cosine
    similarities divided by `temperature`, minus each candidate's log
    sampling probability when `candidate_log_probabilities` is given: the
    logQ correction, which undoes the batch's bias towards popular items
    (they are negatives more often than under a uniform sample of the
    catalogue). With `candidate_ids`, a candidate carrying the same id as
    query `i`'s positive (the same item in another row of the batch) is not
    a negative for query `i` and leaves its softmax ("accidental hits").
    Without both, this is `kc.losses.info_nce` without extra negatives, and
    CLIP's loss (`symmetric_info_nce`) is its symmetric form. Computed in
    float32. Inside `strategy.run` with several replicas the candidates,
    their log-probabilities and their ids are gathered from every replica,
    as on one device given the global batch; gradients reach the replica
    that owns each row.

    With `block_size`, the candidates are taken `block_size` columns at a
    time (`kc.losses.blockwise`) for the same value and gradient in
    `O(N x block_size)` memory; the correction rides along, but removing
    accidental hits needs the full matrix and is refused.

    Args:
        queries: `(N, D)` query embeddings (the user tower's), N >= 2.
        candidates: `(N, D)` candidate embeddings (the item tower's), row `i`
            the positive of query `i`.
        temperature: A positive number (0.05 by default), or a float scalar tensor.
        candidate_log_probabilities: Optional `(N,)` float log sampling
            probability of each candidate; only their differences matter,
            so they may be of counts per step as well as per example.
        candidate_ids: Optional `(N,)` integer or string id of each
            candidate (strings are compared by their 64-bit fingerprint).
        block_size: None for the full matrix, or the number of candidate
            columns per block, a positive int (not with `candidate_ids`).

    Returns:
        A float32 scalar.

    Raises:
        ValueError: for a temperature that is not positive, embeddings that
            are not two `(N, D)` batches alike, log-probabilities or ids that
            are not one per candidate, or `block_size` with `candidate_ids`.

    Example:
    >>> users, items = tf.random.normal((4, 16)), tf.random.normal((4, 16))
    >>> loss = in_batch_softmax(users, items, 0.05, tf.math.log([0.1, 0.4, 0.1, 0.4]),
    ...                         tf.constant(["a", "b", "c", "b"]))
    """
    return tf.reduce_mean(in_batch_softmax_per_query(queries, candidates, temperature, candidate_log_probabilities,
                                                     candidate_ids, block_size))


def _per_query_of_labelled_pairs(queries, candidates, candidate_ids, temperature, block_size):
    """`in_batch_softmax_per_query` with the ids in third place, as `PairLoss` passes labels."""
    return in_batch_softmax_per_query(queries, candidates, temperature, None, candidate_ids, block_size)


@keras.saving.register_keras_serializable(package="keras_contrastive")
class InBatchSoftmaxLoss(PairLoss):
    """The in-batch softmax as a Keras loss: queries `y_pred[:, 0]`, candidates `y_pred[:, 1]`.

    `y_pred` is `(N, 2, D)` (see `PairLoss`). With
    `remove_accidental_hits=True`, `y_true` is the `(N,)` integer id of each
    candidate (Keras casts it to float32, so ids must be below 2**24), and
    candidates sharing a query's positive's id leave its softmax; otherwise
    `y_true` is ignored. The loss of an example is its query's, as
    `in_batch_softmax` without the logQ correction (a Keras loss has no
    place for the probabilities; use the function or the method
    `kc.methods.InBatchSoftmax`).

    Args:
        temperature: A positive number.
        remove_accidental_hits: Whether `y_true` holds candidate ids to mask
            accidental hits with.
        block_size: None for the full similarity matrix, or candidate columns
            per block (not with `remove_accidental_hits`).
        name: The loss's name.
        **kwargs: `reduction` and `dtype`, as in `keras.losses.Loss`.

    Example:
    >>> value = InBatchSoftmaxLoss(remove_accidental_hits=True)(tf.constant([3, 5, 3, 7]), tf.random.normal((4, 2, 8)))
    """

    def __init__(self, temperature: float = 0.05, remove_accidental_hits: bool = False, block_size: int | None = None,
                 name: str = "in_batch_softmax", **kwargs):
        if not isinstance(remove_accidental_hits, bool):
            raise ValueError(f"remove_accidental_hits must be True or False, got {remove_accidental_hits!r}.")
        block_size = check_optional_positive_int(block_size, "block_size")
        if remove_accidental_hits and block_size is not None:
            raise ValueError("block_size cannot remove accidental hits (the blockwise softmax leaves out at most one "
                             "column per row); use remove_accidental_hits=False or block_size=None.")
        fn = _per_query_of_labelled_pairs if remove_accidental_hits else in_batch_softmax_per_query
        super().__init__(fn, name, per_example=True, uses_labels=remove_accidental_hits,
                         temperature=check_positive(temperature, "temperature"), block_size=block_size, **kwargs)
        self.remove_accidental_hits = remove_accidental_hits

    def get_config(self) -> dict:
        config = super().get_config()
        config["remove_accidental_hits"] = self.remove_accidental_hits
        return config
