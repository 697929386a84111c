"""Plots written as PNG files (matplotlib, off-screen): embedding map, training curves, retrieval grids."""

from keras_contrastive.plots.embedding_map import plot_embedding_map
from keras_contrastive.plots.image_rows import plot_image_rows
from keras_contrastive.plots.retrieval_grid import plot_retrieval_grid
from keras_contrastive.plots.search_results import plot_search_results
from keras_contrastive.plots.text_query_grid import plot_text_query_grid
from keras_contrastive.plots.training_curves import plot_training_curves

__all__ = [
    "plot_embedding_map", "plot_image_rows", "plot_retrieval_grid", "plot_search_results", "plot_text_query_grid",
    "plot_training_curves",
]
