"""View presets and the augmentation layers Keras core lacks."""

from keras_contrastive.augment.random_apply import RandomApply
from keras_contrastive.augment.random_brightness_scale import RandomBrightnessScale
from keras_contrastive.augment.random_resized_crop import RandomResizedCrop
from keras_contrastive.augment.simclr import simclr

__all__ = ["RandomApply", "RandomBrightnessScale", "RandomResizedCrop", "simclr"]
