import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.methods.update_multiplier import UpdateMultiplier


class Owner(keras.layers.Layer):
    """A layer with two variables: `fast`, whose steps are multiplied, and `slow`."""

    def __init__(self, multiplier):
        super().__init__()
        rng = np.random.default_rng()
        fast, slow = rng.normal(size=(3, 2)), rng.normal(size=4)
        self.fast = self.add_weight(shape=(3, 2), initializer=keras.initializers.Constant(fast))
        self.slow = self.add_weight(shape=(4,), initializer=keras.initializers.Constant(slow))
        self.updates = UpdateMultiplier(self, [self.fast], multiplier, "fast")


OPTIMIZERS = {
    "sgd_momentum": lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
    "adam": lambda lr: keras.optimizers.Adam(lr),
    "adamw": lambda lr: keras.optimizers.AdamW(lr, weight_decay=0.1),
}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("multiplier", [0.5, 10.0])
def test_the_steps_are_those_of_a_learning_rate_multiplier_times_larger(optimizer, multiplier):
    owner = Owner(multiplier)
    fast_reference = keras.Variable(owner.fast.numpy())
    slow_reference = keras.Variable(owner.slow.numpy())
    learning_rate = 0.01
    scaled = OPTIMIZERS[optimizer](learning_rate)
    fast_optimizer = OPTIMIZERS[optimizer](learning_rate * multiplier)
    slow_optimizer = OPTIMIZERS[optimizer](learning_rate)
    rng = np.random.default_rng()
    for _ in range(4):
        fast_gradient = tf.constant(rng.normal(size=(3, 2)), tf.float32)
        slow_gradient = tf.constant(rng.normal(size=4), tf.float32)
        owner.updates.remember()
        scaled.apply_gradients([(fast_gradient, owner.fast), (slow_gradient, owner.slow)])
        owner.updates.apply()
        fast_optimizer.apply_gradients([(fast_gradient, fast_reference)])
        slow_optimizer.apply_gradients([(slow_gradient, slow_reference)])
    np.testing.assert_allclose(owner.fast.numpy(), fast_reference.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(owner.slow.numpy(), slow_reference.numpy(), rtol=1e-6, atol=1e-7)


def test_a_multiplier_of_one_keeps_no_copies_and_changes_nothing():
    owner = Owner(1.0)
    assert owner.updates.before == [] and len(owner.weights) == 2
    owner.updates.remember()
    owner.fast.assign(owner.fast + 1.0)
    expected = owner.fast.numpy()
    owner.updates.apply()
    np.testing.assert_array_equal(owner.fast.numpy(), expected)


@pytest.mark.parametrize("multiplier", [0, -2.0, float("nan"), "10", True])
def test_the_multiplier_must_be_a_positive_number(multiplier):
    message = "predictor_learning_rate_multiplier must be a positive number"
    with pytest.raises(ValueError, match=message):
        Owner(multiplier)


def one_sgd_step(name, multiplier, data):
    keras.utils.set_random_seed(3)
    encoder = kc.encoders.small_cnn((12, 12, 1), widths=(4, 8))
    method = kc.methods.METHODS[name](
        projection_dim=16, predictor_learning_rate_multiplier=multiplier
    )
    model = kc.ContrastiveModel(encoder, method)
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    groups = {
        "predictor": method.predictor.trainable_variables,
        "encoder": encoder.trainable_variables,
    }
    before = {group: [v.numpy() for v in variables] for group, variables in groups.items()}
    model.fit(tf.data.Dataset.from_tensors(data), epochs=1, verbose=0)
    return {
        group: [v.numpy() - b for v, b in zip(variables, before[group])]
        for group, variables in groups.items()
    }


@pytest.mark.parametrize("name", ["byol", "simsiam"])
def test_the_predictor_steps_faster_inside_the_compiled_step(name):
    rng = np.random.default_rng()
    view_a = rng.uniform(0, 255, size=(8, 12, 12, 1)).astype("float32")
    view_b = np.clip(view_a + rng.normal(0, 20, size=view_a.shape), 0, 255).astype("float32")
    plain = one_sgd_step(name, 1.0, (view_a, view_b))
    faster = one_sgd_step(name, 10.0, (view_a, view_b))
    for step, plain_step in zip(faster["predictor"], plain["predictor"]):
        np.testing.assert_allclose(step, 10.0 * plain_step, rtol=1e-3, atol=1e-6)
    for step, plain_step in zip(faster["encoder"], plain["encoder"]):
        np.testing.assert_allclose(step, plain_step, rtol=1e-4, atol=1e-7)
    assert any(np.abs(step).max() > 0 for step in plain["predictor"])
