"""Keras callbacks that watch a representation while it trains, and keep a run safe."""

from keras_contrastive.callbacks.knn_monitor import KNNMonitor
from keras_contrastive.callbacks.stop_on_non_finite import NonFiniteLossError, StopOnNonFinite
from keras_contrastive.callbacks.training_checkpoint import TrainingCheckpoint

__all__ = ["KNNMonitor", "NonFiniteLossError", "StopOnNonFinite", "TrainingCheckpoint"]
