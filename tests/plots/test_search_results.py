import numpy as np
import pytest
from PIL import Image

from keras_contrastive.plots import plot_search_results


def test_one_row_per_query_with_its_results_in_rank_order(tmp_path, rng):
    queries = rng.integers(0, 256, (2, 8, 8, 3)).astype("uint8")
    results = rng.integers(0, 256, (2, 3, 8, 8, 3)).astype("uint8")
    results[1, 0] = 0  # a black first result of the second query, drawn in row 2, column 2
    ids = np.array([["a/1.png", "a/2.png", "b/3.png"], ["c/4.png", "a/5.png", "a/6.png"]])
    path = tmp_path / "search.png"
    plot_search_results(queries, ["q1.png", "q2.png"], results, ids, np.full((2, 3), 0.5), path, cell_size=64)
    drawn = np.array(Image.open(path).convert("RGB")).astype(int)
    assert drawn.shape == (2 * (64 + 18), 4 * 64, 3)
    cell = drawn[82 + 18 + 16: 82 + 64 - 16, 64 + 16: 128 - 16]  # the middle of row 2, column 2
    assert cell.max() < 10


def test_counts_that_do_not_match_are_refused(tmp_path, rng):
    queries = rng.integers(0, 256, (2, 8, 8, 3)).astype("uint8")
    results = rng.integers(0, 256, (2, 3, 8, 8, 3)).astype("uint8")
    ids, scores = np.full((2, 3), "x"), np.zeros((2, 3))
    with pytest.raises(ValueError, match="one of each per query"):
        plot_search_results(queries, ["one"], results, ids, scores, tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"ids and scores \(Q, k\)"):
        plot_search_results(queries, ["q1", "q2"], results, ids[:, :2], scores[:, :2], tmp_path / "b.png")


def test_text_queries_are_drawn_as_their_text_beside_the_images_found(tmp_path, rng):
    results = np.full((2, 2, 8, 8, 3), 255, np.uint8)
    ids, scores = np.array([["a.png", "b.png"], ["c.png", "d.png"]]), np.full((2, 2), 0.5)
    path = tmp_path / "text.png"
    plot_search_results(["a red car", "a cat"], ["query", "query"], results, ids, scores, path, cell_size=64)
    drawn = np.array(Image.open(path).convert("L")).astype(int)
    assert drawn.shape == (2 * (64 + 18), 3 * 64)
    query_cell, result_cell = drawn[18 + 8 : 64 + 18 - 8, 8:56], drawn[18 + 8 : 64 + 18 - 8, 64 + 8 : 128 - 8]
    assert query_cell.min() < 100 and result_cell.min() > 200  # dark letters on the query; the white result is blank
