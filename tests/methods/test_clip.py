"""CLIP: an image tower and a token-id tower, their linear projections, the symmetric InfoNCE and a learned scale."""

import math
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.losses import symmetric_info_nce
from tests.losses.test_symmetric_info_nce import reference

BATCH, SHAPE, VOCABULARY, LENGTH = 8, (6, 6, 1), 30, 5


def image_encoder(name="images"):
    inputs = keras.Input(SHAPE)
    x = keras.layers.Flatten()(keras.layers.Rescaling(1.0 / 255.0)(inputs))
    return keras.Model(inputs, keras.layers.Dense(12, activation="relu")(x), name=name)


def text_encoder():
    """Token ids (batch, 5) -> the mean of their embeddings: a caption tower of another width than the images'."""
    inputs = keras.Input((LENGTH,), dtype="int32")
    x = keras.layers.Embedding(VOCABULARY, 10)(inputs)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(x), name="captions")


def clip_model(optimizer=None, pair_encoder=text_encoder, chunk_size=None, **method_kwargs):
    method = kc.methods.CLIP(**{"projection_dim": 8, **method_kwargs})
    model = kc.ContrastiveModel(image_encoder(), method, pair_encoder=pair_encoder and pair_encoder(),
                                chunk_size=chunk_size)
    model.compile(optimizer=optimizer or keras.optimizers.Adam(1e-2))
    return model


def images_and_captions(rng, n=BATCH):
    images = rng.uniform(0, 255, size=(n, *SHAPE)).astype("float32")
    return images, rng.integers(0, VOCABULARY, size=(n, LENGTH)).astype("int32")


def one_batch(*parts):
    return tf.data.Dataset.from_tensors(parts)


def scale(model) -> float:
    return float(model.method.logit_scale.numpy())


def test_each_tower_has_its_own_linear_projection_and_the_scale_starts_at_log_one_over_the_temperature():
    model = clip_model(temperature=0.05)
    method = model.method
    assert len(method.projectors) == 2
    for projector, width in zip(method.projectors, (12, 10)):
        [dense] = projector.blocks  # CLIP's linear projection: one Dense layer, no batch norm
        assert isinstance(dense, keras.layers.Dense) and dense.kernel.shape == (width, 8)
    assert scale(model) == pytest.approx(math.log(1 / 0.05), rel=1e-6)
    assert method.logit_scale.trainable and any(v is method.logit_scale for v in model.trainable_variables)
    siamese = clip_model(pair_encoder=None)
    assert len(siamese.method.projectors) == 1  # one shared projection for two views of one kind


def test_the_loss_is_the_symmetric_info_nce_of_the_projections_and_changes_no_state(rng):
    model = clip_model(temperature=0.1)
    method = model.method
    images, captions = images_and_captions(rng)
    method.logit_scale.assign(1.7)  # any learned value: the loss uses the variable, not the initial temperature
    before = [v.numpy() for v in model.weights]
    results = method.compute_loss_and_metrics(model.towers, images, captions, training=True)
    for old, variable in zip(before, model.weights):
        np.testing.assert_array_equal(variable.numpy(), old, err_msg=variable.path)
    assert set(results) == {"loss", *method.metric_names} == {"loss", "contrastive_accuracy", "temperature"}
    z_a = method.projectors[0](model.encoder(images)).numpy()
    z_b = method.projectors[1](model.pair_encoder(captions)).numpy()
    temperature = math.exp(-1.7)
    expected = reference(z_a, z_b, temperature)
    np.testing.assert_allclose(float(results["loss"]), expected["loss"], rtol=1e-5)
    np.testing.assert_allclose(float(results["loss"]), float(symmetric_info_nce(z_a, z_b, temperature)), rtol=1e-6)
    assert float(results["contrastive_accuracy"]) == pytest.approx(expected["accuracy"])
    assert float(results["temperature"]) == pytest.approx(temperature, rel=1e-6)
    blockwise = clip_model(temperature=0.1, block_size=3)
    blockwise.set_weights(model.get_weights())
    got = blockwise.method.compute_loss_and_metrics(blockwise.towers, images, captions)
    for metric in results:
        np.testing.assert_allclose(float(got[metric]), float(results[metric]), rtol=1e-5, err_msg=metric)


