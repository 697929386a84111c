import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.layers import Whitening, whiten_alike


def correlated(rng, samples=400, dim=6, offset=0.0):
    """Embeddings with a common offset and axes of very different variance."""
    rotation = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    mixing = np.geomspace(10.0, 0.05, dim)[:, None] * rotation
    return (rng.normal(size=(samples, dim)) @ mixing + offset).astype("float32")


def reference(fitted_on, data, epsilon):
    """float64 whitening by the SVD of the centred data (the layer uses the covariance's eigh)."""
    fitted_on, data = np.asarray(fitted_on, np.float64), np.asarray(data, np.float64)
    mean = fitted_on.mean(axis=0)
    _, singular, axes_t = np.linalg.svd(fitted_on - mean, full_matrices=False)
    variances = singular**2 / (len(fitted_on) - 1)
    return (data - mean) @ axes_t.T / np.sqrt(variances + epsilon * variances.mean())


def same_up_to_axis_signs(actual, expected, **tolerance):
    """Each principal axis is defined up to its sign: align the signs, then compare."""
    signs = np.sign(np.sum(actual * expected, axis=0))
    np.testing.assert_allclose(actual * signs, expected, **tolerance)


@pytest.mark.parametrize("epsilon", [0.0, 1e-2, 0.5])
def test_matches_a_float64_reference_on_held_out_embeddings(rng, epsilon):
    fitted_on, held_out = correlated(rng), correlated(rng, samples=50)
    whitening = Whitening(epsilon=epsilon)
    whitening.adapt(fitted_on)
    same_up_to_axis_signs(whitening(held_out).numpy(), reference(fitted_on, held_out, epsilon), rtol=2e-3, atol=2e-3)


def test_full_whitening_gives_zero_mean_and_identity_covariance(rng):
    embeddings = correlated(rng, offset=3.0)
    whitening = Whitening(epsilon=0.0)
    whitening.adapt(embeddings)
    out = whitening(embeddings).numpy().astype(np.float64)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(np.cov(out.T), np.eye(6), atol=1e-3)


def test_a_dataset_of_batches_fits_what_the_whole_array_fits(rng):
    embeddings = correlated(rng, offset=1e4)
    from_array, from_batches = Whitening(), Whitening()
    from_array.adapt(embeddings, batch_size=1000)
    from_batches.adapt(tf.data.Dataset.from_tensor_slices(embeddings).batch(37))
    np.testing.assert_allclose(from_batches.mean.numpy(), from_array.mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(from_batches.projection.numpy(), from_array.projection.numpy(), rtol=1e-4, atol=1e-7)


def test_before_adapt_it_passes_embeddings_through(rng):
    embeddings = correlated(rng, samples=5)
    np.testing.assert_allclose(Whitening()(embeddings).numpy(), embeddings)


def test_saved_model_keeps_the_fitted_projection_and_the_config(rng, tmp_path):
    embeddings = correlated(rng)
    whitening = Whitening(epsilon=0.3)
    whitening.adapt(embeddings)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(6), whitening])
    path = str(tmp_path / "whitened.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.layers[-1].get_config()["epsilon"] == 0.3
    np.testing.assert_allclose(loaded(embeddings).numpy(), model(embeddings).numpy(), rtol=1e-6)


def test_computes_in_float32_under_a_bf16_policy(rng):
    embeddings = correlated(rng)
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        whitening = Whitening()
        whitening.adapt(embeddings)
        out = whitening(tf.cast(embeddings, tf.bfloat16))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert out.dtype == tf.float32
    with pytest.raises(ValueError, match="computes in float32"):
        Whitening(dtype="bfloat16")


@pytest.mark.parametrize(
    "data, match",
    [
        (np.zeros((4, 3, 2)), r"shape \(samples, dim\)"),
        (np.ones((1, 3)), "at least 2 embeddings"),
        (np.ones((5, 3)), "all equal"),
        (np.array([[0.0, 1.0], [np.nan, 2.0]]), "NaN or infinite"),
    ],
)
def test_bad_embeddings_are_refused_by_name(data, match):
    with pytest.raises(ValueError, match=match):
        Whitening().adapt(data)


def test_rank_deficient_embeddings_need_a_regulariser(rng):
    low_rank = correlated(rng)[:, :3] @ rng.normal(size=(3, 6))
    with pytest.raises(ValueError, match="epsilon > 0"):
        Whitening(epsilon=0.0).adapt(low_rank)
    whitening = Whitening(epsilon=1e-2)
    whitening.adapt(low_rank)
    assert np.isfinite(whitening(low_rank).numpy()).all()


def test_a_built_layer_refuses_another_width_and_a_negative_epsilon(rng):
    whitening = Whitening()
    whitening.adapt(correlated(rng))
    with pytest.raises(ValueError, match="built for 6 features; adapt got 4"):
        whitening.adapt(correlated(rng, dim=4))
    with pytest.raises(ValueError, match="epsilon must be a non-negative number"):
        Whitening(epsilon=-1.0)


def test_whiten_alike_fits_on_the_first_features_and_whitens_the_others_the_same_way(rng):
    fitted_on, held_out = correlated(rng), correlated(rng, samples=50)
    whitened_fit, whitened_held_out = whiten_alike(fitted_on, held_out, epsilon=0.2)
    same_up_to_axis_signs(whitened_fit, reference(fitted_on, fitted_on, 0.2), rtol=2e-3, atol=2e-3)
    same_up_to_axis_signs(whitened_held_out, reference(fitted_on, held_out, 0.2), rtol=2e-3, atol=2e-3)
