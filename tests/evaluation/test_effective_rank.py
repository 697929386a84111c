import numpy as np
import pytest

from keras_contrastive.evaluation import effective_rank


def test_hand_made_singular_values():
    # Diagonal matrix: singular values 3, 1 -> p = (0.75, 0.25).
    z = np.array([[3.0, 0.0], [0.0, 1.0]], np.float32)
    p = np.array([0.75, 0.25])
    assert float(effective_rank(z)) == pytest.approx(np.exp(-np.sum(p * np.log(p))), rel=1e-5)


def test_matches_formula_on_random_matrix(rng):
    z = rng.normal(size=(50, 6))
    s = np.linalg.svd(z, compute_uv=False)
    p = s / s.sum()
    assert float(effective_rank(z.astype(np.float32))) == pytest.approx(np.exp(-np.sum(p * np.log(p))), rel=1e-4)


def test_collapsed_is_one_and_isotropic_is_full(rng):
    collapsed = rng.normal(size=(200, 1)) * rng.normal(size=(1, 16))  # rank one
    assert float(effective_rank(collapsed.astype(np.float32))) == pytest.approx(1.0, abs=0.01)
    isotropic = rng.normal(size=(5000, 16)).astype(np.float32)
    assert float(effective_rank(isotropic)) == pytest.approx(16, rel=0.02)


def test_wrong_rank_is_refused():
    with pytest.raises(ValueError, match=r"\(N, D\) embeddings"):
        effective_rank(np.ones(5))