def test_a_step_moves_the_logit_scale_by_its_gradient(rng):
    """Adam's first step is -learning_rate x the sign of the gradient, which must reach the scale."""
    model = clip_model(optimizer=keras.optimizers.Adam(1e-2), temperature=0.07)
    images, captions = images_and_captions(rng)
    start = scale(model)
    with tf.GradientTape() as tape:
        loss = model.method.compute_loss_and_metrics(model.towers, images, captions, training=True)["loss"]
    gradient = float(tape.gradient(loss, model.method.logit_scale))
    assert abs(gradient) > 1e-3  # so that Adam's epsilon (1e-7) is negligible against it
    history = model.fit(one_batch(images, captions), epochs=1, verbose=0).history
    assert set(history) == {"loss", "contrastive_accuracy", "temperature"}
    assert history["temperature"][0] == pytest.approx(0.07, rel=1e-6)  # the temperature the step used
    np.testing.assert_allclose(scale(model), start - 1e-2 * np.sign(gradient), atol=1e-5)


def test_the_logit_scale_is_clipped_at_max_logit_scale_after_a_step_that_passes_it(rng):
    """Two towers of the same weights on the same images: every caption is its image's, so the step raises the scale."""
    model = clip_model(optimizer=keras.optimizers.Adam(0.5), pair_encoder=lambda: image_encoder("copy"),
                       temperature=0.0105, max_logit_scale=100)
    model.pair_encoder.set_weights(model.encoder.get_weights())
    model.method.projectors[1].set_weights(model.method.projectors[0].get_weights())
    images, _ = images_and_captions(rng)
    start = scale(model)
    with tf.GradientTape() as tape:
        loss = model.method.compute_loss_and_metrics(model.towers, images, images, training=True)["loss"]
    assert float(tape.gradient(loss, model.method.logit_scale)) < 0  # Adam's step would take it to start + 0.5
    assert start + 0.5 > math.log(100)
    model.fit(one_batch(images, images), epochs=1, verbose=0)
    assert scale(model) == pytest.approx(math.log(100), abs=1e-6)
    assert float(model.method.temperature_value()) == pytest.approx(0.01, rel=1e-5)


def test_a_fixed_temperature_stays_put_and_is_not_trained(rng):
    model = clip_model(optimizer=keras.optimizers.Adam(0.1), temperature=0.2, learn_temperature=False)
    method = model.method
    assert not method.logit_scale.trainable
    assert all(v is not method.logit_scale for v in model.trainable_variables)
    kernel = method.projectors[0].blocks[0].kernel.numpy()
    history = model.fit(one_batch(*images_and_captions(rng)).repeat(3), epochs=1, verbose=0).history
    assert scale(model) == pytest.approx(math.log(1 / 0.2), rel=1e-7)
    assert history["temperature"][0] == pytest.approx(0.2, rel=1e-6)
    assert np.abs(method.projectors[0].blocks[0].kernel.numpy() - kernel).max() > 0  # the rest did train


def test_save_and_load_keep_the_learned_scale_the_embeddings_and_the_training(rng, tmp_path):
    model = clip_model(temperature=0.07, max_logit_scale=50)
    data = one_batch(*images_and_captions(rng))
    model.fit(data.repeat(2), epochs=1, verbose=0)
    assert abs(scale(model) - math.log(1 / 0.07)) > 1e-3
    model.save(tmp_path / "clip.keras")
    loaded = kc.load_model(tmp_path / "clip.keras")
    assert isinstance(loaded.method, kc.methods.CLIP)
    assert loaded.method.get_config() == model.method.get_config()
    assert scale(loaded) == scale(model)
    images, captions = images_and_captions(rng, 5)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), model.predict(images, verbose=0))
    np.testing.assert_array_equal(loaded.embed_pair(captions), model.embed_pair(captions))
    more = one_batch(*images_and_captions(rng))
    model.fit(more, epochs=1, verbose=0)
    loaded.fit(more, epochs=1, verbose=0)
    np.testing.assert_allclose(scale(loaded), scale(model), rtol=1e-6)
    for before, after in zip(model.weights, loaded.weights):
        np.testing.assert_allclose(after.numpy(), before.numpy(), rtol=1e-5, atol=1e-6, err_msg=before.path)


