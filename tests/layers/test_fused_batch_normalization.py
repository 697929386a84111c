import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.layers import FusedBatchNormalization


def _pair(rng, shape, dtype="float32", reference_dtype="float64", **kwargs):
    """A fused layer and a Keras BatchNormalization with the same random weights, drawn from `rng`."""
    fused = FusedBatchNormalization(dtype=dtype, **kwargs)
    reference = keras.layers.BatchNormalization(dtype=reference_dtype, **kwargs)
    fused.build(shape)
    reference.build(shape)
    weights = [rng.normal(size=w.shape) if "variance" not in w.path else rng.uniform(0.5, 2.0, size=w.shape)
               for w in reference.weights]
    reference.set_weights(weights)
    fused.set_weights(weights)
    return fused, reference


def _train_call(layer, x, upstream, call=None):
    """Output, gradients w.r.t. x and trainable weights, of sum(output * upstream)."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = (call or layer)(x, training=True)
        objective = tf.reduce_sum(tf.cast(y, tf.float64) * upstream)
    gradients = tape.gradient(objective, [x, *layer.trainable_variables])
    return [np.asarray(y, "float64")] + [np.asarray(g, "float64") for g in gradients]


@pytest.mark.parametrize("shape", [(6, 5, 4, 3), (16, 7)])
@pytest.mark.parametrize("momentum", [0.9, 0.99])
def test_training_matches_keras_float64(rng, shape, momentum):
    fused, reference = _pair(rng, shape, momentum=momentum)
    for _ in range(2):
        x = rng.normal(2.0, 3.0, size=shape)
        upstream = rng.normal(size=shape)
        got = _train_call(fused, x.astype("float32"), upstream)
        want = _train_call(reference, x, upstream)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(fused.moving_mean.numpy(), reference.moving_mean.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused.moving_variance.numpy(), reference.moving_variance.numpy(), rtol=1e-5)


def test_moving_statistics_use_the_biased_batch_variance_and_keras_momentum(rng):
    layer = FusedBatchNormalization(momentum=0.8)
    x = rng.normal(1.0, 2.0, size=(4, 3, 3, 5)).astype("float32")
    layer(x, training=True)
    batch = x.reshape(-1, 5).astype("float64")
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.2 * batch.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.8 + 0.2 * batch.var(0), rtol=1e-5)


def test_inference_uses_the_moving_statistics_like_keras(rng):
    fused, reference = _pair(rng, (8, 4, 4, 6), epsilon=1e-3)
    x = rng.normal(size=(8, 4, 4, 6))
    np.testing.assert_allclose(fused(x.astype("float32"), training=False).numpy(),
                               reference(x, training=False).numpy(), rtol=1e-5, atol=1e-5)
    assert fused.moving_mean.numpy() == pytest.approx(reference.moving_mean.numpy())


def test_float64_and_other_axes_run_keras_own_computation(rng):
    x = rng.normal(size=(5, 3, 4, 2))
    upstream = rng.normal(size=x.shape)
    for kwargs in ({}, {"axis": 1}):
        fused, reference = _pair(rng, x.shape, dtype="float64", **kwargs)
        for g, w in zip(_train_call(fused, x, upstream), _train_call(reference, x, upstream)):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_without_center_and_scale(rng):
    fused, reference = _pair(rng, (4, 3, 3, 2), center=False, scale=False)
    assert not fused.trainable_variables
    x = rng.normal(size=(4, 3, 3, 2))
    np.testing.assert_allclose(fused(x.astype("float32"), training=True).numpy(),
                               reference(x, training=True).numpy(), rtol=1e-4, atol=1e-4)


def test_same_under_tf_function_and_xla(rng):
    x = rng.normal(size=(6, 4, 4, 3)).astype("float32")
    upstream = rng.normal(size=x.shape)
    results = []
    for jit_compile in (None, False, True):
        layer, _ = _pair(rng, x.shape)
        layer.set_weights([np.ones(3), np.zeros(3), np.zeros(3), np.ones(3)])
        call = layer if jit_compile is None else tf.function(layer.__call__, jit_compile=jit_compile)
        results.append(_train_call(layer, x, upstream, call) + [layer.moving_variance.numpy()])
    for other in results[1:]:
        for g, w in zip(other, results[0]):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_mixed_float16_computes_statistics_in_float32(rng):
    fused, reference = _pair(rng, (8, 4, 4, 3), dtype="mixed_float16")
    x = rng.normal(size=(8, 4, 4, 3))
    y = fused(x.astype("float16"), training=True)
    assert y.dtype == tf.float16 and fused.moving_mean.dtype == "float32"
    np.testing.assert_allclose(y.numpy(), reference(x, training=True).numpy(), atol=2e-2)
    np.testing.assert_allclose(fused.moving_mean.numpy(), reference.moving_mean.numpy(), atol=1e-3)


def test_config_and_saving_round_trip(rng, tmp_path):
    layer = FusedBatchNormalization(momentum=0.9, epsilon=1e-4, name="bn")
    restored = FusedBatchNormalization.from_config(layer.get_config())
    assert restored.momentum == 0.9 and restored.epsilon == 1e-4

    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, FusedBatchNormalization(name="bn")(inputs))
    model.get_layer("bn").set_weights([np.full(3, 2.0), np.ones(3), np.full(3, 0.5), np.full(3, 4.0)])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.get_layer("bn"), FusedBatchNormalization)
    x = rng.normal(size=(2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)


def test_weights_have_the_names_and_order_of_keras_batch_normalization(rng):
    fused, reference = _pair(rng, (2, 4, 4, 3), dtype="float32", reference_dtype="float32")
    assert [w.name for w in fused.weights] == [w.name for w in reference.weights]
    x = rng.normal(size=(2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(fused(x).numpy(), reference(x).numpy(), rtol=1e-6, atol=1e-6)
