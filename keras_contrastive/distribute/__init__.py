"""Running the package under `tf.distribute`: cross-replica gathers and the workarounds they need."""

from keras_contrastive.distribute.cross_replica import (
    all_gather_batch,
    all_gather_pairs,
    num_replicas_in_sync,
)

__all__ = ["all_gather_batch", "all_gather_pairs", "num_replicas_in_sync"]
