"""Keras layers of the package's own, where Keras 3 lacks a fast or needed one."""

from keras_contrastive.layers.fused_batch_normalization import FusedBatchNormalization
from keras_contrastive.layers.masked_mean_pooling import MaskedMeanPooling
from keras_contrastive.layers.whitening import Whitening, whiten_alike

__all__ = ["FusedBatchNormalization", "MaskedMeanPooling", "Whitening", "whiten_alike"]
