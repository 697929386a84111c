"""Helpers shared by the loss tests."""

import numpy as np
import tensorflow as tf


def stacked(z_a, z_b):
    """The two views as `PairLoss` takes them in `y_pred`: float32 `(N, 2, D)`."""
    return tf.constant(np.stack([z_a, z_b], axis=1), tf.float32)


def weights_that_show(rng, per_example):
    """Random sample weights under which both weighted reductions differ from the unweighted mean.

    The examples with a loss below the median get weight 0; the others get
    random weights in [0.2, 1], larger for larger losses. With losses of one
    sign and not all equal (both asserted), the weighted mean is then at
    least half the gap between the two halves' means above the plain mean,
    and the weighted sum over N is at least half the lower half's mean closer
    to 0 than the plain mean.
    """
    per_example = np.asarray(per_example, np.float64)
    assert np.all(per_example > 0) or np.all(per_example < 0), "the per-example losses must have one sign"
    assert per_example.max() - per_example.min() > 1e-2, "the per-example losses must differ"
    upper = per_example >= np.median(per_example)
    weights = np.zeros(len(per_example))
    order = np.argsort(per_example[upper])
    weights[np.flatnonzero(upper)[order]] = np.sort(rng.uniform(0.2, 1.0, size=upper.sum()))
    return weights


def check_weighted_reductions(loss_class, kwargs, y_true, y_pred, per_example, weights, rtol=1e-5):
    """`loss_class(**kwargs)` with `sample_weight` against the weighted references.

    Keras's default "sum_over_batch_size" gives `sum(w * loss) / N`;
    "mean_with_sample_weight" gives `sum(w * loss) / sum(w)`.
    """
    n = len(per_example)
    weighted_sum = sum(w * value for w, value in zip(weights, per_example))
    assert abs(weighted_sum / n - np.mean(per_example)) > 1e-3
    assert abs(weighted_sum / sum(weights) - np.mean(per_example)) > 1e-3
    sample_weight = tf.constant(weights, tf.float32)
    got = loss_class(**kwargs)(y_true, y_pred, sample_weight=sample_weight)
    np.testing.assert_allclose(float(got), weighted_sum / n, rtol=rtol)
    weighted_mean = loss_class(reduction="mean_with_sample_weight", **kwargs)(y_true, y_pred, sample_weight)
    np.testing.assert_allclose(float(weighted_mean), weighted_sum / sum(weights), rtol=rtol)
