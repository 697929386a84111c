"""Similarity search over embeddings: an index of embeddings with string ids, exact or approximate."""

from keras_contrastive.retrieval.backend import SearchBackend
from keras_contrastive.retrieval.embed_with_ids import embed_with_ids
from keras_contrastive.retrieval.exact_search import ExactSearch
from keras_contrastive.retrieval.faiss_hnsw import FaissHNSW
from keras_contrastive.retrieval.index import BACKENDS, Index
from keras_contrastive.retrieval.served_search import ServedSearch
from keras_contrastive.retrieval.top_k import top_k_cosine

__all__ = ["BACKENDS", "ExactSearch", "FaissHNSW", "Index", "SearchBackend", "ServedSearch", "embed_with_ids", "top_k_cosine"]
