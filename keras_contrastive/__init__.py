"""keras-contrastive: contrastive representation learning for Keras 3 on TensorFlow."""

import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from keras_contrastive import augment, data, encoders, evaluation, export, losses, methods  # noqa: E402
from keras_contrastive import callbacks, distribute, plots, validation  # noqa: E402
from keras_contrastive import layers, optimizers, retrieval  # noqa: E402
from keras_contrastive import training  # noqa: E402
from keras_contrastive import text  # noqa: E402
from keras_contrastive.loading import load_model  # noqa: E402
from keras_contrastive.saving import save_model  # noqa: E402
from keras_contrastive.model import ContrastiveModel  # noqa: E402
from keras_contrastive.precision import PRECISIONS, cpu_bf16_units, describe_precision, precision_policy  # noqa: E402
from keras_contrastive.tower_input import TowerInput  # noqa: E402
from keras_contrastive.towers import Towers  # noqa: E402

__version__ = "0.2.0"

__all__ = [
    "ContrastiveModel",
    "PRECISIONS",
    "TowerInput",
    "Towers",
    "augment",
    "cpu_bf16_units",
    "callbacks",
    "data",
    "describe_precision",
    "distribute",
    "encoders",
    "evaluation",
    "export",
    "layers",
    "load_model",
    "losses",
    "methods",
    "optimizers",
    "plots",
    "precision_policy",
    "save_model",
    "retrieval",
    "text",
    "training",
    "validation",
]
