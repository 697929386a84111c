import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc


def tiny_encoder(input_shape=(12, 12, 1)):
    return kc.encoders.small_cnn(input_shape, widths=(8, 16))


def random_views(batch=8, shape=(12, 12, 1), batches=3, labels=False, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, size=(batch * batches, *shape)).astype("float32")
    noisy = np.clip(images + rng.normal(scale=20, size=images.shape), 0, 255).astype("float32")
    parts = (images, noisy) + ((rng.integers(0, 3, len(images)),) if labels else ())
    return tf.data.Dataset.from_tensor_slices(parts).batch(batch, drop_remainder=True)


def make_model(**method_kwargs):
    model = kc.ContrastiveModel(tiny_encoder(), kc.methods.SimCLR(projection_dim=16, **method_kwargs))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def test_call_is_the_encoders_embedding_and_predict_takes_uint8():
    model = make_model()
    images = np.random.default_rng(0).integers(0, 256, size=(5, 12, 12, 1)).astype("uint8")
    embedding = model.predict(images, verbose=0)
    assert embedding.shape == (5, 16)
    np.testing.assert_allclose(embedding, model.encoder(images.astype("float32")).numpy(), atol=1e-6)
    np.testing.assert_allclose(model(images.astype("float32")).numpy(), embedding, atol=1e-6)


def test_fit_reports_loss_and_contrastive_accuracy_and_lowers_the_loss():
    keras.utils.set_random_seed(1)
    model = make_model(temperature=0.2)
    history = model.fit(random_views(batches=4).repeat(), steps_per_epoch=4, epochs=25, verbose=0)
    losses = history.history["loss"]
    assert set(history.history) == {"loss", "contrastive_accuracy"}
    assert losses[-1] < 0.7 * losses[0]
    assert history.history["contrastive_accuracy"][-1] > history.history["contrastive_accuracy"][0]


def test_evaluate_uses_test_step_without_changing_weights():
    model = make_model()
    before = [w.numpy().copy() for w in model.weights]
    result = model.evaluate(random_views(), return_dict=True, verbose=0)
    assert set(result) == {"loss", "contrastive_accuracy"} and np.isfinite(result["loss"])
    for old, new in zip(before, model.weights):
        np.testing.assert_array_equal(old, new.numpy())


@pytest.mark.parametrize("jit_compile", [False, True])
def test_compile_jit_compile_is_respected(jit_compile):
    model = kc.ContrastiveModel(tiny_encoder(), kc.methods.SimCLR(projection_dim=8))
    model.compile(optimizer="adam", jit_compile=jit_compile)
    model.fit(random_views(batches=1), epochs=1, verbose=0)
    assert model.jit_compile is jit_compile
    assert model.train_function is not None


def test_save_load_gives_identical_embeddings_and_resumes_from_the_saved_step(tmp_path):
    keras.utils.set_random_seed(2)
    views = random_views(batches=3)
    model = make_model(temperature=0.3, hidden_dim=24, num_layers=3)
    model.fit(views, epochs=2, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    again = keras.models.load_model(path)

    images = np.random.default_rng(3).uniform(0, 255, size=(7, 12, 12, 1)).astype("float32")
    np.testing.assert_array_equal(again.predict(images, verbose=0), model.predict(images, verbose=0))
    assert isinstance(again.method, kc.methods.SimCLR)
    assert again.method.get_config() == model.method.get_config()
    assert int(again.optimizer.iterations) == 6
    for old, new in zip(model.optimizer.variables, again.optimizer.variables):
        np.testing.assert_array_equal(old.numpy(), new.numpy())

    # One more epoch from the saved state matches one more epoch of the original.
    model.fit(views, epochs=1, verbose=0)
    again.fit(views, epochs=1, verbose=0)
    assert int(again.optimizer.iterations) == 9
    np.testing.assert_allclose(again.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-4)


def test_config_round_trip_builds_an_equivalent_untrained_model():
    model = make_model(temperature=0.4)
    clone = kc.ContrastiveModel.from_config(model.get_config())
    assert clone.method.temperature == 0.4
    assert clone.embedding_dim == model.embedding_dim == 16
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]


def test_encoder_whose_output_is_not_2d_is_refused():
    inputs = keras.Input((12, 12, 1))
    feature_map = keras.Model(inputs, keras.layers.Conv2D(4, 3)(inputs))
    with pytest.raises(ValueError, match=r"2-D embeddings \(batch, dim\)"):
        kc.ContrastiveModel(feature_map, kc.methods.SimCLR())


def test_encoder_and_method_of_the_wrong_kind_are_refused():
    with pytest.raises(ValueError, match="encoder must be a keras.Model"):
        kc.ContrastiveModel(keras.layers.Dense(3), kc.methods.SimCLR())
    with pytest.raises(ValueError, match="method must be a keras_contrastive.methods.Method"):
        kc.ContrastiveModel(tiny_encoder(), kc.losses.NTXent())


def test_batch_of_one_is_refused():
    model = make_model()
    with pytest.raises(ValueError, match="at least 2 images"):
        model.fit(random_views(batch=1, batches=2), epochs=1, verbose=0)


def test_views_of_different_shapes_are_refused():
    model = make_model()
    a = np.zeros((4, 12, 12, 1), "float32")
    b = np.zeros((4, 10, 10, 1), "float32")
    views = tf.data.Dataset.from_tensor_slices((a, b)).batch(4)
    with pytest.raises(ValueError, match="same shape"):
        model.fit(views, epochs=1, verbose=0)


@pytest.mark.parametrize(
    "shape, message",
    [((12, 12), "batch of images"), ((12, 12, 3), "1 channel")],
)
def test_images_of_wrong_rank_or_channel_count_are_refused(shape, message):
    model = make_model()
    a = np.zeros((4, *shape), "float32")
    views = tf.data.Dataset.from_tensor_slices((a, a)).batch(4)
    with pytest.raises(ValueError, match=message):
        model.fit(views, epochs=1, verbose=0)


@pytest.mark.parametrize(
    "shape, message",
    [((3, 12, 12), "batch of images"), ((3, 12, 12, 3), "1 channel")],
)
def test_predict_refuses_images_of_wrong_rank_or_channel_count(shape, message):
    with pytest.raises(ValueError, match=message):
        make_model().predict(np.zeros(shape, "float32"), verbose=0)


def test_batches_that_are_not_pairs_of_views_are_refused():
    model = make_model()
    images = tf.data.Dataset.from_tensor_slices(np.zeros((8, 12, 12, 1), "float32")).batch(4)
    with pytest.raises(ValueError, match=r"\(view_a, view_b\)"):
        model.fit(images, epochs=1, verbose=0)


def test_labels_are_passed_through_and_ignored_by_simclr():
    model = make_model()
    history = model.fit(random_views(labels=True), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
