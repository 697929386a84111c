"""Softmax over candidate columns taken in blocks: a streaming log-sum-exp whose gradient is recomputed block by block.

The contrastive losses divide each anchor's similarity with its positive by
the sum over all its candidates. Written as one matrix, that is `(rows,
candidates)` floats forward and several times that for the backward pass.
Here the candidates are taken `block_size` columns at a time: the forward
pass keeps, per row, the running maximum, the running sum of exponentials
rescaled to it (the "online" log-sum-exp of Milakov and Gimelshein, 2018)
and the running argmax; the backward pass recomputes each block's softmax
from the final log-sum-exp and accumulates the gradients block by block. A
`tf.custom_gradient` keeps TensorFlow's autodiff from storing every block's
logits, so forward and backward hold `O(rows x block_size)` floats besides
the inputs and their gradients.
"""

from __future__ import annotations

import tensorflow as tf

from keras_contrastive.validation import check_positive_int


def streaming_logsumexp(
    rows: tf.Tensor, candidates: tf.Tensor, block_size: int, excluded: tf.Tensor | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """The log-sum-exp and argmax of each row of `rows @ candidates^T`, never holding the whole product.

    Row `i`'s logits are `rows[i] . candidates[j]` for every candidate `j`
    except `excluded[i]` (an anchor's own column), which takes no part in
    the softmax or the argmax and gets no gradient. The log-sum-exp is
    differentiable with respect to `rows` and `candidates`; its gradient is
    recomputed block by block in the backward pass.

    Args:
        rows: `(m, D)` float32 anchors, already divided by the temperature.
        candidates: `(M, D)` float32 candidates of the same width.
        block_size: Candidate columns per block, a positive int; memory is
            `O(m x block_size)`, and a block of M or more is one block.
        excluded: Optional `(m,)` int32 index of each row's excluded column.

    Returns:
        A tuple `(logsumexp, argmax)`: float32 `(m,)` and int32 `(m,)`, the
        index of each row's largest logit (the first one on a tie, as
        `tf.argmax`).

    Example:
    >>> rows, candidates = tf.random.normal((6, 4)), tf.random.normal((6, 4))
    >>> lse, best = streaming_logsumexp(rows, candidates, block_size=4, excluded=tf.range(6))
    """

    block_size = check_positive_int(block_size, "block_size")

    @tf.custom_gradient
    def logsumexp_and_argmax(rows, candidates):
        logsumexp, argmax = _forward(rows, candidates, block_size, excluded)

        def gradient(upstream, _argmax_upstream=None):
            return _backward(rows, candidates, block_size, excluded, logsumexp, upstream)

        return (logsumexp, argmax), gradient

    return logsumexp_and_argmax(rows, candidates)


def blockwise_cross_entropy(
    rows: tf.Tensor,
    candidates: tf.Tensor,
    positives: tf.Tensor,
    block_size: int,
    excluded: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Softmax cross-entropy of each row against its positive column, with `streaming_logsumexp`.

    Equals `tf.nn.sparse_softmax_cross_entropy_with_logits(positives, logits)`
    on the full `logits = rows @ candidates^T` with the excluded columns
    left out, in `O(m x block_size)` memory.

    Args:
        rows: `(m, D)` float32 anchors divided by the temperature.
        candidates: `(M, D)` float32 candidates.
        positives: `(m,)` int32 index of each row's positive column.
        block_size: Candidate columns per block.
        excluded: Optional `(m,)` int32 index of a column each row leaves out.

    Returns:
        A tuple `(losses, argmax)`: float32 `(m,)` and the int32 `(m,)`
        index of each row's most similar candidate.

    Example:
    >>> losses, best = blockwise_cross_entropy(queries / 0.2, keys, tf.range(8), block_size=4)
    """
    logsumexp, argmax = streaming_logsumexp(rows, candidates, block_size, excluded)
    positive_logits = tf.reduce_sum(rows * tf.gather(candidates, positives), axis=1)
    return logsumexp - positive_logits, argmax


def _without_excluded(block_values, start, excluded, value: float):
    """`block_values` (rows x the block's columns from `start`) with each row's excluded column set to `value`.

    Only the rows whose excluded column falls in the block are written (a
    scatter of at most a block's worth of entries), not a mask the size of
    the block.
    """
    if excluded is None:
        return block_values
    rows, columns = indices_inside(excluded, start, tf.shape(block_values, out_type=excluded.dtype)[1])
    return tf.tensor_scatter_nd_update(block_values, tf.stack([rows, columns], axis=1), tf.fill(tf.shape(rows), value))


def indices_inside(indices: tf.Tensor, start, extent) -> tuple[tf.Tensor, tf.Tensor]:
    """Which of the column `indices` (one per row) fall in `[start, start + extent)`: those rows, and their offsets.

    Args:
        indices: `(m,)` int column index of each row (its excluded column, its positive).
        start: The first column of the block, a scalar of the same dtype.
        extent: The block's number of columns.

    Returns:
        A tuple `(rows, offsets)` of `indices`' dtype: the rows whose index
        falls in the block and `indices[rows] - start`.

    Example:
    >>> indices_inside(tf.constant([5, 1, 3]), 2, 4)  # rows 0 and 2, at offsets 3 and 1
    """
    rows = tf.cast(tf.reshape(tf.where((indices >= start) & (indices < start + extent)), [-1]), indices.dtype)
    return rows, tf.gather(indices, rows) - start


def _block_starts(candidates, block_size: int):
    """The loop's condition over block starts, and the number of blocks."""
    total = tf.shape(candidates)[0]
    return (lambda start, *_: start < total), (total + block_size - 1) // block_size


def _forward(rows, candidates, block_size: int, excluded):
    """The online log-sum-exp and argmax over the blocks, one block at a time."""
    more, _ = _block_starts(candidates, block_size)
    m = tf.shape(rows)[0]

    def step(start, top, total, argmax):
        logits = tf.matmul(rows, candidates[start : start + block_size], transpose_b=True)
        # The most negative float: it never wins the argmax, and its exponential
        # relative to any real logit is 0, so it has no weight and no gradient.
        logits = _without_excluded(logits, start, excluded, logits.dtype.min)
        block_argmax = tf.argmax(logits, axis=1, output_type=tf.int32)
        block_top = tf.gather(logits, block_argmax, batch_dims=1)
        new_top = tf.maximum(top, block_top)
        total = total * tf.exp(top - new_top) + tf.reduce_sum(tf.exp(logits - new_top[:, None]), axis=1)
        argmax = tf.where(block_top > top, start + block_argmax, argmax)
        return start + block_size, new_top, total, argmax

    initial = (tf.constant(0), tf.fill([m], -float("inf")), tf.zeros([m]), tf.zeros([m], tf.int32))
    # One block at a time: parallel iterations would hold several blocks at once.
    _, top, total, argmax = tf.while_loop(more, step, initial, parallel_iterations=1)
    return top + tf.math.log(total), argmax


def _backward(rows, candidates, block_size: int, excluded, logsumexp, upstream):
    """Gradients of `sum(upstream * logsumexp)` with respect to rows and candidates, block by block.

    Row i's softmax over a block is `exp(rows[i] . c - logsumexp[i])`: one
    matrix product of the rows with a `-logsumexp` column appended and the
    candidates with a column of ones, then one exponential, so no pass over
    the block subtracts or scales. The upstream gradient scales the rows
    (`(m, D)`) and `d_rows` at the end instead of every block's weights.
    """
    more, blocks = _block_starts(candidates, block_size)
    shifted_rows = tf.concat([rows, -logsumexp[:, None]], axis=1)
    candidates_and_ones = tf.concat([candidates, tf.ones_like(candidates[:, :1])], axis=1)
    scaled_rows = upstream[:, None] * rows

    def step(start, index, d_rows, d_candidates):
        block = candidates[start : start + block_size]
        softmax = tf.exp(tf.matmul(shifted_rows, candidates_and_ones[start : start + block_size], transpose_b=True))
        softmax = _without_excluded(softmax, start, excluded, 0.0)
        d_rows += tf.matmul(softmax, block)
        d_candidates = d_candidates.write(index, tf.matmul(softmax, scaled_rows, transpose_a=True))
        return start + block_size, index + 1, d_rows, d_candidates

    d_candidates = tf.TensorArray(candidates.dtype, size=blocks, infer_shape=False,
                                  element_shape=tf.TensorShape([None]).concatenate(candidates.shape[1:]))
    initial = (tf.constant(0), tf.constant(0), tf.zeros_like(rows), d_candidates)
    _, _, d_rows, d_candidates = tf.while_loop(more, step, initial, parallel_iterations=1)
    return upstream[:, None] * d_rows, d_candidates.concat()
