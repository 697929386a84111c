"""Decoding image files of any format and mode to uint8 pixels, inside `tf.data`."""

from __future__ import annotations

import numbers

import tensorflow as tf

# Every file format `tf.io.decode_image` reads, by extension (matched case-insensitively).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

_BMP_MAGIC = b"BM"


def decode_image(contents: tf.Tensor, channels: int = 3) -> tf.Tensor:
    """Decodes the bytes of a JPEG, PNG, GIF or BMP file to `channels` uint8 channels.

    Any mode is read: grayscale, RGB, CMYK JPEG, grayscale or RGB with alpha,
    palette PNG and BMP, 16-bit PNG (scaled to 8 bits); a GIF gives its first
    frame. Transparent pixels are composited on white; an alpha channel that
    is zero everywhere (as 32-bit BMPs often store it) counts as opaque.
    Colour becomes gray by `tf.image.rgb_to_grayscale`, gray becomes colour by
    repeating it. The format is read from the content, not from a file name.

    Args:
        contents: A scalar string tensor, the file's bytes.
        channels: 1 or 3, the channels of the result.

    Returns:
        A uint8 tensor `(height, width, channels)`.

    Raises:
        tf.errors.InvalidArgumentError: When run on bytes that are no image
            TensorFlow can decode (empty, truncated, or another format).

    Example:
    >>> image = decode_image(tf.io.read_file("photo.png"), channels=3)
    """
    return _to_uint8(_decode_float(contents, channels))


def _decode_float(contents: tf.Tensor, channels: int) -> tf.Tensor:
    """`decode_image` before rounding: float32 `(height, width, channels)` in [0, 255]."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}.")
    # JPEGs with libjpeg's accurate integer IDCT, which decodes exactly as Pillow does: decode_image's fast
    # default was 1.9 levels off Pillow on average over 40 noise images (9 at most), and no faster here
    # (a 512x384 JPEG: 1.8 to 2.4 ms either way).
    image = tf.cond(tf.io.is_jpeg(contents),
                    lambda: tf.io.decode_jpeg(contents, channels=0, dct_method="INTEGER_ACCURATE"),
                    lambda: tf.io.decode_image(contents, channels=0, expand_animations=False, dtype=tf.uint8))
    image = tf.cond(tf.strings.substr(contents, 0, 2) == _BMP_MAGIC,
                    lambda: _bmp_palette_to_rgb(contents, image), lambda: image)
    image = tf.cast(image, tf.float32)
    depth = tf.shape(image)[-1]
    image = tf.cond(depth % 2 == 0, lambda: _composite_on_white(image), lambda: image)
    depth = tf.shape(image)[-1]
    if channels == 3:
        image = tf.cond(depth == 1, lambda: tf.tile(image, [1, 1, 3]), lambda: image)
    else:
        image = tf.cond(depth == 3, lambda: tf.image.rgb_to_grayscale(image), lambda: image)
    return tf.ensure_shape(image, (None, None, channels))


def resize_image(image: tf.Tensor, image_size: int | tuple[int, int]) -> tf.Tensor:
    """Resizes uint8 images (one `(H, W, C)` or a batch) to `image_size`, keeping uint8.

    Bilinear with antialiasing, so that large pictures shrunk to a few dozen
    pixels keep their thin lines instead of aliasing.

    Args:
        image: uint8 tensor `(H, W, C)` or `(batch, H, W, C)`.
        image_size: An int for a square, or `(height, width)`.

    Returns:
        A uint8 tensor of the same rank, `image_size` high and wide.

    Example:
    >>> resize_image(tf.zeros((300, 200, 3), tf.uint8), 64).shape
    TensorShape([64, 64, 3])
    """
    return _to_uint8(_resize_float(image, image_size))


def load_image(path: tf.Tensor, image_size: int | tuple[int, int], channels: int = 3) -> tf.Tensor:
    """Reads, decodes and resizes one image file: `decode_image`, then `resize_image`.

    Args:
        path: A scalar string tensor, the file's path.
        image_size: An int for a square, or `(height, width)`.
        channels: 1 or 3.

    Returns:
        A uint8 tensor `(height, width, channels)`.

    Example:
    >>> tf.data.Dataset.from_tensor_slices(paths).map(lambda path: load_image(path, 64))
    """
    return _to_uint8(_resize_float(_decode_float(tf.io.read_file(path), channels), image_size))


def image_size_pair(image_size: int | tuple[int, int]) -> tuple[int, int]:
    """`(height, width)` from an int or a pair of positive ints; a clear ValueError otherwise.

    Example:
    >>> image_size_pair(64)
    (64, 64)
    """
    pair = tuple(image_size) if isinstance(image_size, (tuple, list)) else (image_size, image_size)
    if len(pair) != 2 or not all(
        isinstance(side, numbers.Integral) and not isinstance(side, bool) and side > 0 for side in pair
    ):
        raise ValueError(f"image_size must be a positive int or a (height, width) pair of them, got {image_size!r}.")
    return int(pair[0]), int(pair[1])


def _resize_float(image: tf.Tensor, image_size: int | tuple[int, int]) -> tf.Tensor:
    return tf.image.resize(image, image_size_pair(image_size), method="bilinear", antialias=True)


def _to_uint8(image: tf.Tensor) -> tf.Tensor:
    return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)


def _composite_on_white(image: tf.Tensor) -> tf.Tensor:
    """Gray+alpha or RGB+alpha float pixels to gray or RGB over a white background."""
    color, alpha = image[..., :-1], image[..., -1:] / 255.0
    alpha = tf.where(tf.reduce_max(alpha) > 0.0, alpha, tf.ones_like(alpha))
    return 255.0 + alpha * (color - 255.0)


def _bmp_palette_to_rgb(contents: tf.Tensor, image: tf.Tensor) -> tf.Tensor:
    """Looks up an 8-bit BMP's palette; other BMPs are returned as decoded.

    TensorFlow's BMP decoder (which reads the 40-byte and later headers)
    returns the palette indices of an 8-bit BMP as gray levels, which is
    right only for a gray-ramp palette.
    """
    header = tf.io.decode_raw(tf.strings.substr(contents, 14, 36), tf.uint8)

    def little_endian(offset, size):
        return tf.reduce_sum(tf.cast(header[offset:offset + size], tf.int32) * [256**i for i in range(size)])

    header_size, bits_per_pixel, colors_used = little_endian(0, 4), little_endian(14, 2), little_endian(32, 4)

    def lookup():
        count = tf.where(colors_used > 0, colors_used, 256)
        table = tf.io.decode_raw(tf.strings.substr(contents, 14 + header_size, 4 * count), tf.uint8)
        table = tf.reshape(table, (-1, 4))[:, 2::-1]  # stored as BGRx
        indices = tf.minimum(tf.cast(image[..., 0], tf.int32), tf.shape(table)[0] - 1)
        return tf.gather(table, indices)

    return tf.cond(bits_per_pixel == 8, lookup, lambda: image)
