"""Blockwise NT-Xent, InfoNCE and SupCon: the full loss's value, gradient and accuracy without its matrix."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.losses import InfoNCE, NTXent, SupConLoss, info_nce, nt_xent, supcon
from keras_contrastive.losses.blockwise import blockwise_cross_entropy, streaming_logsumexp
from keras_contrastive.losses.info_nce import info_nce_and_accuracy, info_nce_per_anchor
from keras_contrastive.losses.nt_xent import nt_xent_and_accuracy, nt_xent_per_anchor, nt_xent_per_example
from keras_contrastive.losses.supcon import supcon_per_anchor, supcon_per_example
from tests.losses.helpers import stacked
from tests.losses.test_info_nce import reference_info_nce_per_query
from tests.losses.test_nt_xent import reference_nt_xent_per_anchor
from tests.losses.test_supcon import reference_supcon_per_anchor

LOSSES = ("nt_xent", "info_nce", "supcon")
REPOSITORY = Path(__file__).resolve().parents[2]


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def reference_softmax_loss(rows, candidates, targets, excluded, temperature):
    """Float64 `lse_j(L_ij) - sum_j targets_ij L_ij` over the columns not excluded, L = cos / T.

    Returns the per-row losses, the argmax of each row, and the gradients of
    the losses' mean with respect to the unnormalised rows and candidates.
    """
    u, v = unit(rows.astype(np.float64)), unit(candidates.astype(np.float64))
    logits = u @ v.T / temperature
    logits[excluded] = -np.inf
    top = logits.max(axis=1, keepdims=True)
    softmax = np.exp(logits - top)
    softmax /= softmax.sum(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    losses = lse - np.sum(targets * np.where(targets > 0, logits, 0.0), axis=1)
    d_logits = (softmax - targets) / len(rows) / temperature
    d_u, d_v = d_logits @ v, d_logits.T @ u

    def through_norm(z, unit_z, d_unit):
        return (d_unit - unit_z * np.sum(unit_z * d_unit, axis=1, keepdims=True)) / np.linalg.norm(z, axis=1,
                                                                                                   keepdims=True)

    return losses, logits.argmax(axis=1), through_norm(rows, u, d_u), through_norm(candidates, v, d_v)


def reference(name, z_a, z_b, extra, temperature):
    """Per-anchor losses, predictions, positives and the gradients of the mean loss: a dict of float64 arrays.

    `extra` is the negatives (InfoNCE) or the labels (SupCon). Gradients are
    with respect to `z_a`, `z_b` and, for InfoNCE, the negatives.
    """
    n = len(z_a)
    if name == "info_nce":
        candidates = np.concatenate([z_b, extra])
        targets = np.eye(n, len(candidates))
        losses, argmax, d_rows, d_candidates = reference_softmax_loss(z_a, candidates, targets,
                                                                      np.zeros_like(targets, bool), temperature)
        return {"losses": losses, "argmax": argmax, "positives": np.arange(n), "gradients": [
            d_rows, d_candidates[:n], d_candidates[n:]]}
    z = np.concatenate([z_a, z_b])
    positives = np.concatenate([np.arange(n) + n, np.arange(n)])
    if name == "nt_xent":
        targets = np.eye(2 * n)[positives]
    else:
        labels = np.concatenate([extra, extra])
        targets = (labels[:, None] == labels[None, :]) & ~np.eye(2 * n, dtype=bool)
        targets = targets / targets.sum(axis=1, keepdims=True)
    losses, argmax, d_rows, d_candidates = reference_softmax_loss(z, z, targets, np.eye(2 * n, dtype=bool),
                                                                  temperature)
    return {"losses": losses, "argmax": argmax, "positives": positives,
            "gradients": np.split(d_rows + d_candidates, 2)}


def per_anchor(name, z_a, z_b, extra, temperature, block_size):
    if name == "nt_xent":
        return nt_xent_per_anchor(z_a, z_b, temperature, block_size)
    if name == "info_nce":
        return info_nce_per_anchor(z_a, z_b, extra, temperature, block_size)
    return supcon_per_anchor(z_a, z_b, extra, temperature, block_size)


def inputs(rng, name, n, d, temperature, negatives=5):
    """Views whose loss stays well above 0 at every temperature, and the negatives or labels."""
    z_a = rng.normal(size=(n, d))
    z_b = z_a * temperature * rng.uniform(0.5, 3.0) + rng.normal(size=(n, d))
    extra = {"nt_xent": None, "info_nce": rng.normal(size=(negatives, d)), "supcon": rng.integers(0, 3, size=n)}
    return z_a, z_b, extra[name]


def loss_and_gradients(name, z_a, z_b, extra, temperature, block_size):
    """The mean loss, per-anchor losses and gradients (float32), from eager TensorFlow."""
    variables = [tf.Variable(z_a, dtype=tf.float32), tf.Variable(z_b, dtype=tf.float32)]
    if name == "info_nce":
        variables.append(tf.Variable(extra, dtype=tf.float32))
        extra = variables[2]
    with tf.GradientTape() as tape:
        losses = per_anchor(name, variables[0], variables[1], extra, temperature, block_size)
        mean = tf.reduce_mean(losses)
    return losses.numpy(), [g.numpy() for g in tape.gradient(mean, variables)]


def assert_gradients_close(got, expected, rtol):
    """Every element within `rtol` of the largest gradient's magnitude, gradient by gradient."""
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=rtol, atol=rtol * np.abs(e).max())


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("n, d, temperature", [(2, 3, 0.5), (7, 16, 0.1), (16, 8, 0.01), (33, 32, 0.07)])
def test_blockwise_value_and_gradient_equal_the_full_loss_and_the_float64_reference(rng, name, n, d, temperature):
    z_a, z_b, extra = inputs(rng, name, n, d, temperature)
    expected = reference(name, z_a, z_b, extra, temperature)
    assert expected["losses"].mean() > 1e-2
    full_losses, full_gradients = loss_and_gradients(name, z_a, z_b, extra, temperature, None)
    columns = len(z_a) + (len(extra) if name == "info_nce" else len(z_a))
    # One column at a time, blocks that divide the columns or not, exactly all of them, and more.
    for block_size in sorted({1, 3, columns - 1 or 1, columns, 4 * columns + 1}):
        losses, gradients = loss_and_gradients(name, z_a, z_b, extra, temperature, block_size)
        np.testing.assert_allclose(losses, full_losses, rtol=1e-5, atol=1e-5 * full_losses.max())
        np.testing.assert_allclose(losses.mean(), full_losses.mean(), rtol=1e-5)
        assert_gradients_close(gradients, full_gradients, rtol=1e-5)
        np.testing.assert_allclose(losses, expected["losses"], rtol=1e-5, atol=1e-5 * expected["losses"].max())
        assert_gradients_close(gradients, expected["gradients"], rtol=1e-3)


