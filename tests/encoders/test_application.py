import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.encoders import ApplicationPreprocessing, application

SMALL = dict(minimalistic=True, alpha=0.75)


def test_raw_pixels_are_preprocessed_as_the_architecture_expects(rng):
    pixels = rng.integers(0, 256, size=(2, 4, 4, 3)).astype(np.float32)
    resnet = ApplicationPreprocessing("ResNet50")(pixels / 255.0).numpy()  # caffe: BGR, ImageNet means
    np.testing.assert_allclose(resnet, pixels[..., ::-1] - [103.939, 116.779, 123.68], atol=1e-3)
    inception = ApplicationPreprocessing("InceptionV3")(pixels / 255.0).numpy()  # tf: [-1, 1]
    np.testing.assert_allclose(inception, pixels / 127.5 - 1.0, atol=1e-5)
    gray = ApplicationPreprocessing("MobileNetV3Small")(pixels[..., :1] / 255.0).numpy()  # rescales inside
    np.testing.assert_allclose(gray, np.repeat(pixels[..., :1], 3, axis=-1), atol=1e-3)


def test_an_application_embeds_uint8_and_float_images_alike(rng):
    encoder = application("MobileNetV3Small", (32, 32, 1), **SMALL)
    assert encoder.output_shape == (None, 432) and encoder.get_layer("MobileNetV3Small").input_shape[-1] == 3
    images = rng.integers(0, 256, size=(3, 32, 32, 1))
    np.testing.assert_allclose(encoder.predict(images.astype(np.uint8), verbose=0),
                               encoder.predict(images.astype(np.float32), verbose=0), atol=1e-5)
    pooled_max = application("MobileNetV3Small", (32, 32, 3), pooling="max", **SMALL)
    assert pooled_max.output_shape == (None, 432)


def test_pretraining_continues_from_the_weights_file(tmp_path, rng, seed):
    pretrained = keras.applications.MobileNetV3Small(include_top=False, weights=None, input_shape=(32, 32, 3),
                                                     pooling="avg", **SMALL)
    pretrained.save_weights(tmp_path / "backbone.weights.h5")
    encoder = application("MobileNetV3Small", (32, 32, 3), weights=tmp_path / "backbone.weights.h5", **SMALL)
    saved = pretrained.get_weights()
    starts = {}

    class FirstWeights(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            starts["weights"] = [w.copy() for w in encoder.get_layer("MobileNetV3Small").get_weights()]

    model = kc.ContrastiveModel(encoder, kc.methods.SimCLR(projection_dim=8))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    views = rng.integers(0, 256, size=(2, 8, 32, 32, 3)).astype(np.uint8)
    model.fit(tf.data.Dataset.from_tensors((views[0], views[1])), epochs=1, verbose=0, callbacks=[FirstWeights()])
    assert len(starts["weights"]) == len(saved)
    for start, weight in zip(starts["weights"], saved):
        np.testing.assert_array_equal(start, weight)
    trained = encoder.get_layer("MobileNetV3Small").get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(trained, saved))


def test_imagenet_weights_are_the_file_keras_fetches(tmp_path, monkeypatch):
    from keras.src.utils import file_utils

    imagenet = dict(minimalistic=True, alpha=1.0)  # one of the variants with ImageNet weights
    source = keras.applications.MobileNetV3Small(include_top=False, weights=None, input_shape=(32, 32, 3), **imagenet)
    source.save_weights(tmp_path / "imagenet.weights.h5")
    fetched = []

    def get_file(fname, origin, **kwargs):
        fetched.append(origin)
        return str(tmp_path / "imagenet.weights.h5")

    monkeypatch.setattr(file_utils, "get_file", get_file)
    encoder = application("MobileNetV3Small", (32, 32, 3), weights="imagenet", **imagenet)
    assert fetched and "no_top" in fetched[0]
    for loaded, weight in zip(encoder.get_layer("MobileNetV3Small").get_weights(), source.get_weights()):
        np.testing.assert_array_equal(loaded, weight)


def test_unknown_names_and_bad_weights_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown keras.applications architecture 'resnet50'.*ResNet50, ResNet50V2"):
        application("resnet50", (32, 32, 3))
    with pytest.raises(ValueError, match="weights must be None .* 'imagenet' or the path of a weights file"):
        application("MobileNetV3Small", (32, 32, 3), weights="weights.bin")
    with pytest.raises(FileNotFoundError, match="missing.weights.h5"):
        application("MobileNetV3Small", (32, 32, 3), weights=tmp_path / "missing.weights.h5")
    with pytest.raises(ValueError, match="pooling must be one of 'avg', 'max'"):
        application("MobileNetV3Small", (32, 32, 3), pooling="cls")
