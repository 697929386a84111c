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


def _block_logits(rows, candidates, start, block_size: int, excluded):
    """The candidates of the block starting at `start`, and the rows' logits against them."""
    block = candidates[start : start + block_size]
    logits = tf.matmul(rows, block, transpose_b=True)
    if excluded is not None:
        columns = start + tf.range(tf.shape(block)[0])
        # The most negative float: it never wins the argmax, and its exponential
        # relative to any real logit is 0, so it has no weight and no gradient.
        logits = tf.where(tf.equal(excluded[:, None], columns[None, :]), logits.dtype.min, logits)
    return block, logits


def _block_starts(candidates, block_size: int):
    """The loop's condition over block starts, and the number of blocks."""
    total = tf.shape(candidates)[0]
    return (lambda start, *_: start < total), (total + block_size - 1) // block_size


def _forward(rows, candidates, block_size: int, excluded):
    """The online log-sum-exp and argmax over the blocks, one block at a time."""
    more, _ = _block_starts(candidates, block_size)
    m = tf.shape(rows)[0]

    def step(start, top, total, argmax):
        _, logits = _block_logits(rows, candidates, start, block_size, excluded)
        block_top = tf.reduce_max(logits, axis=1)
        new_top = tf.maximum(top, block_top)
        total = total * tf.exp(top - new_top) + tf.reduce_sum(tf.exp(logits - new_top[:, None]), axis=1)
        argmax = tf.where(block_top > top, start + tf.argmax(logits, axis=1, output_type=tf.int32), argmax)
        return start + block_size, new_top, total, argmax

    initial = (tf.constant(0), tf.fill([m], -float("inf")), tf.zeros([m]), tf.zeros([m], tf.int32))
    # One block at a time: parallel iterations would hold several blocks at once.
    _, top, total, argmax = tf.while_loop(more, step, initial, parallel_iterations=1)
    return top + tf.math.log(total), argmax


def _backward(rows, candidates, block_size: int, excluded, logsumexp, upstream):
    """Gradients of `sum(upstream * logsumexp)` with respect to rows and candidates, block by block."""
    more, blocks = _block_starts(candidates, block_size)

    def step(start, index, d_rows, d_candidates):
        block, logits = _block_logits(rows, candidates, start, block_size, excluded)
        weights = upstream[:, None] * tf.exp(logits - logsumexp[:, None])  # upstream x softmax
        d_rows += tf.matmul(weights, block)
        d_candidates = d_candidates.write(index, tf.matmul(weights, rows, transpose_a=True))
        return start + block_size, index + 1, d_rows, d_candidates

    d_candidates = tf.TensorArray(candidates.dtype, size=blocks, infer_shape=False,
                                  element_shape=tf.TensorShape([None]).concatenate(candidates.shape[1:]))
    initial = (tf.constant(0), tf.constant(0), tf.zeros_like(rows), d_candidates)
    _, _, d_rows, d_candidates = tf.while_loop(more, step, initial, parallel_iterations=1)
    return d_rows, d_candidates.concat()
