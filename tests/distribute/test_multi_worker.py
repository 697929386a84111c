"""`fit` under MultiWorkerMirroredStrategy with 2 worker processes on localhost equals one device.

Each worker is a process with one CPU replica, told its place by `TF_CONFIG`;
both read the same dataset and Keras shards it, so each global batch of 16
is split 8 / 8 between the workers; one step, as in test_mirrored_training. NT-Xent and the gradient sum do not care
which worker holds which image pair, so the loss and, with synchronised
batch norm, the weights equal those of one device on the same global batches.
"""

import json
import socket

import keras
import numpy as np
import pytest

from tests.distribute.models import build_model, global_batches, train
from tests.distribute.replicas import Check

BATCH = 16


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def runs(tmp_path_factory, module_rng):
    directory = tmp_path_factory.mktemp("multi_worker")
    rng = module_rng
    data = global_batches(rng, batch=BATCH, batches=1)
    keras.utils.set_random_seed(int(rng.integers(2**31)))
    model = build_model("sgd")
    weights_path = str(directory / "sgd.weights.h5")
    model.save_weights(weights_path)
    initial = model.get_weights()
    inputs = {**data, "batch": np.array(BATCH), "configurations": np.array(["sgd"]),
              "weights_sgd": np.array(weights_path)}
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    workers = [
        Check("fit,upstream_multi_worker", inputs, directory, name=f"worker{index}",
              env={"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})})
        for index in range(2)
    ]
    try:
        single = train("sgd", weights_path, data, BATCH)
        outputs = [worker.result() for worker in workers]
    finally:
        for worker in workers:
            worker.stop()
    return initial, single, outputs


def test_two_workers_report_the_single_device_loss(runs):
    _, single, workers = runs
    for outputs in workers:
        assert int(outputs["replicas"]) == 2
        assert int(outputs["sgd_iterations"]) == single["iterations"] == 1
        for name in ("loss", "contrastive_accuracy"):
            np.testing.assert_allclose(outputs[f"sgd_history_{name}"], single["history"][name], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(outputs[f"sgd_evaluate_{name}"], single["evaluate"][name],
                                       rtol=1e-5, atol=1e-6)


def test_two_workers_train_to_the_single_device_weights(runs):
    initial, single, workers = runs
    for outputs in workers:
        for i, (start, expected) in enumerate(zip(initial, single["weights"])):
            change = np.abs(expected - start).max()
            assert change > 0
            # As with MirroredStrategy: equal changes up to float32 reduction order.
            assert np.abs(outputs[f"sgd_weight_{i}"] - expected).max() < 1e-3 * change


def test_upstream_keras_still_needs_each_workaround_under_multi_worker_training(runs):
    """The reasons for kc.distribute.compat's multi-worker workarounds (Keras 3.15, TF 2.21).

    Each assertion that fails says upstream has changed and names the workaround that can go.
    """
    _, _, workers = runs
    for outputs in workers:
        # in_multi_worker_mode: the private TensorFlow call it makes still answers.
        assert bool(outputs["in_multi_worker_mode"]) is True
        # logs_reducible_across_workers: Keras's mean over workers still refuses scalar logs
        # (tensorflow/tensorflow#72388), and still averages [1]-shaped ones.
        assert str(outputs["scalar_reduce_error"]), "scalar logs reduce now: delete logs_reducible_across_workers"
        np.testing.assert_allclose(outputs["vector_reduce"], [2.0])
        # OptimizerBuiltBeforeFit: Keras's own build step still fails on (view_a, view_b) batches.
        assert "PerReplica" in str(outputs["symbolic_build_error"]), (
            "Keras builds tuple batches under multi-worker training now: delete OptimizerBuiltBeforeFit; got "
            f"{outputs['symbolic_build_error']!r}"
        )
