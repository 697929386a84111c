import pytest
from matplotlib import image as mpimg

from keras_contrastive.plots import plot_training_curves


def test_writes_one_panel_per_metric_with_validation_beside_it(tmp_path):
    history = {
        "loss": [3.0, 2.5, 2.2, 2.0],
        "val_loss": [3.1, 2.7, 2.4, 2.3],
        "contrastive_accuracy": [0.1, 0.3, 0.4, 0.5],
        "knn_accuracy": [0.6, 0.7],
    }
    path = plot_training_curves(history, tmp_path / "curves.png", epochs={"knn_accuracy": [2, 4]},
                                panel_size=(300, 200), columns=2)
    pixels = mpimg.imread(path)
    assert pixels.shape[:2] == (2 * 200, 2 * 300)  # 3 panels (val_loss shares loss's) on 2 columns
    assert pixels[..., :3].std() > 0.05


def test_a_metric_logged_less_often_needs_its_epochs(tmp_path):
    with pytest.raises(ValueError, match=r"'knn_accuracy' has 2 values for 4 epochs; pass the epochs"):
        plot_training_curves({"loss": [4, 3, 2, 1], "knn_accuracy": [0.5, 0.6]}, tmp_path / "curves.png")
    with pytest.raises(ValueError, match="values for each metric"):
        plot_training_curves({}, tmp_path / "curves.png")
