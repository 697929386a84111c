"""View presets and the augmentation layers Keras core lacks."""

from keras_contrastive.augment.random_apply import RandomApply
from keras_contrastive.augment.random_resized_crop import RandomResizedCrop
from keras_contrastive.augment.simclr import simclr

__all__ = ["RandomApply", "RandomResizedCrop", "simclr"]
