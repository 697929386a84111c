import keras
import numpy as np
import pytest

from keras_contrastive.augment.random_brightness_scale import RandomBrightnessScale


def test_each_image_is_scaled_by_its_own_factor_within_the_range(seed):
    images = np.full((400, 4, 4, 3), 100.0, np.float32)
    images[:, 0, 0, :] = 0.0  # the range's low end stays where it is
    out = RandomBrightnessScale(0.8, seed=seed)(images).numpy()
    factors = out[:, 1, 1, 0] / 100.0
    expected = np.broadcast_to(factors[:, None, None, None] * 100.0, out[:, 1:, 1:, :].shape)
    np.testing.assert_allclose(out[:, 1:, 1:, :], expected, rtol=1e-6)  # one factor per image, every pixel
    assert np.all(out[:, 0, 0, :] == 0.0)
    assert factors.min() >= 0.2 - 1e-6 and factors.max() <= 1.8 + 1e-6
    assert factors.min() < 0.3 and factors.max() > 1.7  # the whole range is drawn
    assert abs(factors.mean() - 1.0) < 0.06 and len(np.unique(factors.round(5))) > 390


def test_bright_pixels_are_clipped_to_the_range_and_white_stays_white_when_brighter(seed):
    white = np.full((50, 3, 3, 3), 255.0, np.float32)
    out = RandomBrightnessScale(0.8, seed=seed)(white).numpy()
    assert out.max() <= 255.0
    darker = out[:, 0, 0, 0] < 255.0
    assert 0 < darker.sum() < 50  # the darkened ones only: a brighter white is still white
    assert np.all(out[~darker] == 255.0)


def test_inference_leaves_images_alone_and_config_round_trips():
    layer = RandomBrightnessScale(0.4, value_range=(0, 1), seed=3)
    images = np.random.default_rng(0).random((2, 3, 3, 1)).astype(np.float32)
    np.testing.assert_array_equal(layer(images, training=False).numpy(), images)
    again = RandomBrightnessScale.from_config(layer.get_config())
    assert (again.factor, again.value_range, again.seed) == (0.4, (0.0, 1.0), 3)
    assert isinstance(keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer)),
                      RandomBrightnessScale)


@pytest.mark.parametrize("factor", [-0.1, 1.5, float("nan")])
def test_a_factor_outside_zero_to_one_is_refused(factor):
    with pytest.raises(ValueError, match="factor"):
        RandomBrightnessScale(factor)
