import keras
import numpy as np
import pytest

from keras_contrastive.augment import RandomApply


class AddOne(keras.layers.Layer):
    def call(self, images, training=None):
        return images + 1.0


def test_transforms_about_rate_of_the_images_each_on_its_own():
    images = np.zeros((4000, 2, 2, 1), "float32")
    out = RandomApply(AddOne(), rate=0.3)(images).numpy()
    changed = out.reshape(len(out), -1).max(axis=1) == 1.0
    unchanged = out.reshape(len(out), -1).max(axis=1) == 0.0
    assert np.all(changed | unchanged)
    assert 0.26 < changed.mean() < 0.34


@pytest.mark.parametrize("rate, expected", [(0.0, 0.0), (1.0, 1.0)])
def test_rates_zero_and_one(rate, expected):
    out = RandomApply(AddOne(), rate=rate)(np.zeros((50, 2, 2, 1), "float32")).numpy()
    np.testing.assert_array_equal(out, expected)


def test_config_round_trip_keeps_the_wrapped_layer():
    layer = RandomApply(keras.layers.RandomContrast(0.3), rate=0.6, seed=1)
    again = RandomApply.from_config(layer.get_config())
    assert again.rate == 0.6 and isinstance(again.layer, keras.layers.RandomContrast)
    assert again.layer.get_config()["factor"] == layer.layer.get_config()["factor"]


def test_rate_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match=r"rate must be a probability in \[0, 1\]"):
        RandomApply(AddOne(), rate=1.5)
