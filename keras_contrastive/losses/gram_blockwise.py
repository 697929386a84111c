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
    """The tile pairs on and above the diagonal, their blocks of rows and columns, and per-tile accumulators."""

    def __init__(self, embeddings, scale: float, shift, block_size: int):
        self.embeddings = embeddings
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

    def pair(self, pair):
        """Tile pair `pair`'s row tile, column tile, and whether it is on the diagonal."""
        row_tile, column_tile = self.pairs[pair, 0], self.pairs[pair, 1]
        return row_tile, column_tile, tf.equal(row_tile, column_tile)

    def blocks(self, row_tile, column_tile):
        """The two factors of the tile's shifted logits."""
        return self.take(self.rows, row_tile), self.take(self.columns, column_tile)

    def loop(self, step, accumulators):
        """Runs `step(pair, accumulators) -> accumulators` over every tile pair, one pair at a time."""

        def body(pair, *accumulators):
            return (pair + 1, *step(pair, accumulators))

        # One pair at a time: parallel iterations would hold several tiles at once.
        results = tf.while_loop(lambda pair, *_: pair < tf.shape(self.pairs)[0], body, (0, *accumulators),
                                parallel_iterations=1)
        return results[1:]

    def accumulator(self, per_feature: bool = False, fill: float = 0.0, transposed: bool = False):
        """A TensorArray of one `(tile rows,)` value per tile, each `fill`.

        With `per_feature`, `(tile rows, D)`, or `(D, tile rows)` if also
        `transposed`.
        """
        features = self.embeddings.shape[1]
        element = ([features, None] if transposed else [None, features]) if per_feature else [None]
        array = tf.TensorArray(tf.float32, size=self.count, infer_shape=False, element_shape=element,
                               clear_after_read=False)

        def write(tile, array):
            rows, width = tf.minimum(self.block_size, self.n - self.start(tile)), tf.shape(self.embeddings)[1]
            shape = ([width, rows] if transposed else [rows, width]) if per_feature else [rows]
            return tile + 1, array.write(tile, tf.fill(shape, tf.constant(fill, tf.float32)))

        return tf.while_loop(lambda tile, _: tile < self.count, write, (0, array))[1]


def _combine(array, tile, value, how=tf.add):
    """`array` with tile `tile`'s entry combined with `value` (added, or by `how`)."""
    return array.write(tile, how(array.read(tile), value))


# Each tile's elementwise work is compiled by XLA into a few loops fused with their reductions: TensorFlow's
# own kernels make a pass over the tile per operation, and at 4,096 x 4,096 the exponentials and sums took as
# long as the matrix product that makes them. Each function is traced for a diagonal tile and for one off
# the diagonal (a Python bool: only the few diagonal tiles pay for the mask); the tiles' shapes vary only at
# the last tile, so XLA compiles a handful of shapes per loop.
def _shifted_logits(rows, columns, diagonal: bool):
    """The tile's logits less the shift; on the diagonal, the anchors' own are the most negative float (exp 0)."""
    logits = tf.matmul(rows, columns, transpose_b=True)
    if not diagonal:
        return logits
    return tf.linalg.set_diag(logits, tf.fill([tf.shape(logits)[0]], logits.dtype.min))


@tf.function(jit_compile=True, autograph=False)
def _tile_sums(rows, columns, diagonal: bool):
    """The tile's row and column sums of shifted exponentials; a diagonal tile's columns (its rows) are 0."""
    exponentials = tf.exp(_shifted_logits(rows, columns, diagonal))
    row_sums = tf.reduce_sum(exponentials, axis=1)
    return row_sums, tf.zeros_like(row_sums) if diagonal else tf.reduce_sum(exponentials, axis=0)


@tf.function(jit_compile=True, autograph=False)
def _tile_sums_and_tops(rows, columns, row_positives, column_positives, diagonal: bool):
    """`_tile_sums`, each row's and column's largest logit, and the logit of its positive where it lies here.

    `row_positives` is each row's positive as a column of this tile, -1
    outside it, and `column_positives` each column's as a row. Largest and
    positive logits are read from the same computed entries, so `positive >=
    top` holds exactly when the positive is the largest, however the product
    rounds. Where the tile has no such entry the float minimum stands in, as
    for a diagonal tile's columns, which are its rows, already read.
    """
    logits = _shifted_logits(rows, columns, diagonal)
    exponentials = tf.exp(logits)
    lowest = tf.fill([tf.shape(logits)[1]], logits.dtype.min)
    # The positives are gathered from the flattened tile: a comparison with every entry would be a third pass.
    flat, width = tf.reshape(logits, [-1]), tf.shape(logits)[1]
    row_positive_logits = tf.where(row_positives >= 0, tf.gather(
        flat, tf.range(tf.shape(logits)[0]) * width + tf.maximum(row_positives, 0)), logits.dtype.min)
    column_positive_logits = tf.where(column_positives >= 0, tf.gather(
        flat, tf.maximum(column_positives, 0) * width + tf.range(width)), logits.dtype.min)
    row_sums = tf.reduce_sum(exponentials, axis=1)
    if diagonal:
        return row_sums, tf.zeros_like(lowest), tf.reduce_max(logits, axis=1), lowest, row_positive_logits, lowest
    return (row_sums, tf.reduce_sum(exponentials, axis=0), tf.reduce_max(logits, axis=1),
            tf.reduce_max(logits, axis=0), row_positive_logits, column_positive_logits)


