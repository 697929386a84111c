import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.augment import simclr
from keras_contrastive.augment.random_brightness_scale import RandomBrightnessScale
from keras_contrastive.augment.simclr import blur_kernel_size


def fashion_like_batch(batch=64, size=28, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    images = np.zeros((batch, size, size, channels), "float32")
    images[:, 4:24, 8:20] = rng.uniform(80, 255, size=(batch, 1, 1, channels))
    return images


@pytest.mark.parametrize("channels", [1, 3])
def test_views_have_the_right_shape_and_range_and_two_calls_differ(channels):
    augment = simclr(24, channels=channels, blur=True)
    images = fashion_like_batch(channels=channels)
    a, b = augment(images), augment(images)
    assert a.shape == (64, 24, 24, channels) and a.dtype == tf.float32
    for view in (a, b):
        assert float(tf.reduce_min(view)) >= 0.0 and float(tf.reduce_max(view)) <= 255.0
    per_image_difference = tf.reduce_mean(tf.abs(a - b), axis=[1, 2, 3]).numpy()
    # Full-strength colour jitter (the default for 3 channels) can saturate a flat crop
    # to white in both views, so an image or two of 64 may rarely get equal views.
    assert np.sum(per_image_difference == 0) <= 2


def test_each_image_of_a_batch_is_augmented_differently():
    images = np.repeat(fashion_like_batch(1), 32, axis=0)
    views = simclr(28, channels=1)(images).numpy().reshape(32, -1)
    assert len(np.unique(views.round(2), axis=0)) == 32


def test_works_inside_tf_data_with_fresh_randomness_every_epoch():
    augment = simclr(28, channels=1)
    dataset = tf.data.Dataset.from_tensor_slices(fashion_like_batch(16)).batch(16)
    dataset = dataset.map(augment).repeat(2)
    first, second = [batch.numpy() for batch in dataset]
    assert not np.allclose(first, second)


def test_without_horizontal_flip_a_full_scale_crop_keeps_the_image_unmirrored():
    image = np.zeros((1, 16, 16, 1), "float32")
    image[:, :, :4] = 255.0  # a bright left edge
    images = np.repeat(image, 64, axis=0)
    views = simclr(16, channels=1, crop_scale=(1.0, 1.0), jitter_rate=0.0, horizontal_flip=False)(images)
    assert np.all(views.numpy()[:, :, :2].mean(axis=(1, 2, 3)) > views.numpy()[:, :, -2:].mean(axis=(1, 2, 3)))
    flipped = simclr(16, channels=1, crop_scale=(1.0, 1.0), jitter_rate=0.0)(images).numpy()
    assert np.any(flipped[:, :, -2:].mean(axis=(1, 2, 3)) > flipped[:, :, :2].mean(axis=(1, 2, 3)))


def test_other_channel_counts_are_refused():
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        simclr(28, channels=2)


def layer_of(pipeline, kind):
    """The layers of `kind` in the pipeline, also those wrapped by RandomApply."""
    found = []
    for layer in pipeline.layers:
        inner = getattr(layer, "layer", layer)
        if isinstance(inner, kind):
            found.append((layer, inner))
    return found


@pytest.mark.parametrize("size, kernel", [(32, None), (48, None), (64, 7), (96, 9), (224, 23)])
def test_colour_defaults_blur_from_64_pixels_with_a_kernel_a_tenth_of_the_size(size, kernel):
    blurs = layer_of(simclr(size), keras.layers.RandomGaussianBlur)
    if kernel is None:
        assert blurs == []
    else:
        (wrapper, blur), = blurs
        assert blur.kernel_size == (kernel, kernel) and tuple(blur.sigma) == (0.1, 2.0)
        assert wrapper.rate == 0.5 and tuple(blur.factor) == (1.0, 1.0)


def test_colour_defaults_use_full_jitter_strength_and_one_channel_keeps_half_and_no_blur():
    (wrapper, jitter), = layer_of(simclr(64), keras.layers.Pipeline)
    scale, colour = jitter.layers
    assert wrapper.rate == 0.8
    assert isinstance(scale, RandomBrightnessScale) and scale.factor == 0.8  # SimCLR's brightness: a scale
    assert colour.brightness_factor is None and colour.contrast_factor == 0.8
    assert (colour.saturation_factor, colour.hue_factor) == (0.8, 0.2)
    (_, gray), = layer_of(simclr(64, channels=1), keras.layers.RandomColorJitter)
    assert (gray.brightness_factor, gray.contrast_factor) == (0.4, 0.4)
    assert layer_of(simclr(64, channels=1), keras.layers.RandomGaussianBlur) == []
    assert len(layer_of(simclr(32, blur=True), keras.layers.RandomGaussianBlur)) == 1
    assert layer_of(simclr(224, blur=False), keras.layers.RandomGaussianBlur) == []


def test_blur_changes_about_half_of_the_images():
    checkerboard = (np.indices((32, 32)).sum(axis=0) % 2 * 255).astype("float32")
    images = np.repeat(checkerboard[None, :, :, None], 3, axis=-1).repeat(200, axis=0)
    (wrapper, _), = layer_of(simclr(64), keras.layers.RandomGaussianBlur)
    # Keras draws one sigma per call, from [0.1, 2.0]; near 0.1 a blur changes nothing visible.
    fractions = [(np.abs(wrapper(images).numpy() - images).mean(axis=(1, 2, 3)) > 1.0).mean() for _ in range(6)]
    assert 0.38 < max(fractions) < 0.65


@pytest.mark.parametrize("size, kernel", [(8, 3), (32, 3), (64, 7), (100, 11), (224, 23)])
def test_blur_kernel_size(size, kernel):
    assert blur_kernel_size(size) == kernel
