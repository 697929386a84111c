"""Backbones that map raw images to embeddings. Any keras.Model with a 2-D output works too."""

from keras_contrastive.encoders.resnet import resnet18
from keras_contrastive.encoders.small_cnn import small_cnn

__all__ = ["resnet18", "small_cnn"]
