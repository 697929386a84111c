"""Standard protocols for judging an embedding."""

from keras_contrastive.evaluation.embed import embed
from keras_contrastive.evaluation.embedding_std import embedding_std
from keras_contrastive.evaluation.knn import knn_accuracy
from keras_contrastive.evaluation.linear_probe import linear_probe_accuracy
from keras_contrastive.evaluation.report import compare_with_baselines

__all__ = ["compare_with_baselines", "embed", "embedding_std", "knn_accuracy", "linear_probe_accuracy"]
