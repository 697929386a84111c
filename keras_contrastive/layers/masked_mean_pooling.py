"""The mean of a sequence's token vectors over its real tokens, zeros for a sequence of padding only."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_contrastive")
class MaskedMeanPooling(keras.layers.Layer):
    """Averages `(batch, length, dim)` token vectors over the positions the mask keeps.

    The mask is the token ids when they are given (`ids != 0`: id 0 is
    padding, as in `kc.text.train_tokenizer`), else the Keras mask the
    vectors carry (from an `Embedding(mask_zero=True)` or a keras-hub
    `TokenAndPositionEmbedding(mask_zero=True)`), else every position. A row
    with no position kept (the ids of an empty string) gives a zero vector,
    never NaN: Keras's `GlobalAveragePooling1D` divides by the mask's sum, 0
    there. The sum is taken in float32 (or the inputs' dtype if wider).

    Args:
        **kwargs: Those of `keras.layers.Layer` (name, dtype).

    Returns (when called on `vectors` or `[vectors, token_ids]`):
        `(batch, dim)` means, in the layer's compute dtype.

    Example:
    >>> pool = MaskedMeanPooling()
    >>> pool([tf.ones((2, 3, 4)), tf.constant([[5, 7, 0], [0, 0, 0]])]).numpy()[:, 0]
    array([1., 0.], dtype=float32)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        vectors, keep = self._vectors_and_keep(inputs, mask)
        accumulate = vectors.dtype if vectors.dtype.size >= 4 else tf.float32
        vectors = tf.cast(vectors, accumulate)
        if keep is None:
            return tf.cast(tf.reduce_mean(vectors, axis=1), self.compute_dtype)
        keep = tf.cast(keep, accumulate)[:, :, None]
        total = tf.reduce_sum(vectors * keep, axis=1)
        count = tf.reduce_sum(keep, axis=1)
        return tf.cast(tf.math.divide_no_nan(total, count), self.compute_dtype)

    def _vectors_and_keep(self, inputs, mask):
        """The vectors and the `(batch, length)` positions to keep (None: all), checked."""
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 2:
                raise ValueError(
                    "MaskedMeanPooling takes token vectors (batch, length, dim) or a pair "
                    f"[vectors, token_ids]; got {len(inputs)} inputs."
                )
            vectors, token_ids = tf.convert_to_tensor(inputs[0]), tf.convert_to_tensor(inputs[1])
            if not token_ids.dtype.is_integer:
                raise ValueError(
                    f"MaskedMeanPooling expected integer token ids (0 = padding), got dtype {token_ids.dtype.name}."
                )
            keep = tf.not_equal(token_ids, 0)
        else:
            vectors, keep = tf.convert_to_tensor(inputs), None if mask is None else tf.cast(mask, tf.bool)
        if vectors.shape.rank != 3:
            raise ValueError(
                f"MaskedMeanPooling expected token vectors of shape (batch, length, dim), got shape {vectors.shape}."
            )
        if keep is not None and keep.shape.rank != 2:
            raise ValueError(
                f"MaskedMeanPooling expected a (batch, length) mask or token ids, got shape {keep.shape}."
            )
        return vectors, keep

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        vectors_shape = input_shape[0] if isinstance(input_shape, (list, tuple)) and isinstance(
            input_shape[0], (list, tuple)
        ) else input_shape
        return (vectors_shape[0], vectors_shape[-1])

    def get_config(self) -> dict:
        return super().get_config()
