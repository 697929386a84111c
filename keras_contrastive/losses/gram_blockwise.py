"""Softmax over the similarities of one set of embeddings with itself, in square tiles, each pair of tiles once.

NT-Xent and SupCon on one device compare every anchor with every other
anchor: the logits `scale * x x^T` are a symmetric (Gram) matrix, and the
general blockwise softmax (`kc.losses.blockwise`) computes each similarity
twice, once for each row it belongs to. Here the matrix is cut into square
tiles of `block_size` and only the tiles on and above the diagonal are
computed: a tile's row sums feed its rows' log-sum-exp and its column sums
feed its columns', so the matrix products and exponentials are halved,
forward and backward.

One tile's exponentials serve two rows with different log-sum-exps, so they
cannot be shifted by each row's running maximum as the online log-sum-exp
does; they are shifted by one bound instead, `shift = scale * max ||x||^2`,
which no logit exceeds (Cauchy-Schwarz). The shifted logits then lie in
`[-2 shift, 0]`, and float32 holds their exponentials without underflow
while `shift <= MAX_SHIFT`: L2-normalised embeddings and a temperature of
at least `1 / MAX_SHIFT`. `fits(temperature)` says whether a loss may take
this path.

Memory is `O(block_size^2)` for a tile besides the embeddings and their
gradient; a `tf.custom_gradient` recomputes each tile in the backward pass.
"""

from __future__ import annotations

import tensorflow as tf

from keras_contrastive.distribute.cross_replica import num_replicas_in_sync
from keras_contrastive.losses.blockwise import indices_inside
from keras_contrastive.validation import after_checks, check_positive_int

# exp(-2 * 40) = 1.8e-35 is still a normal float32 (the smallest is 1.2e-38),
# so every exponential keeps its full precision.
MAX_SHIFT = 40.0


def fits(temperature) -> bool:
    """Whether a loss over L2-normalised embeddings at `temperature` may use the Gram tiles here.

    True for a Python number of at least `1 / MAX_SHIFT` outside a strategy
    with several replicas (whose rows are one replica's anchors, not all the
    candidates). A tensor temperature (a learned one) takes the general
    blockwise path, whose shift follows each row.

    Example:
    >>> fits(0.1), fits(0.01)
    (True, False)
    """
    return isinstance(temperature, float) and 1.0 / temperature <= MAX_SHIFT and num_replicas_in_sync() == 1


def gram_logsumexp(embeddings: tf.Tensor, scale: float, block_size: int) -> tf.Tensor:
    """Each row's log-sum-exp of `scale * embeddings @ embeddings^T` without its diagonal, a tile pair at a time.

    Args:
        embeddings: `(n, D)` float32, each row's squared norm at most
            `MAX_SHIFT / scale` (L2-normalised rows and `scale <= MAX_SHIFT`).
        scale: A positive Python number, the inverse temperature.
        block_size: Rows and columns per tile, a positive int; memory is
            `O(block_size^2)`, and a tile of n or more is the whole matrix.

    Returns:
        float32 `(n,)`, differentiable with respect to `embeddings`.

    Example:
    >>> x = tf.math.l2_normalize(tf.random.normal((6, 4)), axis=1)
    >>> lse = gram_logsumexp(x, 10.0, block_size=4)
    """
    return _gram_softmax(embeddings, scale, block_size, positives=None)[0]


def gram_cross_entropy(
    embeddings: tf.Tensor, scale: float, positives: tf.Tensor, block_size: int
) -> tuple[tf.Tensor, tf.Tensor]:
    """Each row's softmax cross-entropy against its positive column over the Gram logits without the diagonal.

    Equals `tf.nn.sparse_softmax_cross_entropy_with_logits(positives,
    logits)` on `logits = scale * embeddings @ embeddings^T` with each row's
    own column left out.

    Args:
        embeddings: `(n, D)` float32, as in `gram_logsumexp`.
        scale: A positive Python number, the inverse temperature.
        positives: `(n,)` int32 index of each row's positive, never the row.
        block_size: Rows and columns per tile.

    Returns:
        A tuple `(losses, hits)`: float32 `(n,)`, and bool `(n,)`, whether
        the positive is the row's largest logit (top-1 accuracy's hits).

    Example:
    >>> x = tf.math.l2_normalize(tf.random.normal((8, 4)), axis=1)
    >>> losses, hits = gram_cross_entropy(x, 10.0, (tf.range(8) + 4) % 8, block_size=4)
    """
    logsumexp, hits = _gram_softmax(embeddings, scale, block_size, positives)
    positive_logits = scale * tf.reduce_sum(embeddings * tf.gather(embeddings, positives), axis=1)
    return logsumexp - positive_logits, hits


