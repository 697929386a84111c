import keras
import numpy as np
import pytest

from keras_contrastive.encoders import resnet18, small_cnn


def test_small_cnn_shape_and_pixel_scaling_inside():
    encoder = small_cnn((28, 28, 1))
    assert encoder.output_shape == (None, 128)
    images = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28, 1))
    scaled_input = keras.Model(encoder.input, encoder.get_layer("scale_pixels").output)
    np.testing.assert_allclose(scaled_input(images.astype("float32")).numpy(), images / 255.0, rtol=1e-6)
    np.testing.assert_allclose(
        encoder.predict(images.astype("uint8"), verbose=0),
        encoder.predict(images.astype("float32"), verbose=0),
        atol=1e-6,
    )


def test_small_cnn_widths_and_small_inputs():
    encoder = small_cnn((8, 8, 1), widths=(16, 32))
    assert encoder.output_shape == (None, 32)
    assert encoder.predict(np.zeros((2, 8, 8, 1)), verbose=0).shape == (2, 32)


def test_small_cnn_pool_grid_appends_the_last_stage_averaged_over_each_region():
    encoder = small_cnn((28, 28, 1), widths=(4, 8, 16), pool_grid=2)
    assert encoder.output_shape == (None, 16 * 5)
    images = np.random.default_rng(1).integers(0, 256, size=(3, 28, 28, 1)).astype("float32")
    stage = keras.Model(encoder.input, encoder.get_layer("stage3b_relu").output).predict(images, verbose=0)
    assert stage.shape[1:3] == (7, 7)
    # Regions of ceil(7 / 2) = 4 rows and columns from floor(i * 7 / 2): [0, 4) and [3, 7), overlapping.
    quarters = [stage[:, r : r + 4, c : c + 4].mean(axis=(1, 2)) for r in (0, 3) for c in (0, 3)]
    expected = np.concatenate([stage.mean(axis=(1, 2)), np.stack(quarters, axis=1).reshape(3, -1)], axis=1)
    np.testing.assert_allclose(encoder.predict(images, verbose=0), expected, rtol=1e-5, atol=1e-6)
    restored = keras.Model.from_config(encoder.get_config())
    assert restored.output_shape == encoder.output_shape
    with pytest.raises(ValueError, match="pool_grid must be an integer of at least 0"):
        small_cnn((28, 28, 1), pool_grid=-1)


def test_resnet18_has_the_cifar_stem_and_eighteen_weighted_layers():
    encoder = resnet18((32, 32, 3), width=8)
    assert encoder.output_shape == (None, 64)
    convs = [l for l in encoder.layers if isinstance(l, keras.layers.Conv2D)]
    stem = convs[0]
    assert stem.kernel_size == (3, 3) and stem.strides == (1, 1)
    assert not any(isinstance(l, keras.layers.MaxPooling2D) for l in encoder.layers)
    main_path = [c for c in convs if "shortcut" not in c.name]
    assert len(main_path) == 17  # + the final embedding head makes ResNet-18's 18
    assert encoder.get_layer("stage4_block2_out").output.shape[1:3] == (4, 4)


@pytest.mark.parametrize("shape", [(28, 28), (0, 28, 1)])
def test_bad_input_shape_is_refused(shape):
    with pytest.raises(ValueError, match=r"input_shape must be \(height, width, channels\)"):
        small_cnn(shape)


def test_encoders_batch_normalise_with_the_fused_layer():
    from keras_contrastive.layers import FusedBatchNormalization

    for encoder in (small_cnn((8, 8, 1), widths=(4, 8)), resnet18((8, 8, 3), width=4)):
        norms = [l for l in encoder.layers if "BatchNormalization" in type(l).__name__]
        assert norms and all(isinstance(l, FusedBatchNormalization) for l in norms)
