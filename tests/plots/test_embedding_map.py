import numpy as np
import pytest
from matplotlib import image as mpimg

from keras_contrastive.plots import plot_embedding_map


def test_writes_a_png_of_the_requested_size(tmp_path, rng):
    labels = rng.integers(0, 3, 150)
    embeddings = rng.normal(size=(3, 16))[labels] + rng.normal(scale=0.3, size=(150, 16))
    path = plot_embedding_map(embeddings, labels, tmp_path / "maps" / "map.png", class_names=["a", "b", "c"],
                              max_points=120, size=(640, 480))
    assert path.read_bytes().startswith(b"\x89PNG")
    pixels = mpimg.imread(path)
    assert pixels.shape[:2] == (480, 640)
    assert pixels[..., :3].std() > 0.05  # points were drawn, not a blank canvas


def test_mismatched_labels_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\(N, D\) embeddings and N labels"):
        plot_embedding_map(np.ones((10, 4)), np.zeros(9), tmp_path / "map.png")
