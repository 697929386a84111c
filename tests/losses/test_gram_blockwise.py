"""The Gram tiles: each row's log-sum-exp, cross-entropy, hits and gradient over `x x^T / T` without its diagonal."""

import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import gram_blockwise, nt_xent, supcon
from keras_contrastive.losses.gram_blockwise import MAX_SHIFT, fits, gram_cross_entropy, gram_logsumexp
from keras_contrastive.losses.nt_xent import nt_xent_and_accuracy


def reference(x, scale, positives, weights):
    """Float64 log-sum-exp, cross-entropy and hits, and the gradients by x of both weighted by `weights`."""
    n = len(x)
    logits = scale * x @ x.T
    np.fill_diagonal(logits, -np.inf)
    top = logits.max(axis=1)
    logsumexp = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
    rows = np.arange(n)
    losses = logsumexp - logits[rows, positives]
    # A logit scale * x_i . x_j moves both x_i and x_j: d/dx = scale * (d_logits + d_logits^T) @ x.
    d_logsumexp = weights[:, None] * np.exp(logits - logsumexp[:, None])
    d_losses = d_logsumexp.copy()
    d_losses[rows, positives] -= weights
    return (logsumexp, losses, logits.argmax(axis=1) == positives,
            scale * (d_logsumexp + d_logsumexp.T) @ x, scale * (d_losses + d_losses.T) @ x)


def unit_rows(rng, n, d, noise=None):
    """L2-normalised rows; with `noise`, row i + n/2 is row i plus that much noise, so positives are close."""
    x = rng.normal(size=(n, d))
    if noise is not None:
        half = n // 2
        x[half : 2 * half] = x[:half] + noise * rng.normal(size=(half, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def other_half(n):
    """Row i's positive is i + n/2 (and back), as NT-Xent's views; an odd last row takes row 0."""
    half = n // 2
    positives = np.concatenate([np.arange(half) + half, np.arange(half), [0] * (n % 2)])
    return positives.astype(np.int32)


def computed(x, scale, positives, weights, block_size, compiled=True):
    """Float32 log-sum-exp, cross-entropy, hits and both weighted gradients, in a tf.function or eager."""

    def run(x):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            logsumexp = gram_logsumexp(x, scale, block_size)
            losses, hits = gram_cross_entropy(x, scale, tf.constant(positives), block_size)
            total = tf.reduce_sum(tf.constant(weights, tf.float32) * losses)
            logsumexp_total = tf.reduce_sum(tf.constant(weights, tf.float32) * logsumexp)
        return logsumexp, losses, hits, tape.gradient(total, x), tape.gradient(logsumexp_total, x)

    if compiled:
        run = tf.function(run, input_signature=[tf.TensorSpec([None, x.shape[1]], tf.float32)])
    return [t.numpy() for t in run(tf.constant(x, tf.float32))]


@pytest.mark.parametrize("n, d, temperature", [(2, 3, 0.5), (13, 8, 0.1), (40, 16, 0.05), (33, 5, 1 / MAX_SHIFT)])
def test_value_gradient_and_hits_equal_the_float64_reference_for_every_tiling(rng, n, d, temperature):
    x = unit_rows(rng, n, d, noise=0.6)
    positives, weights = other_half(n), rng.uniform(0.1, 2.0, size=n)
    logsumexp, losses, hits, logsumexp_gradient, gradient = reference(x, 1 / temperature, positives, weights)
    # One row per tile, tiles that divide n or not (3), exactly one tile, and one far larger than n.
    for block_size in sorted({1, 3, max(n - 1, 1), n, 4 * n + 1}):
        got = computed(x, 1 / temperature, positives, weights, block_size)
        np.testing.assert_allclose(got[0], logsumexp, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got[1], losses, rtol=1e-5, atol=1e-5 * max(np.abs(losses).max(), 1.0))
        np.testing.assert_array_equal(got[2], hits)
        for value, expected in ((got[3], gradient), (got[4], logsumexp_gradient)):
            # Two rows have one candidate each: their losses and gradients are 0, so the tolerance is
            # relative to the logits' scale as well.
            atol = 1e-5 * max(np.abs(expected).max(), 1 / temperature)
            np.testing.assert_allclose(value, expected, rtol=1e-4, atol=atol)


def test_hits_are_the_argmax_of_the_full_matrix_on_a_mix_of_easy_and_hard_rows(rng):
    n = 64
    x = unit_rows(rng, n, 6, noise=1.0)
    positives = other_half(n)
    expected = reference(x, 10.0, positives, np.ones(n))[2]
    assert 0.15 < expected.mean() < 0.85  # neither all hits nor all misses, so the comparison can fail
    for block_size in (3, 16, 64):
        np.testing.assert_array_equal(computed(x, 10.0, positives, np.ones(n), block_size)[2], expected)


def test_eager_equals_compiled_with_an_unknown_number_of_rows(rng):
    n = 21
    x = unit_rows(rng, n, 4, noise=0.5)
    positives, weights = other_half(n), rng.uniform(size=n)
    eager = computed(x, 5.0, positives, weights, 4, compiled=False)
    for got, expected in zip(computed(x, 5.0, positives, weights, 4), eager):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_embeddings_past_the_shift_bound_are_refused_with_what_is_needed(rng):
    x = tf.constant(3.0 * unit_rows(rng, 8, 4), tf.float32)  # squared norms 9: shift 90 at scale 10
    with pytest.raises(tf.errors.InvalidArgumentError, match="scale x the largest squared norm at most 40"):
        gram_logsumexp(x, 10.0, 4)
    with pytest.raises(ValueError, match="block_size"):
        gram_logsumexp(tf.constant(unit_rows(rng, 8, 4), tf.float32), 10.0, 0)


def test_fits_python_temperatures_down_to_one_over_the_bound_only(rng):
    assert fits(0.1) and fits(1 / MAX_SHIFT)
    assert not fits(0.9 / MAX_SHIFT)
    assert not fits(tf.constant(0.1))  # a learned temperature takes the general blockwise softmax


@pytest.mark.parametrize("temperature, gram_used", [(0.1, True), (0.01, False)])
def test_nt_xent_and_supcon_take_the_tiles_where_they_fit_for_the_same_value(rng, monkeypatch, temperature,
                                                                            gram_used):
    calls = []
    for name in ("gram_cross_entropy", "gram_logsumexp"):
        original = getattr(gram_blockwise, name)
        monkeypatch.setattr(gram_blockwise, name,
                            lambda *args, _original=original, _name=name: calls.append(_name) or _original(*args))
    z_a, z_b = (tf.constant(rng.normal(size=(12, 8)), tf.float32) for _ in range(2))
    labels = tf.constant(rng.integers(0, 3, size=12))
    pairs = [(nt_xent(z_a, z_b, temperature, 5), nt_xent(z_a, z_b, temperature)),
             (nt_xent_and_accuracy(z_a, z_b, temperature, 5)[1], nt_xent_and_accuracy(z_a, z_b, temperature)[1]),
             (supcon(z_a, z_b, labels, temperature, 5), supcon(z_a, z_b, labels, temperature))]
    assert calls == (["gram_cross_entropy", "gram_cross_entropy", "gram_logsumexp"] if gram_used else [])
    for blockwise, full in pairs:
        np.testing.assert_allclose(float(blockwise), float(full), rtol=1e-5)
