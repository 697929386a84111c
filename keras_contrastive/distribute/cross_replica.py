"""Gathering a batch across the replicas of a `tf.distribute` strategy.

Contrastive losses compare every anchor with the whole batch. Under
`MirroredStrategy` or `MultiWorkerMirroredStrategy` each replica only holds
its slice of the global batch; `all_gather_batch` gives it the rest, so the
loss sees the same candidates as on one device.
"""

from __future__ import annotations

import tensorflow as tf


def num_replicas_in_sync() -> int:
    """How many replicas run the current step together: 1 outside a strategy.

    In a strategy's cross-replica context (inside `strategy.scope()` but not
    in `strategy.run`) there is nothing to gather from, so this is 1 as well.
    """
    context = tf.distribute.get_replica_context()
    return 1 if context is None else int(context.num_replicas_in_sync)


def all_gather_batch(local: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Concatenates every replica's `local` batch, in replica order.

    With one replica (no strategy, or a strategy over one device) `local` is
    returned as it is. With more, the result is differentiable: the gradient
    that any replica's loss sends to the gathered rows is summed over the
    replicas and handed back to the replica that owns them (TensorFlow's
    `ReplicaContext.all_gather` gradient), so each replica's encoder receives
    the gradient of the sum of all the replicas' losses.

    Replicas may hold different batch sizes (the last, partial batch); the
    trailing dimensions must agree.

    Args:
        local: `(n, ...)` this replica's part of the batch.

    Returns:
        A tuple `(global_batch, start)`: `(sum of n over replicas, ...)` with
        the replicas' batches in replica order, and the int32 scalar index of
        this replica's first row in it.

    Example:
    >>> # Inside strategy.run, on replica 1 of 2 with 4 rows each:
    >>> global_z, start = all_gather_batch(z)  # (8, D), 4
    """
    local = tf.convert_to_tensor(local)
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return local, tf.constant(0, tf.int32)
    global_batch = context.all_gather(local, axis=0)
    sizes = context.all_gather(tf.shape(local, out_type=tf.int32)[:1], axis=0)
    start = tf.reduce_sum(sizes[: context.replica_id_in_sync_group])
    return global_batch, start


def all_gather_pairs(z_a: tf.Tensor, z_b: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Both views of every replica's examples, each example's two rows kept in the same place.

    One gather of the stacked `(n, 2, D)` pairs. Losses that compare every
    anchor with the whole batch take their candidates from it; losses that
    take statistics over the batch compute the same global value on every
    replica, and the gather's gradient hands each replica the gradient of
    its own rows summed over the replicas' shares (see `all_gather_batch`),
    so the step equals one device's on the global batch.

    Args:
        z_a: `(n, D)` this replica's embeddings of the first views.
        z_b: `(n, D)` of the second views, same shape and dtype.

    Returns:
        A tuple `(global_a, global_b, start)`: the `(N, D)` first and second
        views of all replicas in replica order, and the int32 index of this
        replica's first row in them. `(z_a, z_b, 0)` with one replica.

    Example:
    >>> # Inside strategy.run, on replica 1 of 2 with 4 examples each:
    >>> global_a, global_b, start = all_gather_pairs(z_a, z_b)  # (8, D), (8, D), 4
    """
    if num_replicas_in_sync() == 1:
        return z_a, z_b, tf.constant(0, tf.int32)
    pairs, start = all_gather_batch(tf.stack([z_a, z_b], axis=1))
    return pairs[:, 0], pairs[:, 1], start
