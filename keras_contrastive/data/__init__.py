"""Loaders for image data sets and folders of images, and `make_views`, the pipeline of augmented view pairs."""

from keras_contrastive.data.catalog import DATASETS, DatasetInfo
from keras_contrastive.data.decode import IMAGE_EXTENSIONS, decode_image
from keras_contrastive.data.directory import from_directory
from keras_contrastive.data.files import from_files
from keras_contrastive.data.holdout import holdout_split
from keras_contrastive.data.index import index_directory
from keras_contrastive.data.load import load, load_numpy
from keras_contrastive.data.views import make_views

__all__ = [
    "DATASETS", "DatasetInfo", "IMAGE_EXTENSIONS", "decode_image", "from_directory", "from_files", "holdout_split",
    "index_directory", "load", "load_numpy", "make_views",
]