def test_the_generic_reference_is_the_per_loss_references(rng):
    z_a, z_b = rng.normal(size=(2, 6, 5))
    negatives, labels = rng.normal(size=(4, 5)), rng.integers(0, 2, size=6)
    np.testing.assert_allclose(reference("nt_xent", z_a, z_b, None, 0.3)["losses"],
                               reference_nt_xent_per_anchor(z_a, z_b, 0.3), rtol=1e-12)
    np.testing.assert_allclose(reference("info_nce", z_a, z_b, negatives, 0.3)["losses"],
                               reference_info_nce_per_query(z_a, z_b, negatives, 0.3), rtol=1e-12)
    np.testing.assert_allclose(reference("supcon", z_a, z_b, labels, 0.3)["losses"],
                               reference_supcon_per_anchor(z_a, z_b, labels, 0.3), rtol=1e-12)


@pytest.mark.parametrize("name", ["nt_xent", "info_nce"])
@pytest.mark.parametrize("n, temperature", [(2, 0.5), (9, 0.1), (24, 0.01)])
def test_accuracy_of_blocks_is_the_argmax_of_the_full_matrix(rng, name, n, temperature):
    z_a, z_b, negatives = inputs(rng, name, n, 8, temperature, negatives=11)
    expected = reference(name, z_a, z_b, negatives, temperature)
    expected_accuracy = np.mean(expected["argmax"] == expected["positives"])
    as_f32 = [tf.constant(x, tf.float32) for x in (z_a, z_b)]
    with_accuracy = (lambda b: nt_xent_and_accuracy(*as_f32, temperature, b)) if name == "nt_xent" else (
        lambda b: info_nce_and_accuracy(*as_f32, tf.constant(negatives, tf.float32), temperature, b))
    full_loss, full_accuracy = with_accuracy(None)
    assert float(full_accuracy) == pytest.approx(expected_accuracy)
    for block_size in (1, 4, 2 * n + 1):
        loss, accuracy = with_accuracy(block_size)
        assert float(accuracy) == pytest.approx(expected_accuracy)
        np.testing.assert_allclose(float(loss), float(full_loss), rtol=1e-5)


