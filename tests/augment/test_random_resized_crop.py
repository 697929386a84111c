import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_contrastive.augment import RandomResizedCrop


def coordinate_images(batch, size):
    """Images whose pixel value encodes its column: crops can be read back from the output."""
    columns = np.tile(np.arange(size, dtype=np.float32), (size, 1))
    return np.repeat(columns[None, :, :, None], batch, axis=0)


def test_output_shape_dtype_and_range():
    images = np.random.default_rng(0).integers(0, 256, size=(16, 28, 28, 1)).astype("uint8")
    out = RandomResizedCrop(20, scale=(0.2, 1.0))(images)
    assert out.shape == (16, 20, 20, 1) and out.dtype == tf.float32
    assert float(tf.reduce_min(out)) >= 0 and float(tf.reduce_max(out)) <= 255


def test_each_image_gets_its_own_box_within_the_scale_range():
    size, batch = 64, 256
    crop = RandomResizedCrop(size, scale=(0.25, 0.5), ratio=(1.0, 1.0))
    out = crop(coordinate_images(batch, size)).numpy()[..., 0]
    widths = out[:, 0, -1] - out[:, 0, 0]  # spanned columns, in pixels
    lefts = out[:, 0, 0]
    assert len(np.unique(np.round(lefts, 3))) > batch // 2
    # Square boxes of area 0.25..0.5 span sqrt(area) of the width (minus one pixel step).
    fraction = (widths + (widths / (size - 1))) / size
    assert fraction.min() >= np.sqrt(0.25) - 0.03 and fraction.max() <= np.sqrt(0.5) + 0.03


def test_full_scale_square_crop_is_the_identity():
    images = np.random.default_rng(1).uniform(0, 255, size=(4, 10, 10, 3)).astype("float32")
    out = RandomResizedCrop(10, scale=(1.0, 1.0), ratio=(1.0, 1.0))(images)
    np.testing.assert_allclose(out.numpy(), images, atol=1e-3)


def test_seeded_layers_repeat_and_config_round_trips():
    images = coordinate_images(8, 16)
    first = RandomResizedCrop(12, seed=7)(images)
    second = RandomResizedCrop(12, seed=7)(images)
    np.testing.assert_allclose(first.numpy(), second.numpy())
    layer = RandomResizedCrop(12, scale=(0.3, 0.9), ratio=(0.5, 2.0), seed=3)
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert again.get_config() == layer.get_config()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(size=0), "size must be a positive integer"),
        (dict(size=8, scale=(0.5, 0.2)), "scale must satisfy"),
        (dict(size=8, ratio=(0.0, 1.0)), "ratio must satisfy"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RandomResizedCrop(**kwargs)


def test_unbatched_image_is_refused():
    with pytest.raises(ValueError, match=r"batch of images"):
        RandomResizedCrop(8)(np.zeros((8, 8, 1), "float32"))


def test_a_static_batch_draws_boxes_of_a_constant_shape_and_the_crops_of_a_dynamic_one():
    # TF's graph cost model reads shapes from the graph: boxes whose count comes
    # from a Shape op are unknown to it, and it warned once per traced pipeline.
    images = tf.constant(coordinate_images(6, 28))
    static = tf.function(RandomResizedCrop(20, seed=5)).get_concrete_function(tf.TensorSpec((6, 28, 28, 1)))
    dynamic = tf.function(RandomResizedCrop(20, seed=5)).get_concrete_function(tf.TensorSpec((None, 28, 28, 1)))
    draws = [op for op in static.graph.get_operations() if op.type.startswith("StatelessRandomUniform")]
    assert len(draws) == 4 and all(op.inputs[0].op.type == "Const" for op in draws)
    # The same random boxes; constant folding of the static graph moves the last bits.
    np.testing.assert_allclose(static(images).numpy(), dynamic(images).numpy(), atol=1e-4)
