"""Backbones that map raw images to embeddings. Any keras.Model with a 2-D output works too."""

from keras_contrastive.encoders.application import application
from keras_contrastive.encoders.application_preprocessing import ApplicationPreprocessing
from keras_contrastive.encoders.hub_backbone import hub_backbone
from keras_contrastive.encoders.resnet import resnet18
from keras_contrastive.encoders.small_cnn import small_cnn

__all__ = ["ApplicationPreprocessing", "application", "hub_backbone", "resnet18", "small_cnn"]
