import json
import sys

import keras
import numpy as np
import pytest

from keras_contrastive.encoders import hub_backbone

keras_hub = pytest.importorskip("keras_hub")


def tiny_resnet(**kwargs):
    return keras_hub.models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64, 16],
        stackwise_num_blocks=[1, 1], stackwise_num_strides=[1, 2], block_type="basic_block", **kwargs,
    )


def test_a_local_preset_loads_with_its_weights_and_image_converter(tmp_path, rng):
    backbone = tiny_resnet()
    backbone.save_to_preset(tmp_path)
    keras_hub.layers.ImageConverter(scale=1 / 127.5, offset=-1.0).save_to_preset(tmp_path)
    encoder = hub_backbone(tmp_path, (32, 32, 3))
    assert encoder.output_shape == (None, 16)
    loaded = encoder.get_layer(backbone.name)
    for saved, weight in zip(backbone.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(saved, weight)
    images = rng.integers(0, 256, size=(2, 32, 32, 3)).astype(np.uint8)
    expected = backbone.predict(images / 127.5 - 1.0, verbose=0).mean(axis=(1, 2))
    np.testing.assert_allclose(encoder.predict(images, verbose=0), expected, atol=1e-4)


def test_a_config_or_a_backbone_starts_from_pixels_in_zero_one(tmp_path, rng):
    backbone = tiny_resnet()
    backbone.save_to_preset(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    from_config = hub_backbone(config, (32, 32, 3), pooling="max")
    assert from_config.output_shape == (None, 16)
    assert not np.array_equal(from_config.get_layer(backbone.name).get_weights()[0], backbone.get_weights()[0])
    encoder = hub_backbone(backbone, (32, 32, 3))  # no preset: no converter, pixels / 255
    images = rng.integers(0, 256, size=(2, 32, 32, 3)).astype(np.float32)
    expected = backbone.predict(images / 255.0, verbose=0).mean(axis=(1, 2))
    np.testing.assert_allclose(encoder.predict(images, verbose=0), expected, atol=1e-4)


def test_token_outputs_are_pooled_and_the_encoder_saves(tmp_path, rng):
    vit = keras_hub.models.ViTBackbone(image_shape=(32, 32, 3), patch_size=8, num_layers=1, num_heads=2,
                                       hidden_dim=16, mlp_dim=32)
    encoder = hub_backbone(vit, (32, 32, 3))
    assert encoder.output_shape == (None, 16)
    encoder.save(tmp_path / "encoder.keras")
    images = rng.integers(0, 256, size=(2, 32, 32, 3)).astype(np.uint8)
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "encoder.keras").predict(images, verbose=0),
                               encoder.predict(images, verbose=0), atol=1e-5)


def test_what_is_not_a_local_image_backbone_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is not a local keras-hub preset directory"):
        hub_backbone("resnet_50_imagenet", (32, 32, 3))
    with pytest.raises(ValueError, match="takes images of 3 channels, got input_shape"):
        hub_backbone(tiny_resnet(), (32, 32, 1))
    with pytest.raises(ValueError, match="must be a local preset directory, a serialised backbone config"):
        hub_backbone(42, (32, 32, 3))


def test_a_missing_keras_hub_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_hub", None)
    with pytest.raises(ImportError, match=r"pip install keras-contrastive\[hub\]"):
        hub_backbone("preset", (32, 32, 3))
