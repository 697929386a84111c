import numpy as np
import pytest

from keras_contrastive.evaluation import answer_recall


def reference_recall(queries, candidates, answers, k):
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    c = candidates / np.linalg.norm(candidates, axis=1, keepdims=True)
    order = np.argsort(-(q @ c.T), axis=1, kind="stable")
    return np.mean([bool(set(order[i, :k]) & set(a)) for i, a in enumerate(answers)])


def test_matches_a_brute_force_ranking_on_random_embeddings(rng):
    queries, candidates = rng.normal(size=(40, 8)), rng.normal(size=(30, 8)) * rng.uniform(0.5, 2, size=(30, 1))
    answers = [list(rng.choice(30, size=rng.integers(1, 4), replace=False)) for _ in range(40)]
    got = answer_recall(queries, candidates, answers, k=(1, 5, 10))
    for k in (1, 5, 10):
        assert got[f"recall@{k}"] == pytest.approx(reference_recall(queries, candidates, answers, k))
    assert got["recall@1"] <= got["recall@5"] <= got["recall@10"]


def test_perfect_and_refused_inputs(rng):
    candidates = rng.normal(size=(6, 4))
    assert answer_recall(candidates * 3.0, candidates, [[i] for i in range(6)], k=(1,)) == {"recall@1": 1.0}
    with pytest.raises(ValueError, match=r"one non-empty set of right answers per query \(6\)"):
        answer_recall(candidates, candidates, [[0]] * 5)
    with pytest.raises(ValueError, match=r"Each k must be in \[1, 6\]"):
        answer_recall(candidates, candidates, [[0]] * 6, k=(10,))
    with pytest.raises(ValueError, match="of one width"):
        answer_recall(candidates, rng.normal(size=(6, 5)), [[0]] * 6)
