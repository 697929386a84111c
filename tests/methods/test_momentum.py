import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.encoders import small_cnn
from keras_contrastive.heads import ProjectionHead
from keras_contrastive.methods.momentum import (
    check_momentum,
    cosine_momentum,
    momentum_copy,
    momentum_update,
)


def test_a_momentum_copy_starts_equal_and_the_optimizer_never_sees_it(rng):
    encoder = small_cnn((12, 12, 1), widths=(4, 8))
    copy = momentum_copy(encoder, encoder.input_shape)
    assert len(copy.weights) == len(encoder.weights)
    for target, online in zip(copy.weights, encoder.weights):
        np.testing.assert_array_equal(target.numpy(), online.numpy())
        assert target is not online
    assert copy.trainable_weights == []
    # Its layers stay trainable, so batch norm uses batch statistics in training.
    images = tf.constant(rng.uniform(0, 255, size=(6, 12, 12, 1)), tf.float32)
    np.testing.assert_allclose(copy(images, training=True), encoder(images, training=True), atol=1e-5)


def test_momentum_update_is_the_exponential_moving_average_of_trained_parameters(rng):
    online = ProjectionHead(hidden_dim=5, output_dim=3)
    online.build((None, 4))
    target = momentum_copy(online, (None, 4))
    for variable in online.weights:
        variable.assign(rng.normal(size=variable.shape))
    before = [v.numpy().astype(np.float64) for v in target.weights]
    momentum = rng.uniform(0.5, 0.999)
    momentum_update(target, online, momentum)
    for old, new, source in zip(before, target.weights, online.weights):
        if source.trainable:
            expected = momentum * old + (1 - momentum) * source.numpy()
        else:  # batch-norm statistics follow the target's own forward passes
            expected = old
        np.testing.assert_allclose(new.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("base", [0.9, 0.99, 0.996])
def test_cosine_momentum_follows_the_byol_schedule(base):
    total = 1000
    for step in (0, 1, 250, 500, 999, 1000, 1500):
        progress = min(step / total, 1.0)
        expected = 1 - (1 - base) * (np.cos(np.pi * progress) + 1) / 2
        assert float(cosine_momentum(base, tf.constant(step), total)) == pytest.approx(expected, abs=1e-6)
    assert float(cosine_momentum(base, tf.constant(700), None)) == pytest.approx(base)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "0.9", None, float("inf"), float("nan"), True, False])
def test_momentum_outside_zero_one_is_refused(bad):
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\)"):
        check_momentum(bad)
    with pytest.raises(ValueError, match=r"base_momentum must be a number in \[0, 1\)"):
        check_momentum(bad, "base_momentum")


@pytest.mark.parametrize("good", [0, 0.0, 0.5, 0.996, np.float32(0.99)])
def test_momentum_in_zero_one_is_returned_as_a_float(good):
    checked = check_momentum(good)
    assert type(checked) is float and checked == pytest.approx(float(good))
