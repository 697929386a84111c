import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.distribute.cross_replica import all_gather_batch, num_replicas_in_sync
from keras_contrastive.losses.nt_xent import nt_xent_per_anchor
from tests.distribute.replicas import run_check
from tests.losses.test_nt_xent import reference_nt_xent


def test_one_replica_gathers_nothing(rng):
    local = tf.constant(rng.normal(size=(5, 3)), tf.float32)
    gathered, start = all_gather_batch(local)
    assert num_replicas_in_sync() == 1
    assert gathered is local and int(start) == 0
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():  # cross-replica context: nothing to gather from
        gathered, start = all_gather_batch(local)
        assert num_replicas_in_sync() == 1 and gathered is local


def reference_gradient(z_a, z_b, temperature):
    """Gradient of the mean NT-Xent with respect to z_a and z_b, worked out by hand in float64.

    With u = z / ||z||, S = u u^T / T and P the softmax of each row over the
    other 2N - 1 columns, the loss's gradient with respect to S is
    (P - onehot(positive)) / 2N; then through S = u u^T / T and the norm.
    """
    z = np.concatenate([z_a, z_b]).astype(np.float64)
    two_n = len(z)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    u = z / norms
    similarities = u @ u.T / temperature
    np.fill_diagonal(similarities, -np.inf)
    softmax = np.exp(similarities - similarities.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    targets = np.zeros_like(softmax)
    targets[np.arange(two_n), (np.arange(two_n) + two_n // 2) % two_n] = 1.0
    d_similarities = (softmax - targets) / two_n / temperature
    d_u = (d_similarities + d_similarities.T) @ u
    d_z = (d_u - u * np.sum(u * d_u, axis=1, keepdims=True)) / norms
    return np.split(d_z, 2)


SIZES = [(6, 6), (3, 7)]


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory, module_rng):
    """NT-Xent on 2 replicas, with equal and unequal halves of fresh random batches, in one process."""
    rng = module_rng
    inputs = {"temperature": np.array(0.2)}
    for case, sizes in enumerate(SIZES):
        n = sum(sizes)
        z_a = rng.normal(size=(n, 16))
        z_b = 0.3 * z_a + rng.normal(size=(n, 16))
        inputs.update({f"case{case}_z_a": z_a.astype("float32"), f"case{case}_z_b": z_b.astype("float32"),
                       f"case{case}_sizes": np.array(sizes)})
    outputs = run_check("nt_xent", inputs, tmp_path_factory.mktemp("nt_xent"))
    runs = {}
    for case, sizes in enumerate(SIZES):
        prefix = f"case{case}_"
        runs[sizes] = ({k[len(prefix):]: v for k, v in inputs.items() if k.startswith(prefix)},
                       {k[len(prefix):]: v for k, v in outputs.items() if k.startswith(prefix)})
    return runs


@pytest.mark.parametrize("sizes", SIZES)
def test_each_replica_sees_the_global_batch_and_positives_offset_by_its_start(mirrored, sizes):
    inputs, outputs = mirrored[sizes]
    n = sum(sizes)
    starts = (0, sizes[0])
    for replica, (start, size) in enumerate(zip(starts, sizes)):
        logits, positives = outputs[f"logits_{replica}"], outputs[f"positives_{replica}"]
        assert logits.shape == (2 * size, 2 * n)
        own = np.arange(start, start + size)
        np.testing.assert_array_equal(positives, np.concatenate([own + n, own]))
        # Each anchor's own column is pushed out, and only that one.
        selves = np.concatenate([own, own + n])
        assert np.all(logits[np.arange(2 * size), selves] < -1e8)
        assert np.sum(logits < -1e8) == 2 * size


@pytest.mark.parametrize("sizes", SIZES)
def test_distributed_loss_and_gradients_equal_the_single_device_ones(mirrored, sizes):
    inputs, outputs = mirrored[sizes]
    split = np.cumsum(sizes)[:-1]
    n = sum(sizes)
    per_anchor = nt_xent_per_anchor(inputs["z_a"], inputs["z_b"], 0.2).numpy()  # on one device
    gradient_a, gradient_b = reference_gradient(inputs["z_a"], inputs["z_b"], 0.2)
    expected_losses = np.split(per_anchor[:n], split), np.split(per_anchor[n:], split)
    gathered_losses = []
    for replica, size in enumerate(sizes):
        got = outputs[f"per_anchor_{replica}"]
        np.testing.assert_allclose(got[:size], expected_losses[0][replica], rtol=1e-5)
        np.testing.assert_allclose(got[size:], expected_losses[1][replica], rtol=1e-5)
        gathered_losses.append(got)
        np.testing.assert_allclose(outputs[f"gradient_a_{replica}"], np.split(gradient_a, split)[replica],
                                   rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(outputs[f"gradient_b_{replica}"], np.split(gradient_b, split)[replica],
                                   rtol=1e-3, atol=1e-6)
    # And the global mean is the float64 reference on the whole batch.
    reference = reference_nt_xent(inputs["z_a"].astype(np.float64), inputs["z_b"].astype(np.float64), 0.2)
    np.testing.assert_allclose(np.concatenate(gathered_losses).mean(), reference, rtol=1e-5)


def test_reference_gradient_is_the_single_device_gradient(rng):
    z_a, z_b = rng.normal(size=(2, 9, 5))
    variables = [tf.Variable(z_a), tf.Variable(z_b)]
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(nt_xent_per_anchor(*variables, 0.3))
    for got, expected in zip(tape.gradient(loss, variables), reference_gradient(z_a, z_b, 0.3)):
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-3, atol=1e-6)
