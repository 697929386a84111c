import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.retrieval import top_k_cosine
from tests.retrieval.reference import brute_force, dyadic_unit_rows


def rows_with_duplicates(rng, n):
    """Dyadic unit rows, a third of them copies of others, so equal scores fall in different blocks."""
    rows = dyadic_unit_rows(rng, n)
    copies = rng.choice(n, size=n // 3, replace=False)
    rows[copies] = rows[rng.choice(n, size=n // 3)]
    return rows


@pytest.mark.parametrize("row_batch_size", [1, 4, 7, 50, 64])
@pytest.mark.parametrize("k", [1, 6, 50])
def test_blocks_merged_give_exactly_the_full_ranking_ties_to_the_lower_row(rng, row_batch_size, k):
    rows = rows_with_duplicates(rng, 50)
    queries = dyadic_unit_rows(rng, 9)
    scores, positions = top_k_cosine(queries, rows, k, row_batch_size=row_batch_size)
    order, ranked = brute_force(queries, rows)
    assert scores.dtype == tf.float32 and positions.dtype == tf.int64
    np.testing.assert_array_equal(positions.numpy(), order[:, :k])
    np.testing.assert_array_equal(scores.numpy(), ranked[:, :k].astype(np.float32))


def test_inside_a_graph_with_unknown_batch_and_k_as_a_tensor(rng):
    rows = rows_with_duplicates(rng, 30)
    queries = dyadic_unit_rows(rng, 5)
    search = tf.function(
        lambda q, k: top_k_cosine(q, rows, k, row_batch_size=8),
        input_signature=[tf.TensorSpec((None, 8), tf.float32), tf.TensorSpec((), tf.int32)],
    )
    scores, positions = search(tf.constant(queries), tf.constant(4))
    order, ranked = brute_force(queries, rows)
    np.testing.assert_array_equal(positions.numpy(), order[:, :4])
    np.testing.assert_array_equal(scores.numpy(), ranked[:, :4].astype(np.float32))
