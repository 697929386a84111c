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
