"""Self-supervised methods: one file each, plugged into `ContrastiveModel`."""

from keras_contrastive.methods.method import Method
from keras_contrastive.methods.simclr import SimCLR

__all__ = ["Method", "SimCLR"]
