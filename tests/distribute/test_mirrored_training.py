"""`fit` under MirroredStrategy on 2 logical CPUs equals `fit` on one device with the same global batches.

The model (tests/distribute/models.py) uses synchronised batch norm: with
per-replica batch norm each replica would normalise its half batch with its
own statistics, a different function from the single-device one, so no
implementation could match the single-device weights exactly (the last test
shows how far apart they are). With synchronised batch norm, cross-replica
negatives and the loss divided by the number of replicas before the
optimizer's all-reduce SUM, one step of plain SGD and of LARS on a global
batch of 16 gives the same weights, moving statistics and metrics. (One
step: over several, a ReLU input within rounding of zero can flip and make
the runs part by more than rounding.) Under mixed_float16 the replicas
also agree on which loss-scaled steps overflowed and are skipped.
"""

import keras
import numpy as np
import pytest

from tests.distribute.models import build_model, global_batches, train
from tests.distribute.replicas import Check

CONFIGURATIONS = ["sgd", "lars", "sgd_local_bn", "sgd_mixed_float16"]
BATCH = 16


@pytest.fixture(scope="module")
def runs(tmp_path_factory, module_rng):
    directory = tmp_path_factory.mktemp("mirrored_fit")
    rng = module_rng
    data = global_batches(rng, batch=BATCH, batches=1)
    inputs = {**data, "batch": np.array(BATCH), "configurations": np.array(CONFIGURATIONS)}
    initial = {}
    for configuration in CONFIGURATIONS:
        keras.utils.set_random_seed(int(rng.integers(2**31)))
        optimizer, _, variant = configuration.partition("_")
        model = build_model(optimizer, synchronized=variant != "local_bn")
        path = str(directory / f"{configuration}.weights.h5")
        model.save_weights(path)
        inputs[f"weights_{configuration}"] = np.array(path)
        initial[configuration] = model.get_weights()
    check = Check("fit,overflow,upstream_loss_scaling", inputs, directory)  # runs while this process trains on one device
    try:
        single = {c: train(c, str(inputs[f"weights_{c}"]), data, BATCH) for c in CONFIGURATIONS if "mixed" not in c}
        distributed = check.result()
    finally:
        check.stop()
    assert int(distributed["replicas"]) == 2
    return initial, single, distributed


def largest_relative_difference(initial, single, distributed, configuration):
    """Over all weights: max |distributed change - single change| / max |single change|, per tensor."""
    worst = 0.0
    for i, (start, expected) in enumerate(zip(initial, single["weights"])):
        got = distributed[f"{configuration}_weight_{i}"]
        scale = np.abs(expected - start).max()
        assert scale > 0, f"weight {i} did not move"
        worst = max(worst, np.abs(got - expected).max() / scale)
    return worst


@pytest.mark.parametrize("configuration", ["sgd", "lars"])
def test_two_replicas_train_to_the_single_device_weights(runs, configuration):
    initial, single, distributed = runs
    single = single[configuration]
    assert int(distributed[f"{configuration}_iterations"]) == single["iterations"] == 1
    # Float32 reductions in a different order: SGD's changes agree to ~1e-5 of their size. LARS scales
    # each tensor's step by ||w|| / ||g||, so a tensor whose gradient nearly cancels gets a full-size step
    # in the direction of its rounding: 1.7e-3 on one seed of many. A gradient scaled by the number of
    # replicas, or negatives from one replica only, is off by order 1 under either.
    tolerance = {"sgd": 1e-3, "lars": 1e-2}[configuration]
    assert largest_relative_difference(initial[configuration], single, distributed, configuration) < tolerance


@pytest.mark.parametrize("configuration", ["sgd", "lars"])
def test_reported_metrics_are_the_global_batchs(runs, configuration):
    _, single, distributed = runs
    single = single[configuration]
    for name in ("loss", "contrastive_accuracy"):
        np.testing.assert_allclose(distributed[f"{configuration}_history_{name}"], single["history"][name],
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(distributed[f"{configuration}_evaluate_{name}"], single["evaluate"][name],
                                   rtol=1e-5, atol=1e-6)


def test_without_synchronized_batch_norm_the_replicas_train_a_different_function(runs):
    initial, single, distributed = runs
    difference = largest_relative_difference(initial["sgd_local_bn"], single["sgd_local_bn"], distributed,
                                             "sgd_local_bn")
    assert difference > 1e-2
    # The training loss itself differs: each half batch is normalised with its own statistics.
    assert not np.isclose(float(distributed["sgd_local_bn_history_loss"][0]),
                          single["sgd_local_bn"]["history"]["loss"][0], rtol=1e-4)


def test_replicas_agree_to_skip_a_step_that_overflowed_on_one_of_them(runs):
    _, _, distributed = runs
    # Keras's LossScaleOptimizer decides from the first replica's gradients before the all-reduce.
    assert not distributed["one_finite_0"] and not distributed["one_finite_1"]
    assert distributed["none_finite_0"] and distributed["none_finite_1"]
    np.testing.assert_array_equal(distributed["none_values_0"], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(distributed["none_values_1"], [2.0, 2.0, 2.0])


def test_mixed_float16_trains_on_two_replicas(runs):
    _, _, distributed = runs
    losses = distributed["sgd_mixed_float16_history_loss"]
    assert len(losses) == 6 and np.all(np.isfinite(losses))
    weights = [v for k, v in distributed.items() if k.startswith("sgd_mixed_float16_weight_")]
    assert weights and all(np.all(np.isfinite(w)) for w in weights)
    # Of the 6 steps, those whose float16 gradients overflowed at the current loss scale were
    # skipped on both replicas; the others were applied.
    assert 1 <= int(distributed["sgd_mixed_float16_iterations"]) <= 6


def test_upstream_loss_scaling_still_lets_one_replicas_overflow_reach_the_weights(runs):
    """The reason for kc.distribute.compat.non_finite_everywhere_if_anywhere (Keras 3.15).

    When this fails, Keras's LossScaleOptimizer skips a step that overflowed on any replica by
    itself, and the workaround can be deleted.
    """
    _, _, distributed = runs
    assert not np.all(np.isfinite(distributed["upstream_weights"]))
