"""NumPy references for similarity search, and embeddings on which float32 search is exact."""

import numpy as np


def dyadic_unit_rows(rng: np.random.Generator, n: int, dim: int = 8) -> np.ndarray:
    """`n` random float32 unit vectors whose entries are multiples of 1/8.

    Every norm, normalisation (also of power-of-two multiples) and inner
    product of such vectors is exact in float32, whatever the order of the
    sums, so TensorFlow's ranking must equal a float64 one bit for bit, ties
    included: the similarities are multiples of 1/64, and many are equal.
    """
    found, total = [], 0
    while total < n:
        candidates = rng.integers(-8, 9, size=(100_000, dim))
        candidates = candidates[(candidates**2).sum(axis=1) == 64]
        found.append(candidates)
        total += len(candidates)
    return (np.concatenate(found)[:n] / 8).astype(np.float32)


def brute_force(queries, rows) -> tuple[np.ndarray, np.ndarray]:
    """Every row ranked for each query by float64 cosine similarity: `(order, similarities in that order)`.

    Equal similarities keep the lower row first (a stable sort).
    """
    queries = np.asarray(queries, np.float64)
    rows = np.asarray(rows, np.float64)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    order = np.empty((len(queries), len(rows)), np.int64)
    ranked = np.empty((len(queries), len(rows)))
    for q, query in enumerate(queries):  # query by query
        similarities = rows @ query
        order[q] = np.argsort(-similarities, kind="stable")
        ranked[q] = similarities[order[q]]
    return order, ranked


def assert_matches_brute_force(ids, scores, queries, rows, row_ids, atol: float = 1e-5) -> None:
    """Checks a top-k answer of float32 search against `brute_force`, allowing near-ties to swap.

    The scores must be the reference's top-k similarities; each returned id
    must be a row whose similarity is its score; and wherever no other row
    is within `atol` of a reference similarity, the id must be the
    reference's.
    """
    ids, scores, row_ids = np.asarray(ids).astype(str), np.asarray(scores), np.asarray(row_ids).astype(str)
    order, ranked = brute_force(queries, rows)
    k = ids.shape[1]
    assert scores.dtype == np.float32 and ids.shape == scores.shape == (len(queries), k)
    np.testing.assert_allclose(scores, ranked[:, :k], atol=atol)
    position = {value: i for i, value in enumerate(row_ids)}
    for q in range(len(queries)):
        assert len(set(ids[q])) == k
        similarity_of_row = np.empty(len(row_ids))
        similarity_of_row[order[q]] = ranked[q]
        np.testing.assert_allclose(scores[q], similarity_of_row[[position[value] for value in ids[q]]], atol=atol)
        padded = np.concatenate([[np.inf], ranked[q], [-np.inf]])
        clear = (padded[:-2] - padded[1:-1] > atol)[:k] & (padded[1:-1] - padded[2:] > atol)[:k]
        np.testing.assert_array_equal(ids[q][clear], row_ids[order[q][:k]][clear])
