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
