"""The SimCLR view preset: crop, flip, colour jitter, grayscale, optional blur."""

from __future__ import annotations

import keras

from keras_contrastive.augment.random_apply import RandomApply
from keras_contrastive.augment.random_resized_crop import RandomResizedCrop


def simclr(
    image_size: int,
    channels: int = 3,
    crop_scale: tuple[float, float] = (0.08, 1.0),
    jitter_strength: float = 0.5,
    jitter_rate: float = 0.8,
    grayscale_rate: float = 0.2,
    blur: bool = False,
    horizontal_flip: bool = True,
    seed: int | None = None,
) -> keras.layers.Pipeline:
    """SimCLR's augmentation, adapted to one-channel images.

    Random resized crop, horizontal flip (optional), colour jitter with probability
    `jitter_rate` (brightness, contrast, saturation `0.8 * s`, hue `0.2 * s`
    for `s = jitter_strength`; only brightness and contrast for one channel),
    grayscale with probability `grayscale_rate` (colour images only) and,
    if `blur`, Gaussian blur with probability 0.5. Works on batches of raw
    images in [0, 255], inside `tf.data` and in a model's graph; each image
    gets its own random parameters.

    Args:
        image_size: Height and width of the views.
        channels: 1 (grayscale datasets) or 3.
        crop_scale: Area range of the random crop. The paper's (0.08, 1.0)
            suits natural images; small grayscale images do better with
            gentler crops such as (0.2, 1.0).
        jitter_strength: The paper's colour-distortion strength `s`.
        jitter_rate: Probability of colour jitter.
        grayscale_rate: Probability of grayscale conversion (3 channels only).
        blur: Whether to add Gaussian blur (the paper uses it on ImageNet, not CIFAR).
        horizontal_flip: Whether to flip half the views; turn it off where a
            mirror image is another class (digits).
        seed: Optional seed.

    Returns:
        A `keras.layers.Pipeline` mapping `(batch, H, W, channels)` raw images
        to float32 `(batch, image_size, image_size, channels)` views in [0, 255].

    Example:
    >>> augment = simclr(28, channels=1, crop_scale=(0.2, 1.0))
    >>> views = make_views(images, augment, batch_size=256)
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}.")
    s = float(jitter_strength)
    color = {"saturation_factor": 0.8 * s, "hue_factor": 0.2 * s} if channels == 3 else {}
    jitter = keras.layers.RandomColorJitter(
        value_range=(0, 255),
        brightness_factor=0.8 * s,
        contrast_factor=0.8 * s,
        seed=seed,
        **color,
    )
    layers = [RandomResizedCrop(image_size, scale=crop_scale, seed=seed)]
    if horizontal_flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    layers.append(RandomApply(jitter, rate=jitter_rate, seed=seed))
    if channels == 3 and grayscale_rate > 0:
        layers.append(keras.layers.RandomGrayscale(factor=grayscale_rate, seed=seed))
    if blur:
        blur_layer = keras.layers.RandomGaussianBlur(
            factor=1.0, kernel_size=max(3, image_size // 10 | 1), sigma=(0.1, 2.0),
            value_range=(0, 255), seed=seed,
        )
        layers.append(RandomApply(blur_layer, rate=0.5, seed=seed))
    return keras.layers.Pipeline(layers, name="simclr_views")
