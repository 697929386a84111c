import numpy as np
import pytest
from PIL import Image

from keras_contrastive.plots import plot_text_query_grid


def test_one_row_per_text_query_with_its_nearest_images_in_rank_order(tmp_path, rng):
    gallery = rng.normal(size=(7, 5))
    queries = rng.normal(size=(2, 5))
    images = rng.integers(100, 256, (7, 8, 8, 3)).astype("uint8")
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    expected = np.argsort(-(unit(queries) @ unit(gallery).T), axis=1, kind="stable")[:, :3]
    images[expected[1, 0]] = 0  # the second query's nearest image is black: drawn in row 2, column 2
    path = tmp_path / "text_queries.png"
    captions = [f"caption {i}" for i in range(7)]
    drawn_order = plot_text_query_grid(["a red heart", b"flag: Japan"], queries, images, gallery * 3.0, path,
                                       gallery_captions=captions, k=3, cell_size=64)
    np.testing.assert_array_equal(drawn_order, expected)
    drawn = np.array(Image.open(path).convert("RGB")).astype(int)
    assert drawn.shape == (2 * (64 + 18), 4 * 64, 3)
    cell = drawn[82 + 18 + 16: 82 + 64 - 16, 64 + 16: 128 - 16]
    assert cell.max() < 10


def test_grey_images_and_no_captions_draw_too(tmp_path, rng):
    images = rng.integers(0, 256, (4, 8, 8, 1)).astype("uint8")
    order = plot_text_query_grid(["a cat"], rng.normal(size=(1, 3)), images, rng.normal(size=(4, 3)),
                                 tmp_path / "grey.png", k=4, cell_size=48)
    assert sorted(order[0]) == [0, 1, 2, 3]
    assert Image.open(tmp_path / "grey.png").size == (5 * 48, 48 + 18)


def test_counts_widths_and_k_that_do_not_fit_are_refused(tmp_path, rng):
    images, gallery = rng.integers(0, 256, (4, 8, 8, 3)), rng.normal(size=(4, 3))
    queries = rng.normal(size=(2, 3))
    path = tmp_path / "x.png"
    with pytest.raises(ValueError, match="2 queries and 1 query embeddings"):
        plot_text_query_grid(["a", "b"], queries[:1], images, gallery, path)
    with pytest.raises(ValueError, match="of one width"):
        plot_text_query_grid(["a", "b"], queries, images, gallery[:, :2], path)
    with pytest.raises(ValueError, match="4 gallery images, 4 embeddings and 3 captions"):
        plot_text_query_grid(["a", "b"], queries, images, gallery, path, gallery_captions=["x", "y", "z"])
    with pytest.raises(ValueError, match=r"\(N, H, W, 1 or 3\)"):
        plot_text_query_grid(["a", "b"], queries, images[..., :2], gallery, path)
    with pytest.raises(ValueError, match="between 1 and the 4 gallery images"):
        plot_text_query_grid(["a", "b"], queries, images, gallery, path, k=5)
    with pytest.raises(ValueError, match="Expected texts"):
        plot_text_query_grid(["a", 2], queries, images, gallery, path)
