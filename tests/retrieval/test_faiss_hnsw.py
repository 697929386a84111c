import os
import sys

import numpy as np
import pytest

from keras_contrastive.retrieval import FaissHNSW, Index
from tests.retrieval.reference import assert_matches_brute_force


@pytest.fixture
def faiss_installed():
    """Skips without faiss on a developer's machine; CI installs it (the test extra), so there it fails."""
    try:
        import faiss  # noqa: F401
    except ImportError as error:
        message = f"faiss is not importable ({error}): pip install keras-contrastive[faiss]"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_on_a_small_set_it_finds_what_exact_search_finds(faiss_installed, rng):
    """With a candidate list as long as the index, HNSW visits every row: exact, up to near-ties in float32."""
    rows = rng.normal(size=(300, 16)).astype("float32")
    ids = [f"row-{i}" for i in range(300)]
    approximate, exact = Index(FaissHNSW(ef_search=300)), Index("exact")
    for index in (approximate, exact):
        index.add(rows[:120], ids[:120])
        index.add(rows[120:], ids[120:])
    queries = rng.normal(size=(20, 16)).astype("float32")
    found, scores = approximate.search(queries, k=10)
    exact_found, exact_scores = exact.search(queries, k=10)
    assert_matches_brute_force(found, scores, queries, rows, ids)
    assert_matches_brute_force(exact_found, exact_scores, queries, rows, ids)
    np.testing.assert_allclose(scores, exact_scores, atol=1e-5)


def test_a_saved_faiss_index_loads_with_its_settings_and_answers(faiss_installed, rng, tmp_path):
    index = Index(FaissHNSW(m=8, ef_construction=64, ef_search=300))
    index.add(rng.normal(size=(50, 4)), [f"{i}" for i in range(50)])
    again = Index.load(index.save(tmp_path / "hnsw.npz"))
    settings = {"m": 8, "ef_construction": 64, "ef_search": 300}
    assert again.get_config() == {"backend": "faiss", "backend_config": settings}
    np.testing.assert_array_equal(again.embeddings, index.embeddings)
    queries = rng.normal(size=(5, 4))
    for expected, actual in zip(index.search(queries, 3), again.search(queries, 3)):
        np.testing.assert_array_equal(actual, expected)


def test_without_faiss_the_backend_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss raises ImportError
    with pytest.raises(ImportError, match=r"pip install keras-contrastive\[faiss\]"):
        Index(backend="faiss")


def test_bad_settings_are_refused(faiss_installed):
    with pytest.raises(ValueError, match="ef_search must be a positive integer, got 0"):
        FaissHNSW(ef_search=0)
    with pytest.raises(ValueError, match="m must be an integer of at least 2, got 1"):
        FaissHNSW(m=1)