def test_streaming_logsumexp_matches_float64_with_and_without_excluded_columns(rng):
    m, total, d = 9, 23, 6
    rows, candidates = 3.0 * rng.normal(size=(m, d)), rng.normal(size=(total, d))
    upstream = rng.uniform(0.1, 2.0, size=m)
    for excluded in (None, rng.integers(0, total, size=m)):
        logits = rows @ candidates.T
        if excluded is not None:
            logits[np.arange(m), excluded] = -np.inf
        top = logits.max(axis=1, keepdims=True)
        expected_lse = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        weights = upstream[:, None] * np.exp(logits - expected_lse[:, None])
        for block_size in (1, 5, total, 100):
            variables = [tf.Variable(rows, dtype=tf.float32), tf.Variable(candidates, dtype=tf.float32)]
            with tf.GradientTape() as tape:
                lse, argmax = streaming_logsumexp(
                    *variables, block_size, None if excluded is None else tf.constant(excluded, tf.int32))
                weighted = tf.reduce_sum(tf.constant(upstream, tf.float32) * lse)
            d_rows, d_candidates = tape.gradient(weighted, variables)
            np.testing.assert_allclose(lse.numpy(), expected_lse, rtol=1e-5)
            np.testing.assert_array_equal(argmax.numpy(), logits.argmax(axis=1))
            assert_gradients_close([d_rows.numpy(), d_candidates.numpy()],
                                   [weights @ candidates, weights.T @ rows], rtol=1e-4)


def test_blockwise_cross_entropy_is_sparse_softmax_cross_entropy(rng):
    rows, candidates = rng.normal(size=(2, 7, 4)).astype(np.float32)
    positives = rng.integers(0, 7, size=7).astype(np.int32)
    losses, argmax = blockwise_cross_entropy(rows, candidates, positives, block_size=3)
    logits = rows.astype(np.float64) @ candidates.T.astype(np.float64)
    expected = np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(7), positives]
    # A loss is a difference of float32 values the size of the logits, so a small one is off by a few of
    # their ulps, not by a fraction of itself: rtol alone failed 6 seeds in 300.
    np.testing.assert_allclose(losses.numpy(), expected, rtol=1e-5,
                               atol=8 * np.finfo(np.float32).eps * np.abs(logits).max())
    np.testing.assert_array_equal(argmax.numpy(), logits.argmax(axis=1))


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("block_size", [1, 3])
def test_gradient_is_finite_on_identical_and_collapsed_views_at_temperature_0_01(rng, name, block_size):
    centre = rng.normal(size=(1, 16))
    for z_a in (rng.normal(size=(8, 16)), centre + 1e-6 * rng.normal(size=(8, 16))):
        _, _, extra = inputs(rng, name, 8, 16, 0.01)
        if name == "info_nce":
            extra = centre + 1e-6 * rng.normal(size=extra.shape)
        for z_b in (z_a, centre + 1e-6 * rng.normal(size=z_a.shape)):
            losses, gradients = loss_and_gradients(name, z_a, z_b, extra, 0.01, block_size)
            assert np.all(np.isfinite(losses))
            assert all(np.all(np.isfinite(g)) for g in gradients)


@pytest.mark.parametrize("name", LOSSES)
def test_compiled_with_an_unknown_batch_size_equals_eager(rng, name):
    z_a, z_b, extra = inputs(rng, name, 10, 8, 0.2)
    spec = tf.TensorSpec((None, 8), tf.float32)
    extra_tensor = None if extra is None else tf.constant(extra, tf.float32 if name == "info_nce" else tf.int32)

    @tf.function(input_signature=[spec, spec])
    def compiled(a, b):
        with tf.GradientTape() as tape:
            tape.watch([a, b])
            loss = tf.reduce_mean(per_anchor(name, a, b, extra_tensor, 0.2, 3))
        return loss, tape.gradient(loss, [a, b])

    loss, gradients = compiled(tf.constant(z_a, tf.float32), tf.constant(z_b, tf.float32))
    full_losses, full_gradients = loss_and_gradients(name, z_a, z_b, extra, 0.2, None)
    np.testing.assert_allclose(float(loss), full_losses.mean(), rtol=1e-5)
    assert_gradients_close([g.numpy() for g in gradients], full_gradients[:2], rtol=1e-5)


def test_public_functions_take_block_size(rng):
    z_a, z_b, labels = rng.normal(size=(12, 6)), rng.normal(size=(12, 6)), rng.integers(0, 3, size=12)
    negatives = rng.normal(size=(5, 6))
    a, b = tf.constant(z_a, tf.float32), tf.constant(z_b, tf.float32)
    pairs = [
        (nt_xent(a, b, 0.3, block_size=5), nt_xent(a, b, 0.3)),
        (nt_xent_per_example(a, b, 0.3, block_size=5), nt_xent_per_example(a, b, 0.3)),
        (info_nce(a, b, negatives, 0.3, block_size=5), info_nce(a, b, negatives, 0.3)),
        (supcon(a, b, labels, 0.3, block_size=5), supcon(a, b, labels, 0.3)),
        (supcon_per_example(a, b, labels, 0.3, block_size=5), supcon_per_example(a, b, labels, 0.3)),
    ]
    for blockwise, full in pairs:
        np.testing.assert_allclose(blockwise.numpy(), full.numpy(), rtol=1e-5)
    expected = np.mean(reference_supcon_per_anchor(z_a, z_b, labels, 0.3))
    np.testing.assert_allclose(float(supcon(a, b, labels, 0.3, block_size=7)), expected, rtol=1e-5)


