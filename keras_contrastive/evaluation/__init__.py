"""Standard protocols for judging an embedding."""

from keras_contrastive.evaluation.alignment import alignment
from keras_contrastive.evaluation.answer_recall import answer_recall
from keras_contrastive.evaluation.class_balanced_subset import class_balanced_subset
from keras_contrastive.evaluation.classifier import classifier
from keras_contrastive.evaluation.cross_modal_recall import cross_modal_recall
from keras_contrastive.evaluation.effective_rank import effective_rank
from keras_contrastive.evaluation.embed import embed, embed_labelled
from keras_contrastive.evaluation.embedding_std import embedding_std
from keras_contrastive.evaluation.evaluate_saved_model import evaluate_saved_model
from keras_contrastive.evaluation.evaluation_report import write_evaluation_report
from keras_contrastive.evaluation.fine_tune import fine_tune
from keras_contrastive.evaluation.knn import knn_accuracy
from keras_contrastive.evaluation.labelled_arrays import labelled_arrays
from keras_contrastive.evaluation.linear_probe import linear_probe, linear_probe_accuracy
from keras_contrastive.evaluation.recommendation_baselines import popularity_scores, svd_scores
from keras_contrastive.evaluation.recommendation_metrics import recommendation_metrics
from keras_contrastive.evaluation.recommendation_report import recommendation_report
from keras_contrastive.evaluation.report import compare_with_baselines
from keras_contrastive.evaluation.raw_baselines import RAW_BASELINES
from keras_contrastive.evaluation.retrieval_metrics import retrieval_metrics
from keras_contrastive.evaluation.text_report import TEXT_TASKS, text_report
from keras_contrastive.evaluation.tfidf import TfidfFeatures
from keras_contrastive.evaluation.training_history import load_training_history, save_training_history
from keras_contrastive.evaluation.uniformity import uniformity
from keras_contrastive.evaluation.word_similarity import word_similarity_correlation
from keras_contrastive.evaluation.zero_shot import zero_shot

__all__ = [
    "RAW_BASELINES",
    "TEXT_TASKS",
    "TfidfFeatures",
    "alignment",
    "answer_recall",
    "class_balanced_subset",
    "classifier",
    "compare_with_baselines",
    "cross_modal_recall",
    "effective_rank",
    "embed",
    "embed_labelled",
    "embedding_std",
    "evaluate_saved_model",
    "fine_tune",
    "knn_accuracy",
    "labelled_arrays",
    "linear_probe",
    "linear_probe_accuracy",
    "load_training_history",
    "popularity_scores",
    "recommendation_metrics",
    "recommendation_report",
    "retrieval_metrics",
    "save_training_history",
    "svd_scores",
    "text_report",
    "uniformity",
    "word_similarity_correlation",
    "write_evaluation_report",
    "zero_shot",
]
