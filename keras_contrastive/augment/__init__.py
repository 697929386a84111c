"""View presets and the augmentation layers Keras core lacks."""

from keras_contrastive.augment.random_apply import RandomApply
from keras_contrastive.augment.random_brightness_scale import RandomBrightnessScale
from keras_contrastive.augment.random_resized_crop import RandomResizedCrop
from keras_contrastive.augment.simclr import simclr
from keras_contrastive.augment.span_crop import SpanCrop
from keras_contrastive.augment.span_deletion import SpanDeletion
from keras_contrastive.augment.text import text
from keras_contrastive.augment.word_dropout import WordDropout

__all__ = [
    "RandomApply",
    "RandomBrightnessScale",
    "RandomResizedCrop",
    "SpanCrop",
    "SpanDeletion",
    "WordDropout",
    "simclr",
    "text",
]
