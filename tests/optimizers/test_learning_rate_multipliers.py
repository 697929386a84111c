import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.optimizers import apply_gradients_with_multipliers

OPTIMIZERS = {
    "sgd_momentum": lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
    "adam": lambda lr: keras.optimizers.Adam(lr),
    "adamw": lambda lr: keras.optimizers.AdamW(lr, weight_decay=0.1),
    "lars": lambda lr: kc.optimizers.LARS(lr, weight_decay=1e-3),
}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("multiplier", [0.5, 10.0])
def test_the_steps_are_those_of_a_learning_rate_multiplier_times_larger(optimizer, multiplier, rng):
    fast, slow = keras.Variable(rng.normal(size=(3, 2)), dtype="float32"), keras.Variable(rng.normal(size=4), dtype="float32")
    fast_reference, slow_reference = keras.Variable(fast.numpy()), keras.Variable(slow.numpy())
    learning_rate = 0.01
    scaled = OPTIMIZERS[optimizer](learning_rate)
    fast_optimizer = OPTIMIZERS[optimizer](learning_rate * multiplier)
    slow_optimizer = OPTIMIZERS[optimizer](learning_rate)

    @tf.function
    def step(fast_gradient, slow_gradient):
        apply_gradients_with_multipliers(scaled, [fast_gradient, slow_gradient], [fast, slow], [([fast], multiplier)])

    for _ in range(4):
        fast_gradient = tf.constant(rng.normal(size=(3, 2)), tf.float32)
        slow_gradient = tf.constant(rng.normal(size=4), tf.float32)
        step(fast_gradient, slow_gradient)
        fast_optimizer.apply_gradients([(fast_gradient, fast_reference)])
        slow_optimizer.apply_gradients([(slow_gradient, slow_reference)])
    np.testing.assert_allclose(fast.numpy(), fast_reference.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(slow.numpy(), slow_reference.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("multiplier", [0, -2.0, float("nan"), "10", True])
def test_the_predictors_multiplier_must_be_a_positive_number(multiplier):
    with pytest.raises(ValueError, match="predictor_learning_rate_multiplier must be a positive number"):
        kc.methods.BYOL(predictor_learning_rate_multiplier=multiplier)


def one_sgd_step(name, multiplier, data):
    keras.utils.set_random_seed(3)
    encoder = kc.encoders.small_cnn((12, 12, 1), widths=(4, 8))
    method = kc.methods.METHODS[name](projection_dim=16, predictor_learning_rate_multiplier=multiplier)
    model = kc.ContrastiveModel(encoder, method)
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    groups = {"predictor": method.predictors[0].trainable_variables, "encoder": encoder.trainable_variables}
    before = {group: [v.numpy() for v in variables] for group, variables in groups.items()}
    model.fit(tf.data.Dataset.from_tensors(data), epochs=1, verbose=0)
    steps = {group: [v.numpy() - b for v, b in zip(variables, before[group])] for group, variables in groups.items()}
    return steps, len(model.weights)


@pytest.mark.parametrize("name", ["byol", "simsiam"])
def test_the_predictor_steps_faster_inside_the_compiled_step_and_checkpoints_hold_nothing_extra(name, rng):
    view_a = rng.uniform(0, 255, size=(8, 12, 12, 1)).astype("float32")
    view_b = np.clip(view_a + rng.normal(0, 20, size=view_a.shape), 0, 255).astype("float32")
    plain, plain_weights = one_sgd_step(name, 1.0, (view_a, view_b))
    faster, faster_weights = one_sgd_step(name, 10.0, (view_a, view_b))
    for step, plain_step in zip(faster["predictor"], plain["predictor"]):
        np.testing.assert_allclose(step, 10.0 * plain_step, rtol=1e-3, atol=1e-6)
    for step, plain_step in zip(faster["encoder"], plain["encoder"]):
        np.testing.assert_allclose(step, plain_step, rtol=1e-4, atol=1e-7)
    assert any(np.abs(step).max() > 0 for step in plain["predictor"])
    assert faster_weights == plain_weights  # no saved snapshots of the predictor
