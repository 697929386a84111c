"""Exact top-k by cosine similarity in TensorFlow, a block of index rows at a time."""

from __future__ import annotations

import tensorflow as tf

#: Index rows scored at once: a (queries x 16384) float32 block of scores.
DEFAULT_ROW_BATCH_SIZE = 16384


def top_k_cosine(queries, rows, k, row_batch_size: int = DEFAULT_ROW_BATCH_SIZE) -> tuple[tf.Tensor, tf.Tensor]:
    """The `k` rows most similar to each query, by inner product of unit vectors (cosine similarity).

    The rows are scored a block of `row_batch_size` at a time; each block's
    top k is merged into the running top k, so memory stays at
    `queries x (row_batch_size + 2k)` however many rows there are. The
    result is exactly that of one `tf.math.top_k` over all rows: highest
    score first and, among equal scores, the lower row first.

    Only core TensorFlow ops (`MatMul`, `TopKV2`, a `While` loop), so the
    function runs eagerly, inside `tf.function`, and in an exported
    SavedModel that TF Serving loads.

    Args:
        queries: `(Q, D)` float32 unit rows.
        rows: `(N, D)` float32 unit rows, N >= k (the caller checks).
        k: Neighbours per query, an int or a scalar int32 tensor.
        row_batch_size: Rows scored at once.

    Returns:
        `(scores, positions)`: `(Q, k)` float32 similarities, highest first,
        and the int64 positions of those rows in `rows`.

    Example:
    >>> scores, positions = top_k_cosine(unit_queries, unit_rows, k=10)
    """
    queries = tf.convert_to_tensor(queries, tf.float32)
    rows = tf.convert_to_tensor(rows, tf.float32)
    num_rows = tf.shape(rows)[0]
    shape = tf.stack([tf.shape(queries)[0], k])
    # Placeholders that any real score beats; with N >= k none is returned.
    initial = (tf.constant(0), tf.fill(shape, float("-inf")), tf.zeros(shape, tf.int64))

    def merge_block(start, best_scores, best_positions):
        block_scores = tf.matmul(queries, rows[start : start + row_batch_size], transpose_b=True)
        scores, positions = tf.math.top_k(block_scores, tf.minimum(k, tf.shape(block_scores)[1]))
        # The running best come first: top_k keeps the earlier of equal scores, so ties go to lower rows.
        scores = tf.concat([best_scores, scores], axis=1)
        positions = tf.concat([best_positions, tf.cast(positions, tf.int64) + tf.cast(start, tf.int64)], axis=1)
        best_scores, picked = tf.math.top_k(scores, k)
        return start + row_batch_size, best_scores, tf.gather(positions, picked, batch_dims=1)

    _, scores, positions = tf.while_loop(
        lambda start, *_: start < num_rows, merge_block, initial, parallel_iterations=1
    )
    return scores, positions
