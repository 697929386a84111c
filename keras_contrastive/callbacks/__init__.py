"""Keras callbacks that watch a representation while it trains."""

from keras_contrastive.callbacks.knn_monitor import KNNMonitor

__all__ = ["KNNMonitor"]
