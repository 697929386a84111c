"""Workarounds for Keras 3.15 and TensorFlow 2.21 under `tf.distribute`, each in one place.

Every workaround below names the versions it was written for and the
upstream behaviour it avoids; the tests named `test_upstream_*` in
tests/distribute check, for each one, that the upstream behaviour still
happens. When one of those tests fails, upstream has changed and that
workaround can be deleted.
"""

from __future__ import annotations

import tensorflow as tf

from keras_contrastive.distribute.cross_replica import num_replicas_in_sync


class OptimizerBuiltBeforeFit:
    """Mixin for a `keras.Model` that is fully built when constructed: `fit` only builds the optimizer.

    Keras 3.15's `TensorFlowTrainer._maybe_symbolic_build`
    (keras/src/backend/tensorflow/trainer.py) runs at the start of `fit`,
    `evaluate` and `predict` under a strategy: it takes the first batch from
    the distributed iterator and, when every part of it is a
    `DistributedValues`, averages it over the replicas with
    `strategy.reduce("MEAN", batch, axis=None)` to build the model
    symbolically. Under `MultiWorkerMirroredStrategy` that reduce fails for
    tuple batches such as `(view_a, view_b)` ("Attempt to convert a value
    (PerReplica...)"); no upstream issue was found for it. A
    `ContrastiveModel` needs no symbolic build (it is built in its
    constructor), so this builds only the optimizer's state, in the
    strategy's scope.
    """

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        optimizer = getattr(self, "optimizer", None)  # None, or absent, before compile
        if optimizer is not None and not optimizer.built:
            with self.distribute_strategy.scope():
                optimizer.build(self.trainable_variables)


def in_multi_worker_mode(strategy: tf.distribute.Strategy) -> bool:
    """Whether `strategy` is a `MultiWorkerMirroredStrategy` spanning more than one worker.

    TensorFlow 2.21 has no public way to ask; its private
    `strategy.extended._in_multi_worker_mode()` is what Keras itself calls.
    """
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        strategy.extended._in_multi_worker_mode()
    )


def logs_reducible_across_workers(logs: dict) -> dict:
    """Gives each scalar log a leading axis of 1 when training spans several workers.

    Keras 3.15 averages a step's logs over the workers of a
    `MultiWorkerMirroredStrategy` with `strategy.reduce("MEAN", value,
    axis=0)` (keras/src/backend/tensorflow/trainer.py, `reduce_per_replica`),
    which refuses scalars (tensorflow/tensorflow#72388). Averaging values of
    shape `[1]` over axis 0 gives the same numbers. Elsewhere the logs are
    returned as they are.
    """
    if not in_multi_worker_mode(tf.distribute.get_strategy()):
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


def gradients_are_finite(gradients: list) -> tf.Tensor:
    """A scalar bool tensor: whether every value of `gradients` is finite.

    Args:
        gradients: Tensors, `tf.IndexedSlices` or None (skipped).

    Returns:
        True when no gradient holds a NaN or an infinity.
    """
    values = [g.values if isinstance(g, tf.IndexedSlices) else g for g in gradients if g is not None]
    if not values:
        return tf.constant(True)
    return tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in values])


def non_finite_everywhere_if_anywhere(gradients: list) -> list:
    """Makes every replica's gradients non-finite when any replica's are.

    Keras 3.15's `LossScaleOptimizer` (keras/src/optimizers/loss_scale_optimizer.py)
    decides whether to skip a step from the gradients before they are summed
    across replicas: from the first replica's under `MirroredStrategy` (an
    overflow on another replica then reaches the weights as NaN) and from
    each replica's own under `MultiWorkerMirroredStrategy` (replicas that
    disagree then wait for each other forever). No upstream issue was found
    for it. After this all replicas agree. With one replica the gradients are
    returned as they are.

    Args:
        gradients: One replica's gradients (tensors, `tf.IndexedSlices` or None).

    Returns:
        The gradients, all NaN on every replica when any replica's were not finite.
    """
    if num_replicas_in_sync() == 1:
        return gradients

    def poisoned(gradient, poison):
        poison = tf.cast(poison, gradient.dtype)
        if isinstance(gradient, tf.IndexedSlices):
            return tf.IndexedSlices(gradient.values + poison, gradient.indices, gradient.dense_shape)
        return gradient + poison

    finite = gradients_are_finite(gradients)
    overflowed = tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(finite, tf.float32)
    )
    poison = tf.where(overflowed > 0, float("nan"), 0.0)
    return [None if g is None else poisoned(g, poison) for g in gradients]
