"""The SimCLR view preset: crop, flip, colour jitter, grayscale, optional blur."""

from __future__ import annotations

import keras

from keras_contrastive.augment.random_apply import RandomApply
from keras_contrastive.augment.random_brightness_scale import RandomBrightnessScale
from keras_contrastive.augment.random_resized_crop import RandomResizedCrop

#: Colour views of at least this size are blurred by default.
BLUR_MIN_SIZE = 64


def simclr(
    image_size: int,
    channels: int = 3,
    crop_scale: tuple[float, float] = (0.08, 1.0),
    jitter_strength: float | None = None,
    jitter_rate: float = 0.8,
    grayscale_rate: float = 0.2,
    blur: bool | None = None,
    horizontal_flip: bool = True,
    seed: int | None = None,
) -> keras.layers.Pipeline:
    """SimCLR's augmentation, for colour images of 32 to 224 pixels and adapted to one-channel images.

    Random resized crop, horizontal flip (optional), colour jitter with probability
    `jitter_rate` (brightness, contrast, saturation `0.8 * s`, hue `0.2 * s`
    for `s = jitter_strength`; brightness a scale of the pixels as in
    torchvision, `RandomBrightnessScale`; only brightness, added as Keras
    does, and contrast for one channel),
    grayscale with probability `grayscale_rate` (colour images only) and,
    if `blur`, Gaussian blur with probability 0.5, its kernel a tenth of the
    image size (odd, at least 3) and its sigma drawn from [0.1, 2.0], as in
    the paper (Keras's blur layer draws one sigma per batch, not per image).
    Works on batches of raw images in [0, 255], inside `tf.data` and in a
    model's graph; each image gets its own crop, flip, jitter and grayscale.

    The defaults follow the paper for colour images: full colour jitter
    (`s = 1.0`), and blur from 64 pixels up (the paper blurs ImageNet's 224
    pixels, not CIFAR's 32). One-channel images get `s = 0.5` and no blur.

    Args:
        image_size: Height and width of the views.
        channels: 1 (grayscale datasets) or 3.
        crop_scale: Area range of the random crop. The paper's (0.08, 1.0)
            suits natural images; small grayscale images do better with
            gentler crops such as (0.2, 1.0).
        jitter_strength: The paper's colour-distortion strength `s`; None
            for 1.0 with 3 channels, 0.5 with 1.
        jitter_rate: Probability of colour jitter.
        grayscale_rate: Probability of grayscale conversion (3 channels only).
        blur: Whether to add Gaussian blur; None for blur on colour images
            of `image_size >= 64`.
        horizontal_flip: Whether to flip half the views; turn it off where a
            mirror image is another class (digits).
        seed: Optional seed.

    Returns:
        A `keras.layers.Pipeline` mapping `(batch, H, W, channels)` raw images
        to float32 `(batch, image_size, image_size, channels)` views in [0, 255].

    Example:
    >>> augment = simclr(28, channels=1, crop_scale=(0.2, 1.0))
    >>> views = make_views(images, augment, batch_size=256)
    >>> colour = simclr(96)  # full colour jitter, blur kernel 9
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}.")
    if jitter_strength is None:
        jitter_strength = 1.0 if channels == 3 else 0.5
    if blur is None:
        blur = channels == 3 and image_size >= BLUR_MIN_SIZE
    s = float(jitter_strength)
    if channels == 3:
        # SimCLR's brightness scales the pixels (RandomBrightnessScale); Keras's adds to them.
        jitter = keras.layers.Pipeline([
            RandomBrightnessScale(0.8 * s, seed=seed),
            keras.layers.RandomColorJitter(value_range=(0, 255), contrast_factor=0.8 * s, saturation_factor=0.8 * s,
                                           hue_factor=0.2 * s, seed=seed),
        ])
    else:
        # One channel keeps Keras's additive brightness, the setting the Fashion-MNIST recipes were tuned with.
        jitter = keras.layers.RandomColorJitter(
            value_range=(0, 255), brightness_factor=0.8 * s, contrast_factor=0.8 * s, seed=seed
        )
    layers = [RandomResizedCrop(image_size, scale=crop_scale, seed=seed)]
    if horizontal_flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    layers.append(RandomApply(jitter, rate=jitter_rate, seed=seed))
    if channels == 3 and grayscale_rate > 0:
        layers.append(keras.layers.RandomGrayscale(factor=grayscale_rate, seed=seed))
    if blur:
        # factor=(1, 1) blurs every image it is given; RandomApply picks half
        # of them (factor=1.0 alone would draw a rate per image from [0, 1]).
        blur_layer = keras.layers.RandomGaussianBlur(
            factor=(1.0, 1.0), kernel_size=blur_kernel_size(image_size), sigma=(0.1, 2.0),
            value_range=(0, 255), seed=seed,
        )
        layers.append(RandomApply(blur_layer, rate=0.5, seed=seed))
    return keras.layers.Pipeline(layers, name="simclr_views")


def blur_kernel_size(image_size: int) -> int:
    """SimCLR's blur kernel: a tenth of the image size, made odd, at least 3.

    Example:
    >>> blur_kernel_size(224), blur_kernel_size(64)
    (23, 7)
    """
    return max(3, image_size // 10 | 1)
