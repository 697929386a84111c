import os
import zipfile

import numpy as np
import pytest

from keras_contrastive.retrieval import ExactSearch, Index
from tests.retrieval.reference import brute_force, dyadic_unit_rows


def names(n, prefix="item"):
    return [f"{prefix}-{i}" for i in range(n)]


@pytest.fixture
def rows(rng):
    """Dyadic rows with power-of-two lengths: normalisation and similarity are exact, and many scores tie."""
    return dyadic_unit_rows(rng, 40) * 2.0 ** rng.integers(-3, 4, size=(40, 1))


def test_search_is_numpy_brute_force_batched_over_queries_and_rows_across_several_adds(rng, rows):
    index = Index(ExactSearch(query_batch_size=3, row_batch_size=6))
    ids = np.array(names(40))
    for part in np.array_split(np.arange(40), 3):
        index.add(rows[part], ids[part])
    queries = dyadic_unit_rows(rng, 11) * 4.0
    found, scores = index.search(queries, k=7)
    order, ranked = brute_force(queries, rows)
    assert found.dtype.kind == "U" and found.shape == (11, 7) and scores.dtype == np.float32
    np.testing.assert_array_equal(found, ids[order[:, :7]])
    np.testing.assert_array_equal(scores, ranked[:, :7].astype(np.float32))
    assert len(index) == 40 and index.dim == 8
    np.testing.assert_array_equal(index.ids, ids)
    np.testing.assert_array_equal(index.embeddings, (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype("f4"))


def test_equal_scores_rank_the_row_added_first_first():
    index = Index()
    index.add([[1.0, 0.0], [0.0, 1.0]], ["first", "other"])
    index.add([[2.0, 0.0]], ["second"])
    found, scores = index.search([[1.0, 0.0]], k=3)
    assert found.tolist() == [["first", "second", "other"]]
    assert scores.tolist() == [[1.0, 1.0, 0.0]]


def test_k_may_be_the_whole_index_and_no_queries_give_empty_answers(rng, rows):
    index = Index()
    index.add(rows, names(40))
    assert index.search(rows[:2], k=40)[0].shape == (2, 40)
    found, scores = index.search(np.zeros((0, 8)), k=3)
    assert found.shape == scores.shape == (0, 3)


def test_save_and_load_give_the_same_index_and_the_file_holds_no_pickles(rng, rows, tmp_path):
    index = Index(ExactSearch(query_batch_size=5, row_batch_size=9))
    index.add(rows, names(40, "ünïcödé"))
    path = index.save(tmp_path / "catalog.npz")
    again = Index.load(path)
    assert again.get_config() == index.get_config()
    np.testing.assert_array_equal(again.embeddings, index.embeddings)
    np.testing.assert_array_equal(again.ids, index.ids)
    queries = dyadic_unit_rows(rng, 6)
    for expected, actual in zip(index.search(queries, 5), again.search(queries, 5)):
        np.testing.assert_array_equal(actual, expected)
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)
    assert os.listdir(tmp_path) == ["catalog.npz"]


def test_an_index_saved_before_any_add_loads_empty(tmp_path):
    again = Index.load(Index().save(tmp_path / "empty.npz"))
    assert len(again) == 0 and again.dim is None


def test_a_failed_save_leaves_the_earlier_file_whole_and_no_partial_file(rows, tmp_path, monkeypatch):
    path = tmp_path / "catalog.npz"
    first = Index()
    first.add(rows[:10], names(10))
    first.save(path)
    before = path.read_bytes()

    def fail_midway(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    bigger = Index()
    bigger.add(rows, names(40))
    monkeypatch.setattr(np, "savez", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        bigger.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["catalog.npz"]


def test_loading_refuses_missing_truncated_corrupt_and_foreign_files_clearly(rows, tmp_path):
    index = Index()
    index.add(rows, names(40))
    good = index.save(tmp_path / "good.npz").read_bytes()
    with pytest.raises(FileNotFoundError, match="No index file at .*missing.npz"):
        Index.load(tmp_path / "missing.npz")

    (tmp_path / "truncated.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="truncated.npz is a truncated or corrupt index file"):
        Index.load(tmp_path / "truncated.npz")

    with zipfile.ZipFile(tmp_path / "good.npz") as archive:
        start = archive.getinfo("embeddings.npy").header_offset + 200  # inside the stored rows
    flipped = bytearray(good)
    flipped[start] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="flipped.npz is a truncated or corrupt index file.*CRC"):
        Index.load(tmp_path / "flipped.npz")

    (tmp_path / "text.npz").write_text("not an index")
    np.save(tmp_path / "array.npy", rows)
    np.savez(tmp_path / "other.npz", weights=rows)
    for name in ("text.npz", "array.npy", "other.npz"):
        with pytest.raises(ValueError, match=f"{name} is not an index file written by Index.save"):
            Index.load(tmp_path / name)


def test_bad_inputs_are_refused_naming_what_was_expected_and_nothing_is_added(rows):
    index = Index()
    with pytest.raises(ValueError, match="The index is empty"):
        index.search(rows[:1], k=1)
    index.add(rows[:4], names(4))
    cases = [
        (lambda: index.add(rows[:2, :4], ["x", "y"]), r"embeddings of width 8 \(the index's\), got shape \(2, 4\)"),
        (lambda: index.add(rows[0], ["x"]), r"\(N, D\) array of embeddings, got shape \(8,\)"),
        (lambda: index.add(rows[4:7], ["x", "y"]), "Expected 3 ids, one for each of the 3 embeddings, got 2"),
        (lambda: index.add(rows[4:6], [1, 2]), r"Expected ids to be strings, but ids\[0\] is int \(1\)"),
        (lambda: index.add(rows[4:5], "x"), "Expected ids to be a sequence of strings"),
        (lambda: index.add(rows[4:6], ["x", "x"]), "Expected distinct ids, but 1 are repeated, e.g. 'x'"),
        (lambda: index.add(rows[4:6], ["x", "item-2"]), "ids not already in the index, but 1 are, e.g. 'item-2'"),
        (lambda: index.add(np.where(np.eye(2, 8) > 0, np.nan, 1.0), ["x", "y"]), "finite embeddings, but 2 row"),
        (lambda: index.add([[np.inf] * 8], ["x"]), "finite embeddings, but 1 row"),
        (lambda: index.add(np.zeros((1, 8)), ["x"]), "non-zero embeddings"),
        (lambda: index.add(np.array([["a"] * 8]), ["x"]), r"\(N, D\) array of numbers"),
        (lambda: index.search(rows[:1, :3], k=1), r"queries of width 8 \(the index's\), got shape \(1, 3\)"),
        (lambda: index.search(rows[:1], k=0), "k must be a positive integer, got 0"),
        (lambda: index.search(rows[:1], k=5), "k must be between 1 and the 4 rows in the index, got 5"),
        (lambda: index.search(rows[:1], k=2.5), "k must be a positive integer"),
        (lambda: index.search([[np.nan] * 8], k=1), "finite queries"),
        (lambda: Index(backend="annoy"), "backend must be one of 'exact', 'faiss'; got 'annoy'"),
        (lambda: Index(backend=object()), "backend must be one of 'exact', 'faiss' or a kc.retrieval.SearchBackend"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    assert len(index) == 4 and index.embeddings.shape == (4, 8)
