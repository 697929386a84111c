"""Backbones that map raw images (or strings) to embeddings. Any keras.Model with a 2-D output works too."""

from keras_contrastive.encoders.application import application
from keras_contrastive.encoders.application_preprocessing import ApplicationPreprocessing
from keras_contrastive.encoders.bag_of_embeddings import bag_of_embeddings
from keras_contrastive.encoders.history_tower import ItemHistory, history_tower, user_history_tower
from keras_contrastive.encoders.hub_backbone import hub_backbone
from keras_contrastive.encoders.id_tower import id_tower
from keras_contrastive.encoders.item_tower import CatalogueColumn, DelimitedMultiHot, item_tower
from keras_contrastive.encoders.resnet import resnet18
from keras_contrastive.encoders.small_cnn import small_cnn
from keras_contrastive.encoders.text_transformer import text_transformer
from keras_contrastive.encoders.whitened import fit_whitening, whitened

__all__ = [
    "ApplicationPreprocessing",
    "CatalogueColumn",
    "DelimitedMultiHot",
    "ItemHistory",
    "application",
    "bag_of_embeddings",
    "fit_whitening",
    "history_tower",
    "hub_backbone",
    "id_tower",
    "item_tower",
    "resnet18",
    "small_cnn",
    "text_transformer",
    "user_history_tower",
    "whitened",
]
