import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.augment import simclr


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
    assert np.all(per_image_difference > 0)


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