def _gram_softmax(embeddings, scale: float, block_size: int, positives):
    """The custom-gradient log-sum-exp, and the hits when `positives` is given (else None)."""
    block_size = check_positive_int(block_size, "block_size")
    shift = scale * tf.stop_gradient(tf.reduce_max(tf.reduce_sum(tf.square(embeddings), axis=1)))
    in_range = tf.debugging.assert_less_equal(
        shift, MAX_SHIFT * (1 + 1e-5),
        message=f"the Gram tiles need scale x the largest squared norm at most {MAX_SHIFT} (L2-normalised "
                f"embeddings and a temperature of at least {1 / MAX_SHIFT}); take the general blockwise softmax")
    embeddings, shift = after_checks([in_range], embeddings, shift)

    @tf.custom_gradient
    def logsumexp_and_hits(embeddings):
        # The gradient is the one below; a tf.function called under a tape with live inputs would also have
        # its own forward and backward functions built at trace time (3.5x the tracing).
        constant = tf.stop_gradient(embeddings)
        sums, hits = _forward(constant, shift, positives, scale, block_size)
        logsumexp = shift + tf.math.log(sums)

        def gradient(upstream, _hits_upstream=None):
            return _backward(constant, shift, tf.stop_gradient(upstream * tf.exp(shift - logsumexp)), scale,
                             block_size)

        # A custom gradient's outputs are tensors: the hits only when asked for.
        return ((logsumexp, hits) if positives is not None else logsumexp), gradient

    outputs = logsumexp_and_hits(embeddings)
    return outputs if positives is not None else (outputs, None)


class _Tiles:
    """The shifted logits of the tile pairs on and above the diagonal, and per-tile accumulators."""

    def __init__(self, embeddings, scale: float, shift, block_size: int):
        self.embeddings = embeddings
        self.scale = scale
        self.block_size = block_size
        self.n = tf.shape(embeddings)[0]
        self.count = (self.n + block_size - 1) // block_size
        # One matrix product gives the shifted logits: [scale x, -shift] . [x, 1].
        self.rows = tf.concat([scale * embeddings, -tf.fill([self.n, 1], shift)], axis=1)
        self.columns = tf.concat([embeddings, tf.ones([self.n, 1])], axis=1)
        upper = tf.linalg.band_part(tf.ones([self.count, self.count]), 0, -1)
        self.pairs = tf.cast(tf.where(upper > 0), tf.int32)  # row-major: (0, 0), (0, 1), ..., (1, 1), ...

    def start(self, tile):
        return tile * self.block_size

    def take(self, values, tile):
        """The rows of `values` that fall in `tile`."""
        return values[self.start(tile) : self.start(tile) + self.block_size]

    def shifted_logits(self, pair):
        """Tile pair `pair`'s indices, whether it is on the diagonal, and its logits less the shift.

        On the diagonal the anchors' own logits are the most negative float,
        whose exponential is 0.
        """
        row_tile, column_tile = self.pairs[pair, 0], self.pairs[pair, 1]
        logits = tf.matmul(self.take(self.rows, row_tile), self.take(self.columns, column_tile), transpose_b=True)
        diagonal = tf.equal(row_tile, column_tile)
        logits = tf.cond(
            diagonal,
            lambda: tf.linalg.set_diag(logits, tf.fill([tf.shape(logits)[0]], logits.dtype.min)),
            lambda: logits,
        )
        return row_tile, column_tile, diagonal, logits

    def loop(self, step, accumulators):
        """Runs `step(pair, accumulators) -> accumulators` over every tile pair, one pair at a time."""

        def body(pair, *accumulators):
            return (pair + 1, *step(pair, accumulators))

        # One pair at a time: parallel iterations would hold several tiles at once.
        results = tf.while_loop(lambda pair, *_: pair < tf.shape(self.pairs)[0], body, (0, *accumulators),
                                parallel_iterations=1)
        return results[1:]

    def accumulator(self, per_feature: bool = False, fill: float = 0.0):
        """A TensorArray of one `(tile rows,)` value per tile, or `(tile rows, D)` if `per_feature`, each `fill`."""
        element = tf.TensorShape([None]).concatenate(self.embeddings.shape[1:] if per_feature else [])
        array = tf.TensorArray(tf.float32, size=self.count, infer_shape=False, element_shape=element,
                               clear_after_read=False)

        def write(tile, array):
            rows = tf.minimum(self.block_size, self.n - self.start(tile))
            shape = [rows, tf.shape(self.embeddings)[1]] if per_feature else [rows]
            return tile + 1, array.write(tile, tf.fill(shape, tf.constant(fill, tf.float32)))

        return tf.while_loop(lambda tile, _: tile < self.count, write, (0, array))[1]