@tf.function(jit_compile=True, autograph=False)
def _tile_coefficients(rows, columns, row_weights, column_weights, diagonal: bool):
    """The gradient weight of each logit of the tile: `exp(shifted logit) * (weight_row + weight_column)`.

    The logit `x_i . x_j` of an off-diagonal tile belongs to row i and to
    row j; on the diagonal each entry is one row's only.
    """
    exponentials = tf.exp(_shifted_logits(rows, columns, diagonal))
    if diagonal:
        return exponentials * row_weights[:, None]
    return exponentials * (row_weights[:, None] + column_weights[None, :])


def _on_tile(function, diagonal, *inputs):
    """`function(*inputs, diagonal)`, traced for both kinds of tile, with the kind chosen at run time."""
    return tf.cond(diagonal, lambda: function(*inputs, True), lambda: function(*inputs, False))


def _inside(indices, start, extent):
    """`indices - start` where they fall in `[start, start + extent)`, else -1."""
    return tf.where((indices >= start) & (indices < start + extent), indices - start, -1)


# The tile loops are compiled even when called eagerly, where a loop would pay Python's cost per tile pair;
# they use tf.while_loop and tf.cond themselves, so autograph has nothing to convert.
@tf.function(reduce_retracing=True, autograph=False)
def _forward(embeddings, shift, positives, scale: float, block_size: int):
    """Each row's sum of shifted exponentials, and (with positives) whether its positive is its largest logit."""
    tiles = _Tiles(embeddings, scale, shift, block_size)

    def sums_step(pair, accumulators):
        row_tile, column_tile, diagonal = tiles.pair(pair)
        row_block, column_block = tiles.blocks(row_tile, column_tile)
        if positives is None:
            row_sums, column_sums = _on_tile(_tile_sums, diagonal, row_block, column_block)
            tops = ()
        else:
            row_sums, column_sums, *tile_tops = _on_tile(
                _tile_sums_and_tops, diagonal, row_block, column_block,
                _inside(tiles.take(positives, row_tile), tiles.start(column_tile), tf.shape(column_block)[0]),
                _inside(tiles.take(positives, column_tile), tiles.start(row_tile), tf.shape(row_block)[0]))
            # Tops, then positive logits: each the larger of what the row's tiles have shown so far.
            tops = tuple(_combine(_combine(array, row_tile, row_value, tf.maximum), column_tile, column_value,
                                  tf.maximum)
                         for array, row_value, column_value in zip(accumulators[1:], tile_tops[::2], tile_tops[1::2]))
        sums = _combine(_combine(accumulators[0], row_tile, row_sums), column_tile, column_sums)
        return (sums, *tops)

    accumulators = (tiles.accumulator(),)
    if positives is not None:
        accumulators += (tiles.accumulator(fill=tf.float32.min), tiles.accumulator(fill=tf.float32.min))
    results = tiles.loop(sums_step, accumulators)
    sums = results[0].concat()
    if positives is None:
        return sums, None
    tops, positive_logits = results[1].concat(), results[2].concat()
    return sums, positive_logits >= tops


@tf.function(reduce_retracing=True, autograph=False)
def _backward(embeddings, shift, weights, scale: float, block_size: int):
    """The gradient of `sum(upstream * logsumexp)`, with `weights = upstream / sums` per row."""
    tiles = _Tiles(embeddings, scale, shift, block_size)

    def step(pair, accumulators):
        row_gradients, column_gradients = accumulators
        row_tile, column_tile, diagonal = tiles.pair(pair)
        coefficients = _on_tile(_tile_coefficients, diagonal, *tiles.blocks(row_tile, column_tile),
                                tiles.take(weights, row_tile), tiles.take(weights, column_tile))
        # The products stay with TensorFlow's oneDNN kernels, faster here than XLA's dot with a fused operand.
        # The columns' share is taken transposed, x_rows^T C, which reads the tile in its own order: C^T x_rows
        # (transpose_a) ran at about half the rate.
        row_gradients = _combine(row_gradients, row_tile,
                                 tf.matmul(coefficients, tiles.take(embeddings, column_tile)))
        column_gradients = _combine(column_gradients, column_tile,
                                    tf.matmul(tiles.take(embeddings, row_tile), coefficients, transpose_a=True))
        return row_gradients, column_gradients

    row_gradients, column_gradients = tiles.loop(
        step, (tiles.accumulator(per_feature=True), tiles.accumulator(per_feature=True, transposed=True)))

    def add_columns(tile, gradients):
        return tile + 1, _combine(gradients, tile, tf.transpose(column_gradients.read(tile)))

    gradients = tf.while_loop(lambda tile, _: tile < tiles.count, add_columns, (0, row_gradients))[1]
    return scale * gradients.concat()
