import numpy as np
import pytest

from keras_contrastive.evaluation import retrieval_metrics
from tests.retrieval.reference import dyadic_unit_rows


def reference(queries, query_labels, index, index_labels, ks, exclude_self=False):
    """Musgrave et al.'s definitions in float64, query by query; equal similarities keep the lower row first."""
    queries = np.asarray(queries, np.float64)
    index = np.asarray(index, np.float64)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    index = index / np.linalg.norm(index, axis=1, keepdims=True)
    totals = {**{f"recall@{k}": 0.0 for k in ks}, **{f"precision@{k}": 0.0 for k in ks}, "map@r": 0.0}
    scored = 0
    for q, (query, label) in enumerate(zip(queries, query_labels)):
        similarities = np.array([float(np.dot(row, query)) for row in index])
        neighbours = [i for i in np.argsort(-similarities, kind="stable") if not (exclude_self and i == q)]
        relevant = [index_labels[i] == label for i in neighbours]
        r = sum(relevant)
        if r == 0:
            continue  # a query with no same-label item in the index is left out
        scored += 1
        for k in ks:
            totals[f"recall@{k}"] += float(any(relevant[:k]))
            totals[f"precision@{k}"] += sum(relevant[:k]) / k
        average_precision = 0.0
        for i in range(1, r + 1):
            if relevant[i - 1]:
                average_precision += sum(relevant[:i]) / i
        totals["map@r"] += average_precision / r
    return {name: value / scored for name, value in totals.items()}


def labelled_set(rng, n, classes):
    """Dyadic rows (exact float32 similarities, many of them tied) with power-of-two lengths and labels."""
    rows = dyadic_unit_rows(rng, n) * 2.0 ** rng.integers(-2, 3, size=(n, 1))
    copies = rng.choice(n, size=n // 4, replace=False)
    rows[copies] = rows[rng.choice(n, size=n // 4)]  # exact duplicates: ties at the top too
    return rows, rng.integers(0, classes, size=n)


def assert_same(actual, expected):
    assert list(actual) == list(expected)
    for name in expected:
        assert actual[name] == pytest.approx(expected[name], rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("batch_size", [1, 7, 256])
def test_separate_queries_and_index_against_the_reference(rng, batch_size):
    index, index_labels = labelled_set(rng, 60, classes=5)
    queries, query_labels = labelled_set(rng, 23, classes=5)
    query_labels[rng.integers(23)] = 5  # a class with no item in the index: left out
    ks = (1, 3, 10)
    actual = retrieval_metrics(queries, query_labels, index, index_labels, k=ks, batch_size=batch_size)
    assert_same(actual, reference(queries, query_labels, index, index_labels, ks))


@pytest.mark.parametrize("batch_size", [1, 5, 256])
def test_exclude_self_against_the_reference_with_a_class_of_one(rng, batch_size):
    rows, labels = labelled_set(rng, 45, classes=4)
    labels[rng.integers(45)] = 9  # a class of one: it has nothing to find and is left out
    ks = (1, 5, 44)
    actual = retrieval_metrics(rows, labels, rows, labels, k=ks, exclude_self=True, batch_size=batch_size)
    assert_same(actual, reference(rows, labels, rows, labels, ks, exclude_self=True))


def test_a_hand_made_ranking():
    """Query [1, 0]; neighbours in order: a (same), b (other), c (same), d (other, tied with c: c is lower)."""
    index = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.0, 1.0]]
    metrics = retrieval_metrics([[1.0, 0.0]], ["x"], index, ["x", "y", "x", "y"], k=(1, 2, 3))
    assert metrics == pytest.approx({
        "recall@1": 1.0, "recall@2": 1.0, "recall@3": 1.0,
        "precision@1": 1.0, "precision@2": 0.5, "precision@3": 2 / 3,
        "map@r": (1 / 1 + 0) / 2,  # R = 2: P(1) rel(1) + P(2) rel(2), c comes third, beyond R
    })
    with_self = retrieval_metrics(index, [0, 1, 0, 1], index, [0, 1, 0, 1], k=1, exclude_self=True)
    # a's nearest other is b (other class); b's is a; c's is d (tied, lower row); d's is c.
    assert with_self == pytest.approx({"recall@1": 0.0, "precision@1": 0.0, "map@r": 0.0})


def test_bad_inputs_are_refused_naming_what_was_expected(rng):
    rows, labels = labelled_set(rng, 10, classes=2)
    cases = [
        (dict(query_embeddings=rows[:, :4]), r"index_embeddings of width 4 \(the index's\), got shape \(10, 8\)"),
        (dict(query_labels=labels[:9]), r"query_labels to be one label per embedding, \(10,\), got shape \(9,\)"),
        (dict(index_labels=labels.astype(float)), "integer or string class labels, got dtype float64"),
        (dict(index_labels=labels.astype(str)), "labels of one kind"),
        (dict(k=(1, 11)), "k must be between 1 and the 10 index rows ranked per query, got 11"),
        (dict(k=(1, 10), exclude_self=True), "k must be between 1 and the 9 index rows ranked per query, got 10"),
        (dict(k=0), "k must be a positive integer, got 0"),
        (dict(k=()), "k must hold at least one K"),
        (dict(query_embeddings=rows[::-1]), None),  # fine without exclude_self
        (dict(query_embeddings=rows[::-1], k=1, exclude_self=True), "exclude_self=True means the queries are"),
        (dict(index_embeddings=np.where(np.eye(10, 8) > 0, np.inf, rows)), "finite index_embeddings"),
        (dict(query_embeddings=np.zeros((10, 8))), "non-zero query_embeddings"),
        (dict(query_labels=labels + 2), "No query has an item of its label in the index"),
        (dict(batch_size=0), "batch_size must be a positive integer"),
    ]
    for change, message in cases:
        arguments = dict(query_embeddings=rows, query_labels=labels, index_embeddings=rows, index_labels=labels)
        arguments.update(change)
        if message is None:
            retrieval_metrics(**arguments)
            continue
        with pytest.raises(ValueError, match=message):
            retrieval_metrics(**arguments)
