"""Loaders for image data sets and `make_views`, the pipeline of augmented view pairs."""

from keras_contrastive.data.catalog import DATASETS, DatasetInfo
from keras_contrastive.data.load import load, load_numpy
from keras_contrastive.data.views import make_views

__all__ = ["DATASETS", "DatasetInfo", "load", "load_numpy", "make_views"]
