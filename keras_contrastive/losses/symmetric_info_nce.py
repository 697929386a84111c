"""The symmetric InfoNCE of CLIP: the cross-entropy over the rows and over the columns of the similarity matrix."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.info_nce import info_nce_and_accuracy, info_nce_per_anchor
from keras_contrastive.losses.pair_loss import PairLoss
from keras_contrastive.validation import check_optional_positive_int, check_positive


def _temperature(temperature):
    """The checked temperature; a tensor (a learned temperature) as float32, its gradient kept."""
    temperature = check_positive(temperature, "temperature")
    return tf.cast(temperature, tf.float32) if tf.is_tensor(temperature) else temperature


def symmetric_info_nce_per_example(
    z_a: tf.Tensor, z_b: tf.Tensor, temperature=0.07, block_size: int | None = None
) -> tf.Tensor:
    """Each example's share of the symmetric InfoNCE: float32 `(N,)`. Args as in `symmetric_info_nce`.

    Example `i`'s value is the mean of row `i`'s cross-entropy (`z_a[i]`
    against every `z_b`) and column `i`'s (`z_b[i]` against every `z_a`);
    their mean over the batch is `symmetric_info_nce`. Under a strategy
    with several replicas, the `(n,)` values of this replica's examples
    against the rows of all replicas.
    """
    temperature = _temperature(temperature)
    rows = info_nce_per_anchor(z_a, z_b, None, temperature, block_size)
    columns = info_nce_per_anchor(z_b, z_a, None, temperature, block_size)
    return (rows + columns) / 2.0


def symmetric_info_nce_and_accuracy(
    z_a: tf.Tensor, z_b: tf.Tensor, temperature=0.07, block_size: int | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """The symmetric InfoNCE and the top-1 accuracy of both directions' softmax.

    The accuracy is the mean of how often `z_a[i]`'s most similar `z_b` is
    `z_b[i]` (image to text) and how often `z_b[i]`'s most similar `z_a` is
    `z_a[i]` (text to image). Args as in `symmetric_info_nce`.

    Returns:
        A tuple of float32 scalars `(loss, accuracy)`.
    """
    temperature = _temperature(temperature)
    row_loss, row_accuracy = info_nce_and_accuracy(z_a, z_b, None, temperature, block_size)
    column_loss, column_accuracy = info_nce_and_accuracy(z_b, z_a, None, temperature, block_size)
    return (row_loss + column_loss) / 2.0, (row_accuracy + column_accuracy) / 2.0


def symmetric_info_nce(z_a: tf.Tensor, z_b: tf.Tensor, temperature=0.07, block_size: int | None = None) -> tf.Tensor:
    """CLIP's loss: the mean of the cross-entropies over the rows and over the columns of the similarities.

    The logits are the cosine similarities of every `z_a` row with every
    `z_b` row divided by `temperature`; row `i`'s target is column `i` and
    column `i`'s is row `i`. This is `(info_nce(z_a, z_b) + info_nce(z_b,
    z_a)) / 2` (`kc.losses.info_nce`), computed in float32. Inside
    `strategy.run` with several replicas both directions score this
    replica's rows against the rows of every replica, as on one device
    given the global batch (open_clip's "local loss" with gathered
    features), and gradients reach the replica that owns each row.

    Args:
        z_a: `(N, D)` embeddings of one side (images), N >= 2.
        z_b: `(N, D)` embeddings of the other (captions), row `i` the pair of `z_a[i]`.
        temperature: A positive number (CLIP's initial 0.07), or a float
            scalar tensor such as `exp(-logit_scale)` of a learned
            variable, through which the gradient flows.
        block_size: None for the full `(N, N)` matrix, or the number of
            candidate columns per block (see `kc.losses.blockwise`); a
            tensor temperature works blockwise too.

    Returns:
        A float32 scalar.

    Example:
    >>> images, captions = tf.random.normal((8, 32)), tf.random.normal((8, 32))
    >>> loss = symmetric_info_nce(images, captions, 0.07)
    >>> logit_scale = tf.Variable(2.66)  # log(1 / 0.07)
    >>> learned = symmetric_info_nce(images, captions, tf.exp(-logit_scale), block_size=4)
    """
    return tf.reduce_mean(symmetric_info_nce_per_example(z_a, z_b, temperature, block_size))


@keras.saving.register_keras_serializable(package="keras_contrastive")
class SymmetricInfoNCE(PairLoss):
    """The symmetric InfoNCE as a Keras loss: one side `y_pred[:, 0]`, the other `y_pred[:, 1]`.

    `y_pred` is `(N, 2, D)`, `y_true` is ignored (see `PairLoss`); the loss
    of an example is the mean of its row's and its column's cross-entropy
    (`symmetric_info_nce_per_example`).

    Args:
        temperature: A positive number.
        block_size: None for the full similarity matrix, or candidate columns per block.
        name: The loss's name.
        **kwargs: `reduction` and `dtype`, as in `keras.losses.Loss`.

    Example:
    >>> value = SymmetricInfoNCE(temperature=0.07)(None, tf.random.normal((4, 2, 8)))
    """

    def __init__(self, temperature: float = 0.07, block_size: int | None = None, name: str = "symmetric_info_nce",
                 **kwargs):
        super().__init__(
            symmetric_info_nce_per_example, name, per_example=True, uses_labels=False,
            temperature=check_positive(temperature, "temperature"),
            block_size=check_optional_positive_int(block_size, "block_size"), **kwargs,
        )
