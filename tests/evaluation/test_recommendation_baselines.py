import numpy as np
import pytest

from keras_contrastive.evaluation import popularity_scores, svd_scores


def test_popularity_scores_every_user_by_the_items_training_counts(rng):
    columns = rng.integers(0, 12, size=200)
    scores = popularity_scores(columns, users=5, items=15)
    expected = np.array([np.sum(columns == c) for c in range(15)], np.float64)
    assert scores.shape == (5, 15) and scores.dtype == np.float32
    np.testing.assert_array_equal(scores, np.tile(expected, (5, 1)))


def test_svd_scores_are_the_rank_r_reconstruction_a_float64_svd_gives(rng):
    users, items, rank = 30, 40, 4
    # A matrix of exact rank `rank` plus a little noise: the leading subspace is well separated.
    dense = rng.normal(size=(users, rank)) @ rng.normal(size=(rank, items)) + 0.01 * rng.normal(size=(users, items))
    rows, columns = np.divmod(np.arange(users * items), items)
    scores = svd_scores(rows, columns, users, items, rank=rank, values=dense.ravel(), seed=int(rng.integers(1000)))
    u, s, vt = np.linalg.svd(dense)
    expected = (u[:, :rank] * s[:rank]) @ vt[:rank]
    assert scores.shape == (users, items) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, expected, atol=1e-3 * np.abs(expected).max())


def test_svd_scores_default_to_implicit_feedback_and_leave_missing_cells_at_zero(rng):
    rows, columns = np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2])
    scores = svd_scores(rows, columns, users=3, items=4, rank=2)
    matrix = np.zeros((3, 4))
    matrix[rows, columns] = 1.0
    u, s, vt = np.linalg.svd(matrix)
    np.testing.assert_allclose(scores, (u[:, :2] * s[:2]) @ vt[:2], atol=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda: svd_scores([0, 5], [0, 1], users=3, items=4, rank=1), r"user_rows must lie in \[0, 3\)"),
    (lambda: svd_scores([0, 1], [0], users=3, items=4, rank=1), "one per interaction"),
    (lambda: svd_scores([0, 1], [0, 1], users=3, items=4, rank=3), "rank must be below"),
    (lambda: svd_scores([0, 1], [0, 1], users=3, items=4, rank=1, values=[1.0]), "one number per interaction"),
    (lambda: popularity_scores([0.5], users=1, items=2), "integer indices"),
])
def test_bad_input_is_refused_naming_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()
