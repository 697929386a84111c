import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_contrastive.data.decode import decode_image
from keras_contrastive.data.decode import image_size_pair
from keras_contrastive.data.decode import load_image
from keras_contrastive.data.decode import resize_image
from tests.data.images import HEIGHT
from tests.data.images import WIDTH
from tests.data.images import write_bad_files
from tests.data.images import write_images

@pytest.fixture(scope="module")
def images(tmp_path_factory, module_rng):
    folder = tmp_path_factory.mktemp("images")
    return folder, write_images(folder, module_rng)


def decoded(path, channels=3):
    return decode_image(tf.io.read_file(str(path)), channels).numpy()


def test_every_format_and_mode_decodes_to_the_expected_rgb_pixels(images):
    folder, expected = images
    for name, pixels in expected.items():
        image = decoded(folder / name)
        assert image.dtype == np.uint8 and image.shape == (HEIGHT, WIDTH, 3), name
        difference = np.abs(image.astype(int) - pixels)
        if name == "cmyk.jpg":  # Pillow converts CMYK to RGB with other rounding than libjpeg's
            assert difference.mean() < 3 and difference.max() <= 16, name
        else:  # JPEGs too: decoded with the accurate IDCT, as Pillow decodes them
            assert difference.max() == 0, name


def test_transparent_pixels_are_composited_on_white(tmp_path):
    pixels = np.array([[[0, 0, 0, 0], [0, 0, 0, 255], [200, 0, 100, 51], [10, 20, 30, 128]]], np.uint8)
    Image.fromarray(pixels, "RGBA").save(tmp_path / "alpha.png")
    np.testing.assert_array_equal(
        decoded(tmp_path / "alpha.png"), [[[255, 255, 255], [0, 0, 0], [244, 204, 224], [132, 137, 142]]]
    )


def test_an_alpha_channel_zero_everywhere_counts_as_opaque(tmp_path):
    pixels = np.zeros((2, 3, 4), np.uint8)
    pixels[..., :3] = [10, 200, 30]
    Image.fromarray(pixels, "RGBA").save(tmp_path / "unused_alpha.bmp")
    np.testing.assert_array_equal(decoded(tmp_path / "unused_alpha.bmp"), pixels[..., :3])


def test_one_channel_is_the_luma_of_the_colour_image(images):
    folder, expected = images
    for name in ("rgb.png", "palette.bmp", "rgba.png", "gray.png"):
        gray = decoded(folder / name, channels=1)
        assert gray.shape == (HEIGHT, WIDTH, 1)
        luma = expected[name].astype(np.float64) @ [0.2989, 0.587, 0.114]
        np.testing.assert_allclose(gray[..., 0], luma, atol=1.0, err_msg=name)


@pytest.mark.parametrize("content", [b"", b"\xff\xd8\xff\xe0 truncated", b"plain text", b"BM\x00\x01"])
def test_bytes_that_are_no_image_raise(content):
    with pytest.raises(tf.errors.InvalidArgumentError):
        decode_image(tf.constant(content))


def test_other_channel_counts_are_refused():
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        decode_image(tf.constant(b""), channels=4)


def test_load_image_resizes_inside_a_graph(images):
    folder, expected = images
    load = tf.function(lambda path: load_image(path, (4, 5)))
    image = load(tf.constant(str(folder / "rgb.png"))).numpy()
    assert image.shape == (4, 5, 3) and image.dtype == np.uint8
    same_size = tf.function(lambda path: load_image(path, (HEIGHT, WIDTH)))(tf.constant(str(folder / "rgba.png")))
    np.testing.assert_array_equal(same_size, expected["rgba.png"])


def test_resize_image_averages_when_shrinking_and_keeps_uint8():
    checkerboard = np.indices((8, 8)).sum(axis=0) % 2 * 255
    image = np.repeat(checkerboard[..., None], 3, axis=-1).astype(np.uint8)
    small = resize_image(tf.constant(image), 2).numpy()
    assert small.dtype == np.uint8 and small.shape == (2, 2, 3)
    np.testing.assert_allclose(small, 127.5, atol=1)  # antialiased: no aliasing to black or white
    batch = resize_image(tf.constant(image[None]), (3, 4))
    assert batch.shape == (1, 3, 4, 3)


@pytest.mark.parametrize("size, pair", [(64, (64, 64)), ((32, 48), (32, 48)), ([8, 9], (8, 9))])
def test_image_size_pair(size, pair):
    assert image_size_pair(size) == pair


@pytest.mark.parametrize("size", [0, -3, (64,), (64, 0), 6.5, (32.0, 32), True])
def test_bad_image_sizes_are_refused(size):
    with pytest.raises(ValueError, match="image_size must be a positive int"):
        image_size_pair(size)


def test_bad_files_helper_writes_undecodable_files(tmp_path):
    for path in write_bad_files(tmp_path):
        with pytest.raises(tf.errors.InvalidArgumentError):
            decoded(path)
