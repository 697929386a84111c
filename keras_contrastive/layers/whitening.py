"""PCA whitening of embeddings, fitted to a set of them with `adapt` (as `keras.layers.Normalization` is)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.validation import check_finite_array, check_non_negative, check_positive_int

# Below this fraction of the largest variance (a standard deviation under 3e-5 of it, a few hundred float32
# round-offs) an axis is numerically null: embeddings computed in float32 cannot resolve it.
NULL_VARIANCE = 1e-9


@keras.saving.register_keras_serializable(package="keras_contrastive")
class Whitening(keras.layers.Layer):
    """Centres embeddings and turns their principal axes into unit-variance coordinates.

    A self-supervised encoder's features share a common direction and put
    most of their variance in a few axes, so cosine similarity between them
    is ruled by those few. Whitening (Jegou and Chum, ECCV 2012, for image
    retrieval) subtracts the mean of the embeddings it was adapted on,
    rotates onto their principal axes and divides each by the square root of
    its variance plus `epsilon` times the mean variance, so every axis counts
    alike and the weakest cannot be amplified without bound. The similarity
    search and kNN that follow compare these coordinates.

    `adapt(embeddings)` fits the mean and the projection in float64, in one
    pass over an array or a `tf.data.Dataset` of batches; they are
    non-trainable weights, with the number of embeddings fitted on, so they
    are saved with the model and served by a SavedModel export. Before
    `adapt` the layer passes its input through unchanged, so an encoder can
    train with it in place (`kc.encoders.whitened`) and be fitted after. It
    computes in float32 under any policy: a bf16 product would round the
    amplified axes. `whiten_alike` whitens fixed features in one call.

    Args:
        epsilon: The regulariser of each axis' variance, relative to the mean
            variance, a number >= 0 (0: full whitening).
        **kwargs: Those of `keras.layers.Layer` (name).

    Returns (when called on `(batch, dim)` embeddings):
        float32 `(batch, dim)` whitened coordinates.

    Example:
    >>> embeddings = np.random.default_rng(0).normal(size=(500, 8)) @ np.diag([5.0, 1, 1, 1, 1, 1, 1, 0.1])
    >>> whitening = Whitening(epsilon=0.0)
    >>> whitening.adapt(embeddings)
    >>> np.round(np.cov(whitening(embeddings).numpy().T)[0, 0], 3)
    1.0
    """

    def __init__(self, epsilon: float = 1e-2, **kwargs):
        if "dtype" in kwargs and keras.dtype_policies.get(kwargs["dtype"]).compute_dtype != "float32":
            raise ValueError(f"Whitening computes in float32; got dtype {kwargs['dtype']!r}.")
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.epsilon = check_non_negative(epsilon, "epsilon")

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                f"Whitening expected embeddings of shape (batch, dim) with a known dim, got shape {tuple(input_shape)}."
            )
        dim = int(input_shape[-1])
        self.mean = self.add_weight(name="mean", shape=(dim,), initializer="zeros", trainable=False)
        self.projection = self.add_weight(name="projection", shape=(dim, dim), initializer="identity",
                                          trainable=False)
        self.count = self.add_weight(name="count", shape=(), initializer="zeros", trainable=False)

    def call(self, inputs):
        inputs = tf.cast(inputs, tf.float32)
        # Read at run time, so a function traced before `adapt` (a training step, a cached predict) whitens after
        # it; until then the identity costs no product.
        return tf.cond(self.count > 0, lambda: tf.matmul(inputs - self.mean, self.projection), lambda: inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def adapt(self, data, batch_size: int = 4096) -> None:
        """Fits the mean and the whitening projection to `data`.

        Args:
            data: `(samples, dim)` embeddings, an array or tensor, or a
                `tf.data.Dataset` or any other iterable of such batches; at
                least two samples in all.
            batch_size: Rows per step of the covariance's sums when `data` is
                an array.

        Raises:
            ValueError: If the embeddings are not 2-D, hold NaN or infinite
                values, number fewer than two, do not match the layer's
                built width, or are all equal.
        """
        batch_size = check_positive_int(batch_size, "batch_size")
        if isinstance(data, tf.data.Dataset):
            batches = data.as_numpy_iterator()
        elif isinstance(data, (np.ndarray, tf.Tensor, list, tuple)):
            batches = _row_batches(data, batch_size)
        else:
            batches = iter(data)
        count, shift, total, products = 0, None, None, None
        for batch in batches:
            batch = np.asarray(check_finite_array(batch, "Whitening.adapt's embeddings"), np.float64)
            if batch.ndim != 2:
                raise ValueError(f"Whitening.adapt expected embeddings of shape (samples, dim), got {batch.shape}.")
            if shift is None:
                # Sums about a first estimate of the mean keep the float64 covariance exact for any offset.
                shift = batch.mean(axis=0)
                total, products = np.zeros_like(shift), np.zeros((len(shift), len(shift)))
            if batch.shape[1] != len(shift):
                raise ValueError(f"Whitening.adapt got batches of {len(shift)} and {batch.shape[1]} features.")
            centred = batch - shift
            count, total, products = count + len(batch), total + centred.sum(axis=0), products + centred.T @ centred
        if count < 2:
            raise ValueError(f"Whitening.adapt needs at least 2 embeddings, got {count}.")
        mean = total / count
        covariance = (products - count * np.outer(mean, mean)) / (count - 1)
        variances, axes = np.linalg.eigh(covariance)
        variances = np.maximum(variances, 0.0)
        if variances.mean() <= 0:
            raise ValueError("Whitening.adapt got embeddings that are all equal: there are no axes to whiten.")
        # Largest variance first, so the leading coordinates are the principal ones.
        variances, axes = variances[::-1], axes[:, ::-1]
        floor = self.epsilon * variances.mean()
        if floor == 0 and variances.min() <= NULL_VARIANCE * variances.max():
            raise ValueError(
                "Whitening.adapt got embeddings of rank below their width (an axis with a variance under "
                f"{NULL_VARIANCE:g} of the largest); full whitening (epsilon=0) would amplify float32 round-off "
                "without bound. Take epsilon > 0."
            )
        if not self.built:
            self.build((None, len(shift)))
        elif self.mean.shape[0] != len(shift):
            raise ValueError(f"Whitening was built for {self.mean.shape[0]} features; adapt got {len(shift)}.")
        self.count.assign(float(count))
        self.mean.assign((shift + mean).astype(np.float32))
        self.projection.assign((axes / np.sqrt(variances + floor)).astype(np.float32))

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def whiten_alike(fitted_on, *others, epsilon: float = 1e-2) -> list[np.ndarray]:
    """`fitted_on` and each of `others` whitened by one `Whitening(epsilon)` adapted to `fitted_on`.

    Args:
        fitted_on: `(samples, dim)` features to fit on (a training set's).
        *others: More `(n, dim)` features to whiten the same way (a test set's).
        epsilon: The whitening's regulariser.

    Returns:
        float32 arrays: `fitted_on` whitened, then each of `others`.

    Example:
    >>> train_white, test_white = whiten_alike(train_features, test_features)
    """
    whitening = Whitening(epsilon=epsilon)
    whitening.adapt(fitted_on)
    return [whitening(features).numpy() for features in (fitted_on, *others)]


def _row_batches(data, batch_size: int):
    """`data` (an array or tensor) as NumPy batches of `batch_size` rows."""
    array = np.asarray(data)
    if array.ndim != 2:
        raise ValueError(f"Whitening.adapt expected embeddings of shape (samples, dim), got {array.shape}.")
    for start in range(0, len(array), batch_size):
        yield array[start : start + batch_size]
