"""Self-supervised methods: one file each, plugged into `ContrastiveModel`."""

from keras_contrastive.methods.method import Method
from keras_contrastive.methods.simclr import SimCLR

#: Methods by the name the command line knows them by.
METHODS = {"simclr": SimCLR}

__all__ = ["METHODS", "Method", "SimCLR"]
