import json

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds
from matplotlib import image as mpimg

import keras_contrastive as kc
from keras_contrastive.evaluation import (
    embed, evaluate_saved_model, knn_accuracy, save_training_history, write_evaluation_report,
)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, module_rng):
    """An untrained digits model saved with a history file beside it."""
    directory = tmp_path_factory.mktemp("run")
    keras.utils.set_random_seed(int(module_rng.integers(2**31)))
    model = kc.ContrastiveModel(kc.encoders.small_cnn((8, 8, 1), widths=(8, 16)), kc.methods.SimCLR(projection_dim=8))
    model.save(directory / "model.keras")
    save_training_history({"loss": [3.0, 2.0, 1.5], "knn_accuracy": [0.5]}, directory / "history.json",
                          epochs={"knn_accuracy": [3]})
    return directory / "model.keras"


def test_report_and_plots_of_a_saved_model(saved_model, tmp_path):
    report = evaluate_saved_model(saved_model, "digits", tmp_path / "eval", k=20, probe_epochs=2,
                                  train_subset=300, test_subset=120)
    assert json.loads((tmp_path / "eval" / "report.json").read_text()) == report
    assert report["model"] == str(saved_model) and report["dataset"] == "digits"
    assert (report["train_images"], report["test_images"]) == (300, 120)
    train_images, train_labels = kc.data.load_numpy("digits", "train[:300]")
    test_images, test_labels = kc.data.load_numpy("digits", "test[:120]")
    encoder = kc.load_model(saved_model).encoder
    expected = knn_accuracy(embed(encoder, train_images), train_labels, embed(encoder, test_images), test_labels, k=20)
    assert report["knn"] == {"k": 20, "temperature": 0.1, "accuracy": expected}
    assert 0 <= report["linear_probe"]["accuracy"] <= 1
    health = report["health"]
    assert set(health) == {"uniformity", "embedding_std", "embedding_std_if_spread", "effective_rank",
                           "embedding_dim", "alignment"}
    assert health["embedding_dim"] == 16 and 1 <= health["effective_rank"] <= 16
    assert 0 <= health["alignment"] <= 4 and health["uniformity"] <= 0
    assert report["plots"] == {"retrieval_grid": "retrieval_grid.png", "embedding_map": "embedding_map.png",
                               "training_curves": "training_curves.png"}  # history.json found beside the model
    for name in report["plots"].values():
        assert mpimg.imread(tmp_path / "eval" / name).shape[0] > 100


def test_retrieval_grid_has_one_row_per_class(tmp_path, rng):
    images = rng.integers(0, 256, (60, 8, 8, 1)).astype(np.uint8)
    labels = np.arange(60) % 3
    encoder = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
    report = write_evaluation_report(encoder, (images, labels), (images[:30], labels[:30]), tmp_path, k=5,
                                     probe_epochs=1, map_points=30)
    assert "alignment" not in report["health"] and "training_curves" not in report["plots"]
    assert mpimg.imread(tmp_path / "retrieval_grid.png").shape[:2] == (3 * (96 + 18), 9 * 96)


def test_missing_model_wrong_image_shape_and_large_k_are_refused(saved_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file at"):
        evaluate_saved_model(tmp_path / "missing.keras", "digits", tmp_path / "eval")
    with tfds.testing.mock_data(num_examples=20):
        with pytest.raises(ValueError, match=r"takes images of shape \(8, 8, 1\), but 'mnist' has images of shape \(28, 28, 1\)"):
            evaluate_saved_model(saved_model, "mnist", tmp_path / "eval")
    with pytest.raises(ValueError, match="k must be between 1 and the 50 training images"):
        evaluate_saved_model(saved_model, "digits", tmp_path / "eval", k=51, train_subset=50)
