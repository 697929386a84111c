"""keras-hub image backbones, from a local preset directory or a config, as encoders of raw images."""

from __future__ import annotations

import os

import keras

from keras_contrastive.encoders.pixel_scaling import image_input
from keras_contrastive.validation import check_choice

_POOLING = {
    ("avg", 4): keras.layers.GlobalAveragePooling2D,
    ("max", 4): keras.layers.GlobalMaxPooling2D,
    ("avg", 3): keras.layers.GlobalAveragePooling1D,
    ("max", 3): keras.layers.GlobalMaxPooling1D,
}


def import_keras_hub():
    """The `keras_hub` module, or an ImportError saying how to install it (it is an optional dependency)."""
    try:
        import keras_hub
    except ImportError as error:
        raise ImportError(
            "keras-hub backbones need the optional dependency keras-hub: pip install keras-contrastive[hub]"
        ) from error
    return keras_hub


def _backbone_and_converter(keras_hub, preset_or_config):
    """The backbone, and the preset's own image converter or None."""
    if isinstance(preset_or_config, keras_hub.models.Backbone):
        return preset_or_config, None
    if isinstance(preset_or_config, dict):
        backbone = keras.saving.deserialize_keras_object(preset_or_config)
        if not isinstance(backbone, keras_hub.models.Backbone):
            raise ValueError(f"The config describes a {type(backbone).__name__}, not a keras_hub.models.Backbone.")
        return backbone, None
    if isinstance(preset_or_config, (str, os.PathLike)):
        preset = os.fspath(preset_or_config)
        if not os.path.isfile(os.path.join(preset, "config.json")):
            raise ValueError(
                f"{preset!r} is not a local keras-hub preset directory (one holding config.json). Presets are "
                "not downloaded here: write one with backbone.save_to_preset(directory), or download it "
                "where there is internet and copy the directory."
            )
        backbone = keras_hub.models.Backbone.from_preset(preset)
        has_converter = os.path.isfile(os.path.join(preset, "image_converter.json"))
        return backbone, keras_hub.layers.ImageConverter.from_preset(preset) if has_converter else None
    raise ValueError(
        "preset_or_config must be a local preset directory, a serialised backbone config "
        "({'class_name': ..., 'config': ...}, as in a preset's config.json) or a keras_hub.models.Backbone, "
        f"got {type(preset_or_config).__name__}."
    )


def hub_backbone(
    preset_or_config,
    input_shape: tuple[int, int, int],
    image_converter: keras.layers.Layer | None = None,
    pooling: str = "avg",
    name: str = "hub_backbone",
) -> keras.Model:
    """A keras-hub image backbone, globally pooled, that embeds raw images.

    Like the other encoders it takes raw pixel values, uint8 or float in
    [0, 255]. They go through `image_converter`, else through the preset's
    own image converter when the directory has one (`image_converter.json`,
    the backbone's resizing and normalisation), else they are scaled to
    [0, 1]. The backbone's feature map (or sequence of tokens, for a ViT) is
    pooled globally to `(batch, dim)`. A preset directory loads its weights
    (continue pretraining from them); a config or a backbone built from its
    class starts from random weights. Nothing is downloaded.

    keras-hub is an optional dependency: `pip install keras-contrastive[hub]`.

    Args:
        preset_or_config: A local preset directory (as written by
            `backbone.save_to_preset`), a serialised backbone
            `{"class_name": ..., "config": ...}` (a preset's `config.json`,
            or `keras.saving.serialize_keras_object(backbone)`), or a
            `keras_hub.models.Backbone` (used as it is, weights shared).
        input_shape: `(height, width, channels)` of the raw images.
        image_converter: A `keras_hub.layers.ImageConverter` (or any layer)
            from raw pixels to the backbone's input, overriding the preset's.
        pooling: `"avg"` or `"max"`, the global pooling of the backbone's output.
        name: The encoder's name.

    Returns:
        A functional `keras.Model` from raw images in [0, 255] to
        `(batch, dim)` embeddings; the backbone is its layer of the
        backbone's name.

    Raises:
        ImportError: if keras-hub is not installed.
        ValueError: for what is not a local preset, config or backbone, a
            backbone that does not take one image input of `input_shape`'s
            channels, or an unknown pooling.

    Example:
    >>> backbone = keras_hub.models.ResNetBackbone(
    ...     input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64, 128],
    ...     stackwise_num_blocks=[1, 1], stackwise_num_strides=[1, 2], block_type="basic_block")
    >>> backbone.save_to_preset("my_resnet")
    >>> hub_backbone("my_resnet", (64, 64, 3)).output_shape
    (None, 128)
    """
    keras_hub = import_keras_hub()
    pooling = check_choice(pooling, "pooling", ("avg", "max"))
    backbone, preset_converter = _backbone_and_converter(keras_hub, preset_or_config)
    if len(backbone.inputs) != 1 or len(backbone.outputs) != 1:
        raise ValueError(
            f"Expected an image backbone with one input and one output, got {type(backbone).__name__} with "
            f"{len(backbone.inputs)} inputs and {len(backbone.outputs)} outputs."
        )
    channels = backbone.inputs[0].shape[-1]
    if len(input_shape) == 3 and channels is not None and channels != input_shape[-1]:
        raise ValueError(
            f"{type(backbone).__name__} takes images of {channels} channels, got input_shape {tuple(input_shape)}."
        )
    inputs, scaled = image_input(input_shape)
    converter = image_converter or preset_converter
    features = backbone(scaled if converter is None else converter(inputs))
    rank = len(features.shape)
    if rank != 2:
        if (pooling, rank) not in _POOLING:
            raise ValueError(
                f"Expected a backbone output of rank 2, 3 or 4, got shape {features.shape} from "
                f"{type(backbone).__name__}."
            )
        features = _POOLING[(pooling, rank)](name="embedding")(features)
    return keras.Model(inputs, features, name=name)
