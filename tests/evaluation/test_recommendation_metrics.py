import numpy as np
import pytest

from keras_contrastive.evaluation import recommendation_metrics


def reference(scores, relevant, exclude, recall_at, ndcg_at):
    """Recall@K and NDCG@K in float64, user by user; equal scores keep the lower column first."""
    totals = {**{f"recall@{k}": 0.0 for k in recall_at}, **{f"ndcg@{k}": 0.0 for k in ndcg_at}}
    users = 0
    for row, held_out in enumerate(relevant):
        held_out = set(held_out)
        if not held_out:
            continue
        users += 1
        left_out = set(exclude[row]) if exclude is not None else set()
        ranking = [c for c in np.argsort(-np.asarray(scores[row], np.float64), kind="stable") if c not in left_out]
        for k in recall_at:
            totals[f"recall@{k}"] += len(held_out & set(ranking[:k])) / len(held_out)
        for k in ndcg_at:
            dcg = sum(1.0 / np.log2(i + 2) for i, c in enumerate(ranking[:k]) if c in held_out)
            ideal = sum(1.0 / np.log2(i + 2) for i in range(min(k, len(held_out))))
            totals[f"ndcg@{k}"] += dcg / ideal
    return {name: value / users for name, value in totals.items()}


def random_case(rng, users=40, items=60):
    """Scores on a coarse grid (many exact ties), each user's held-out and excluded columns, some users without any."""
    scores = rng.integers(0, 8, size=(users, items)).astype(np.float32) / 4
    relevant = [rng.choice(items, size=rng.integers(0, 6), replace=False).tolist() for _ in range(users)]
    exclude = [rng.choice(items, size=rng.integers(0, 20), replace=False).tolist() for _ in range(users)]
    return scores, relevant, exclude


@pytest.mark.parametrize("with_exclude", [True, False])
def test_the_metrics_equal_a_float64_reference_with_ties_and_exclusions(rng, with_exclude):
    scores, relevant, exclude = random_case(rng)
    exclude = exclude if with_exclude else None
    got = recommendation_metrics(scores, relevant, exclude, recall_at=(1, 5, 10, 30), ndcg_at=(3, 10))
    expected = reference(scores, relevant, exclude, (1, 5, 10, 30), (3, 10))
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name] == pytest.approx(expected[name], abs=1e-12), name


def test_a_perfect_ranking_scores_one_and_the_reverse_far_less(rng):
    items = 50
    relevant = [rng.choice(items, size=3, replace=False).tolist() for _ in range(10)]
    scores = np.zeros((10, items), np.float32)
    for row, columns in enumerate(relevant):
        scores[row, columns] = 1.0
    perfect = recommendation_metrics(scores, relevant, recall_at=(3,), ndcg_at=(3,))
    assert perfect == {"recall@3": 1.0, "ndcg@3": pytest.approx(1.0)}
    reverse = recommendation_metrics(-scores, relevant, recall_at=(3,), ndcg_at=(3,))
    assert reverse["recall@3"] == 0.0 and reverse["ndcg@3"] == 0.0


def test_an_excluded_item_is_never_a_hit_even_if_held_out():
    scores = np.array([[3.0, 2.0, 1.0, 0.0]], np.float32)
    # Item 0 is held out but excluded: with 3 items left, recall@4 still cannot find it.
    assert recommendation_metrics(scores, [[0, 3]], exclude=[[0]], recall_at=(4,), ndcg_at=(1,)) == {
        "recall@4": 0.5, "ndcg@1": 0.0}


@pytest.mark.parametrize("arguments, message", [
    (dict(scores=np.zeros((2, 3)), relevant=[[0]]), "one collection of item columns per user"),
    (dict(scores=np.zeros((1, 3)), relevant=[[3]]), r"outside \[0, 3\)"),
    (dict(scores=np.zeros((1, 3)), relevant=[[0]], exclude=[[-1]]), r"exclude\[0\] holds column -1"),
    (dict(scores=np.zeros((1, 3)), relevant=[[]]), "no held-out item"),
    (dict(scores=np.zeros((1, 3)), relevant=[[0]], recall_at=(4,)), "catalogue items"),
    (dict(scores=np.full((1, 3), np.inf), relevant=[[0]]), "finite"),
    (dict(scores=np.zeros(3), relevant=[[0]]), r"\(users, items\)"),
])
def test_bad_input_is_refused_naming_what_was_expected(arguments, message):
    with pytest.raises(ValueError, match=message):
        recommendation_metrics(**{"recall_at": (1,), "ndcg_at": (1,), **arguments})
