"""Any `keras.applications` architecture as an encoder of raw images."""

from __future__ import annotations

import os

import keras

from keras_contrastive.encoders.application_preprocessing import (
    ApplicationPreprocessing,
    application_constructors,
    check_application_name,
)
from keras_contrastive.encoders.pixel_scaling import image_input
from keras_contrastive.validation import check_choice

_WEIGHTS_SUFFIXES = (".weights.h5", ".h5")


def _check_weights(weights):
    if weights is None or weights == "imagenet":
        return weights
    if not isinstance(weights, (str, os.PathLike)) or not str(weights).endswith(_WEIGHTS_SUFFIXES):
        raise ValueError(
            "weights must be None (random initialisation), 'imagenet' or the path of a weights file "
            f"ending in {', '.join(_WEIGHTS_SUFFIXES)}; got {weights!r}."
        )
    if not os.path.isfile(weights):
        raise FileNotFoundError(f"The weights file {str(weights)!r} does not exist.")
    return str(weights)


def application(
    name: str,
    input_shape: tuple[int, int, int],
    weights: str | os.PathLike | None = None,
    pooling: str = "avg",
    model_name: str | None = None,
    **kwargs,
) -> keras.Model:
    """A `keras.applications` backbone (without its classifier) that embeds raw images.

    Like the other encoders it takes raw pixel values, uint8 or float in
    [0, 255]: they are scaled to [0, 1] by the shared stem, then given to the
    architecture as its own `preprocess_input` expects (`ApplicationPreprocessing`;
    grayscale images are repeated to three channels). The backbone is built
    with `include_top=False` and the global `pooling`, so the output is
    `(batch, dim)`; it is the encoder's layer named after the architecture
    (`encoder.get_layer(name)`), e.g. to freeze it.

    To continue pretraining a backbone that already has weights, pass its
    weights file: the no-top file Keras downloads (e.g.
    `mobilenet_v3_small_224_1.0_float_no_top_v2.h5`, copied from a machine
    with internet), or one written by `backbone.save_weights(...)`.
    `weights="imagenet"` downloads that file into `~/.keras/models/` on first
    use, so it fails on a machine without internet unless the file is
    already there.

    Args:
        name: The architecture, spelt as in `keras.applications` (case-sensitive),
            e.g. `"ResNet50"`, `"MobileNetV3Small"`, `"EfficientNetB0"`.
        input_shape: `(height, width, channels)` of the raw images; one or
            three channels.
        weights: None for random initialisation, `"imagenet"`, or the path
            of a weights file of the backbone without top (`.h5`,
            `.weights.h5`).
        pooling: `"avg"` or `"max"`, the global pooling of the last feature map.
        model_name: The encoder's name; `name` in lower case by default.
        **kwargs: Further arguments of the architecture, e.g. `alpha=0.5,
            minimalistic=True` for `MobileNetV3Small`.

    Returns:
        A functional `keras.Model` from raw images in [0, 255] to
        `(batch, dim)` embeddings.

    Raises:
        ValueError: for an unknown architecture, pooling or weights argument.
        FileNotFoundError: if the weights file does not exist.

    Example:
    >>> encoder = application("MobileNetV3Small", (32, 32, 3), minimalistic=True, alpha=0.75)
    >>> encoder.output_shape
    (None, 432)
    """
    constructor = application_constructors()[check_application_name(name)]
    pooling = check_choice(pooling, "pooling", ("avg", "max"))
    weights = _check_weights(weights)
    inputs, scaled = image_input(input_shape)
    pixels = ApplicationPreprocessing(name, name="application_preprocessing")(scaled)
    backbone = constructor(
        include_top=False, weights=weights, input_shape=(*input_shape[:2], 3), pooling=pooling, **kwargs
    )
    backbone.name = name
    return keras.Model(inputs, backbone(pixels), name=model_name or name.lower())