def test_a_chunked_step_equals_the_whole_batchs_including_the_scale(seed, rng):
    data = one_batch(*images_and_captions(rng, 10))
    models = []
    for chunk_size, block_size in ((None, None), (3, 4)):
        keras.utils.set_random_seed(seed)
        model = clip_model(optimizer=keras.optimizers.SGD(0.01), chunk_size=chunk_size, block_size=block_size)
        start = [v.numpy() for v in model.trainable_variables]
        model.fit(data, epochs=1, verbose=0)
        models.append((model, [v.numpy() - s for v, s in zip(model.trainable_variables, start)]))
    (whole, whole_updates), (chunked, chunked_updates) = models
    assert abs(scale(whole) - math.log(1 / 0.07)) > 1e-6
    np.testing.assert_allclose(scale(chunked), scale(whole), rtol=1e-6)
    for w, c, variable in zip(whole_updates, chunked_updates, whole.trainable_variables):
        np.testing.assert_allclose(c, w, rtol=1e-3, atol=1e-4 * np.abs(w).max(), err_msg=variable.path)


def test_the_config_round_trips():
    method = kc.methods.CLIP(temperature=0.05, learn_temperature=False, max_logit_scale=40, projection_dim=16,
                             block_size=32, hidden_dim=24, num_layers=2, projector_batch_norm=True, name="clip_2")
    config = method.get_config()
    assert {key: config[key] for key in ("temperature", "learn_temperature", "max_logit_scale", "projection_dim",
                                         "block_size", "hidden_dim", "num_layers", "projector_batch_norm")} == dict(
        temperature=0.05, learn_temperature=False, max_logit_scale=40.0, projection_dim=16, block_size=32,
        hidden_dim=24, num_layers=2, projector_batch_norm=True)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(method))
    assert type(again) is kc.methods.CLIP and again.get_config() == config
    defaults = kc.methods.CLIP().get_config()
    assert (defaults["temperature"], defaults["learn_temperature"], defaults["max_logit_scale"]) == (0.07, True, 100.0)
    assert (defaults["num_layers"], defaults["projector_batch_norm"]) == (1, False)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(temperature=0.0), "temperature must be a positive number, got 0.0"),
        (dict(temperature=float("nan")), "temperature must be a positive number, got nan"),
        (dict(temperature=None), "temperature must be a positive number, got None"),
        (dict(temperature=True), "temperature must be a positive number, got True"),
        (dict(temperature=tf.Variable(0.07)), "temperature must be a positive number (CLIP's initial temperature"),
        (dict(temperature=0.005), "temperature must be at least 1 / max_logit_scale = 0.01"),
        (dict(temperature=0.2, max_logit_scale=2), "temperature must be at least 1 / max_logit_scale = 0.5"),
        (dict(learn_temperature=1), "learn_temperature must be True or False, got 1"),
        (dict(learn_temperature="yes"), "learn_temperature must be True or False, got 'yes'"),
        (dict(max_logit_scale=0), "max_logit_scale must be a positive number, got 0"),
        (dict(max_logit_scale=float("inf")), "max_logit_scale must be a positive number, got inf"),
        (dict(projection_dim=0), "projection_dim must be a positive integer, got 0"),
        (dict(num_layers=0), "num_layers must be a positive integer, got 0"),
        (dict(block_size=2.5), "block_size must be a positive integer, got 2.5"),
    ],
)
def test_bad_settings_are_refused_with_what_was_expected(arguments, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        kc.methods.CLIP(**arguments)


def test_a_locked_image_tower_stays_put_while_the_text_tower_and_projections_learn(rng):
    """LiT: an image encoder trained before (SimCLR, say) is frozen with `trainable = False`; the rest trains."""
    model = clip_model()
    model.encoder.trainable = False
    images, captions = images_and_captions(rng)
    locked = [w.copy() for w in model.encoder.get_weights()]
    free = [w.copy() for w in model.pair_encoder.get_weights() + model.method.get_weights()]
    model.fit(one_batch(images, captions), epochs=2, verbose=0)
    for before, after in zip(locked, model.encoder.get_weights()):
        np.testing.assert_array_equal(before, after)
    moved = [not np.allclose(b, a) for b, a in zip(free, model.pair_encoder.get_weights() + model.method.get_weights())]
    assert all(moved)  # the caption tower, both projections and the logit scale
