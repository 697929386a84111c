import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.optimizers import LARS


def reference_lars(weights, gradients_per_step, learning_rates, momentum, weight_decay, eta, nesterov, adapted):
    """LARS written out variable by variable in float64, as SimCLR's classic-momentum update."""
    weights = [w.astype(np.float64) for w in weights]
    velocities = [np.zeros_like(w) for w in weights]
    for gradients, lr in zip(gradients_per_step, learning_rates):
        for k, (w, g) in enumerate(zip(weights, gradients)):
            g = g.astype(np.float64)
            step = lr
            if adapted[k]:
                g = g + weight_decay * w
                w_norm = np.sqrt(np.sum(w * w))
                g_norm = np.sqrt(np.sum(g * g))
                if w_norm > 0 and g_norm > 0:
                    step = lr * eta * w_norm / g_norm
            velocities[k] = momentum * velocities[k] + step * g
            if nesterov:
                weights[k] = w - (momentum * velocities[k] + step * g)
            else:
                weights[k] = w - velocities[k]
    return weights


def make_variables(rng):
    """A kernel, a bias, a batch-norm scale and a second kernel whose path a pattern excludes."""
    shapes = {"dense/kernel": (6, 4), "dense/bias": (4,), "bn/gamma": (4,), "head/kernel": (4, 3)}
    variables = []
    for path, shape in shapes.items():
        layer_name, name = path.split("/")
        with keras.name_scope(layer_name):
            variables.append(keras.Variable(rng.normal(size=shape).astype("float32"), name=name))
    return variables


@pytest.mark.parametrize("nesterov", [False, True])
def test_matches_float64_reference_over_a_few_steps_with_a_schedule(rng, nesterov):
    variables = make_variables(rng)
    assert [v.path for v in variables] == ["dense/kernel", "dense/bias", "bn/gamma", "head/kernel"]
    schedule = keras.optimizers.schedules.CosineDecay(0.0, 3, warmup_target=0.8, warmup_steps=2)
    momentum, weight_decay, eta = rng.uniform(0.5, 0.95), rng.uniform(1e-3, 1e-1), rng.uniform(1e-3, 1e-1)
    optimizer = LARS(schedule, momentum=momentum, weight_decay=weight_decay, eta=eta,
                     nesterov=nesterov, exclude_patterns=["^head/"])
    initial = [v.numpy().copy() for v in variables]
    gradients_per_step = [[rng.normal(size=v.shape).astype("float32") for v in variables] for _ in range(5)]
    for gradients in gradients_per_step:
        optimizer.apply_gradients(zip([tf.constant(g) for g in gradients], variables))
    learning_rates = [float(schedule(step)) for step in range(5)]
    assert learning_rates[0] == 0.0 and max(learning_rates) > 0.5
    expected = reference_lars(initial, gradients_per_step, learning_rates, momentum, weight_decay, eta,
                              nesterov, adapted=[True, False, False, False])
    for variable, want in zip(variables, expected):
        np.testing.assert_allclose(variable.numpy(), want, rtol=1e-5, atol=1e-6)
    # The trust ratio made the adapted kernel's steps far smaller than the others'.
    kernel_move = np.abs(variables[0].numpy() - initial[0]).max()
    head_move = np.abs(variables[3].numpy() - initial[3]).max()
    assert kernel_move < 0.5 * head_move


def test_zero_weights_or_gradients_fall_back_to_a_trust_ratio_of_one():
    zeros = keras.Variable(np.zeros((3, 3), "float32"), name="kernel")
    ones = keras.Variable(np.ones((3, 3), "float32"), name="kernel")
    optimizer = LARS(0.5, momentum=0.0, weight_decay=0.0, eta=0.01)
    optimizer.apply_gradients([(tf.ones((3, 3)), zeros), (tf.zeros((3, 3)), ones)])
    np.testing.assert_allclose(zeros.numpy(), -0.5)
    np.testing.assert_allclose(ones.numpy(), 1.0)


def test_which_variables_are_adapted():
    optimizer = LARS(exclude_patterns=[r"projector/"])
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, name="body"),
                              keras.layers.BatchNormalization(name="bn"), keras.layers.Dense(2, name="projector")],
                             name="net")  # not Keras's auto name, which counts up with earlier models
    adapted = {v.path.removeprefix("net/"): optimizer.is_adapted(v) for v in model.trainable_variables}
    assert adapted == {"body/kernel": True, "body/bias": False, "bn/gamma": False, "bn/beta": False,
                       "projector/kernel": False, "projector/bias": False}
    assert LARS(exclude_rank_below_2=False).is_adapted(model.get_layer("body").bias)


def test_config_round_trip_keeps_the_schedule_and_exclusions():
    schedule = keras.optimizers.schedules.CosineDecay(0.0, 90, warmup_target=1.2, warmup_steps=10)
    optimizer = LARS(schedule, momentum=0.8, weight_decay=1e-4, eta=2e-3, nesterov=True,
                     exclude_patterns=["head"], exclude_rank_below_2=False, clipnorm=1.0)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(again, LARS)
    config = again.get_config()
    assert config == optimizer.get_config()
    assert (config["momentum"], config["weight_decay"], config["eta"], config["nesterov"]) == (0.8, 1e-4, 2e-3, True)
    assert config["exclude_patterns"] == ["head"] and config["exclude_rank_below_2"] is False
    assert float(again.learning_rate) == float(schedule(0))


MOMENTUM = r"momentum must be a number in \[0, 1\)"
WEIGHT_DECAY = "weight_decay must be a non-negative number"
ETA = "eta must be a positive number"


@pytest.mark.parametrize(
    "kwargs, message",
    [({"momentum": 1.0}, MOMENTUM), ({"momentum": -0.1}, MOMENTUM), ({"momentum": float("nan")}, MOMENTUM),
     ({"momentum": None}, MOMENTUM), ({"momentum": "0.9"}, MOMENTUM), ({"momentum": True}, MOMENTUM),
     ({"weight_decay": -1e-4}, WEIGHT_DECAY), ({"weight_decay": float("inf")}, WEIGHT_DECAY),
     ({"weight_decay": float("nan")}, WEIGHT_DECAY), ({"weight_decay": None}, WEIGHT_DECAY),
     ({"eta": 0.0}, ETA), ({"eta": -1e-3}, ETA), ({"eta": float("inf")}, ETA), ({"eta": float("nan")}, ETA),
     ({"eta": "0.001"}, ETA), ({"eta": False}, ETA),
     ({"exclude_patterns": "bias"}, "exclude_patterns must be a list of regular expressions")],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LARS(**kwargs)


def test_trains_a_contrastive_model_and_resumes_from_a_saved_file(tmp_path, rng):
    from tests.test_model import random_views, tiny_encoder

    model = kc.ContrastiveModel(tiny_encoder(), kc.methods.SimCLR(projection_dim=8, temperature=0.2))
    schedule = keras.optimizers.schedules.CosineDecay(0.0, 30, warmup_target=2.0, warmup_steps=5)
    model.compile(optimizer=LARS(schedule, weight_decay=1e-4))
    history = model.fit(random_views(rng, batches=4).repeat(), steps_per_epoch=5, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    model.save(tmp_path / "model.keras")
    again = keras.models.load_model(tmp_path / "model.keras")
    assert isinstance(again.optimizer, LARS) and int(again.optimizer.iterations) == 30
    for old, new in zip(model.optimizer.variables, again.optimizer.variables):
        np.testing.assert_array_equal(old.numpy(), new.numpy())