@pytest.mark.parametrize("loss_class, labelled", [(NTXent, False), (InfoNCE, False), (SupConLoss, True)])
def test_loss_classes_take_block_size_and_keep_it_through_config(rng, loss_class, labelled):
    z_a, z_b = rng.normal(size=(2, 10, 6))
    labels = rng.integers(0, 3, size=10) if labelled else None
    y_pred = stacked(z_a, z_b)
    loss = loss_class(temperature=0.3, block_size=4, reduction="none")
    assert loss.block_size == 4 and loss.get_config()["block_size"] == 4
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, loss_class) and again.block_size == 4
    expected = loss_class(temperature=0.3, reduction="none")(labels, y_pred).numpy()
    assert loss_class(temperature=0.3).block_size is None
    for blockwise in (loss, again):
        np.testing.assert_allclose(blockwise(labels, y_pred).numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("block_size", [0, -3, 2.5, True, "4", float("inf")])
def test_block_size_that_is_not_a_positive_integer_is_refused(block_size):
    z = tf.ones((4, 3))
    message = "block_size must be a positive integer, got " + re.escape(repr(block_size))
    calls = [
        lambda: nt_xent(z, z, 0.1, block_size), lambda: nt_xent_and_accuracy(z, z, 0.1, block_size),
        lambda: info_nce(z, z, None, 0.1, block_size), lambda: info_nce_and_accuracy(z, z, None, 0.1, block_size),
        lambda: supcon(z, z, tf.range(4), 0.1, block_size), lambda: NTXent(block_size=block_size),
        lambda: InfoNCE(block_size=block_size), lambda: SupConLoss(block_size=block_size),
        lambda: streaming_logsumexp(z, z, block_size),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=message):
            call()


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":")) / 1024


def peak_memory_mib(run) -> float:
    """How far `run()` raises this process's resident memory above what it was (Linux's VmHWM, reset first)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # resets the high-water mark to the current resident size
    before = _status_mib("VmRSS")
    run()
    return _status_mib("VmHWM") - before


def measured_peaks(seed: int, n: int = 2048, block: int = 128) -> dict:
    """Peak memory (MiB) of NT-Xent's loss and gradient in tiles, in column blocks and whole, in this process.

    Meant for a fresh process: the blockwise ones are measured first, each
    after one call so that TensorFlow's one-time allocations are made; the
    whole matrix last, on its first call, so that no freed heap of its own
    size is there to be reused and its pages raise the resident size.
    """
    z = [tf.constant(x, tf.float32) for x in np.random.default_rng(seed).normal(size=(2, n, 16))]
    # A Python temperature takes the Gram tiles, a tensor one the column blocks (losses/nt_xent.py).
    settings = {"tiles": (0.1, block), "columns": (tf.constant(0.1), block), "whole": (0.1, None)}
    peaks = {}
    for name, (temperature, block_size) in settings.items():
        step = tf.function(lambda a, b, t=temperature, size=block_size: tf.gradients(nt_xent(a, b, t, size), [a, b]))
        if block_size is not None:
            step(*z)
        peaks[name] = peak_memory_mib(lambda: [g.numpy() for g in step(*z)])
    return peaks


def test_memory_of_loss_and_gradient_grows_with_n_times_block_size_not_n_squared(seed):
    # 2N = 4096 anchors: one (2N, 2N) float32 matrix is 64 MiB, a (2N, block) block 2 MiB, a tile 64 KiB.
    matrix_mib = 4096**2 * 4 / 2**20
    # A fresh process: in this one, earlier tests leave freed heap that the whole matrix could reuse.
    code = f"import json; from tests.losses.test_blockwise import measured_peaks; print(json.dumps(measured_peaks({seed})))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, capture_output=True, text=True,
                            env={**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stdout + result.stderr
    peaks = json.loads(result.stdout.strip().splitlines()[-1])
    assert peaks["whole"] >= 0.95 * matrix_mib  # the measurement sees the matrix where there is one
    assert peaks["columns"] < matrix_mib / 4  # a few (2N, block) blocks, not one matrix
    assert peaks["tiles"] < matrix_mib / 4