def _add(array, tile, value):
    """`array` with `value` added to tile `tile`'s entry."""
    return array.write(tile, array.read(tile) + value)


# The tile loops are compiled even when called eagerly, where a loop would pay Python's cost per tile pair;
# they use tf.while_loop and tf.cond themselves, so autograph has nothing to convert.
@tf.function(reduce_retracing=True, autograph=False)
def _forward(embeddings, shift, positives, scale: float, block_size: int):
    """Each row's sum of shifted exponentials, and (with positives) whether its positive is its largest logit."""
    tiles = _Tiles(embeddings, scale, shift, block_size)

    def sums_step(pair, accumulators):
        row_tile, column_tile, diagonal, logits = tiles.shifted_logits(pair)
        exponentials = tf.exp(logits)
        sums = _add(accumulators[0], row_tile, tf.reduce_sum(exponentials, axis=1))
        # A diagonal tile's columns are its rows, already summed.
        off_diagonal = tf.cast(tf.logical_not(diagonal), exponentials.dtype)
        sums = _add(sums, column_tile, off_diagonal * tf.reduce_sum(exponentials, axis=0))
        if positives is None:
            return (sums,)
        return (sums, *_tops_step(tiles, positives, row_tile, column_tile, diagonal, logits, *accumulators[1:]))

    accumulators = (tiles.accumulator(),)
    if positives is not None:
        accumulators += (tiles.accumulator(fill=tf.float32.min), tiles.accumulator(fill=tf.float32.min))
    results = tiles.loop(sums_step, accumulators)
    sums = results[0].concat()
    if positives is None:
        return sums, None
    tops, positive_logits = results[1].concat(), results[2].concat()
    return sums, positive_logits >= tops


def _tops_step(tiles: _Tiles, positives, row_tile, column_tile, diagonal, logits, tops, positive_logits):
    """Folds one tile into each row's largest logit and the logit of its positive, both read from the tiles.

    Both come from the same computed tile entries, so `positive >= top`
    holds exactly when the positive is the row's largest logit, however
    the matrix product rounds. A column's entries are read where they lie,
    with no transposed copy of the tile.
    """
    tops = tops.write(row_tile, tf.maximum(tops.read(row_tile), tf.reduce_max(logits, axis=1)))
    column_tops = tf.where(diagonal, logits.dtype.min, tf.reduce_max(logits, axis=0))
    tops = tops.write(column_tile, tf.maximum(tops.read(column_tile), column_tops))

    row_positives = tiles.take(positives, row_tile)
    rows, columns = indices_inside(row_positives, tiles.start(column_tile), tf.shape(logits)[1])
    positive_logits = positive_logits.write(row_tile, tf.tensor_scatter_nd_update(
        positive_logits.read(row_tile), rows[:, None], tf.gather_nd(logits, tf.stack([rows, columns], axis=1))))

    # A diagonal tile's columns are its rows, whose positives are already read.
    column_positives = tf.where(diagonal, -1, tiles.take(positives, column_tile))
    columns, rows = indices_inside(column_positives, tiles.start(row_tile), tf.shape(logits)[0])
    positive_logits = positive_logits.write(column_tile, tf.tensor_scatter_nd_update(
        positive_logits.read(column_tile), columns[:, None],
        tf.gather_nd(logits, tf.stack([rows, columns], axis=1))))
    return tops, positive_logits


@tf.function(reduce_retracing=True, autograph=False)
def _backward(embeddings, shift, weights, scale: float, block_size: int):
    """The gradient of `sum(upstream * logsumexp)`, with `weights = upstream / sums` per row.

    The logit `x_i . x_j` of an off-diagonal tile belongs to row i and to
    row j, so its gradient weight is `exp(shifted logit) * (weights_i +
    weights_j)`; on the diagonal each entry is one row's only.
    """
    tiles = _Tiles(embeddings, scale, shift, block_size)

    def step(pair, accumulators):
        (gradients,) = accumulators
        row_tile, column_tile, diagonal, logits = tiles.shifted_logits(pair)
        off_diagonal = tf.cast(tf.logical_not(diagonal), logits.dtype)
        coefficients = tf.exp(logits) * (
            tiles.take(weights, row_tile)[:, None] + off_diagonal * tiles.take(weights, column_tile)[None, :])
        gradients = _add(gradients, row_tile, tf.matmul(coefficients, tiles.take(tiles.embeddings, column_tile)))
        gradients = _add(gradients, column_tile,
                         tf.matmul(coefficients, tiles.take(tiles.embeddings, row_tile), transpose_a=True))
        return (gradients,)

    (gradients,) = tiles.loop(step, (tiles.accumulator(per_feature=True),))
    return tiles.scale * gradients.concat()
