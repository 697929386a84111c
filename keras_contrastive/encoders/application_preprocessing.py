"""The input preprocessing of a `keras.applications` architecture, as a serialisable layer."""

from __future__ import annotations

import importlib

import keras


def application_constructors() -> dict:
    """The architectures of `keras.applications` by name, e.g. `"ResNet50"`, `"MobileNetV3Small"`.

    Returns:
        A dict from each name, spelt as in `keras.applications`, to its constructor.

    Example:
    >>> "EfficientNetB0" in application_constructors()
    True
    """
    return {
        name: getattr(keras.applications, name)
        for name in sorted(dir(keras.applications))
        if name[0].isupper() and callable(getattr(keras.applications, name))
    }


def check_application_name(name) -> str:
    """`name` if it names a `keras.applications` architecture, else a ValueError listing them all."""
    names = application_constructors()
    if not isinstance(name, str) or name not in names:
        raise ValueError(
            f"Unknown keras.applications architecture {name!r}; the names (case-sensitive) are "
            f"{', '.join(names)}."
        )
    return name


@keras.saving.register_keras_serializable(package="keras_contrastive")
class ApplicationPreprocessing(keras.layers.Layer):
    """Maps pixels in [0, 1] to the input a `keras.applications` architecture expects.

    It multiplies by 255, repeats a single grayscale channel three times (the
    architectures, and ImageNet weights, are made for RGB), then applies the
    architecture's own `preprocess_input` (caffe, torch or tf scaling; none
    for the models that rescale inside, such as MobileNetV3 and EfficientNet).

    Args:
        application: The architecture's name as in `keras.applications`,
            e.g. `"ResNet50"`.
        **kwargs: Those of `keras.layers.Layer`.

    Example:
    >>> ApplicationPreprocessing("ResNet50")(np.full((1, 2, 2, 3), 1.0)).shape
    TensorShape([1, 2, 2, 3])
    """

    def __init__(self, application: str, **kwargs):
        super().__init__(**kwargs)
        self.application = check_application_name(application)
        module = importlib.import_module(application_constructors()[application].__module__)
        self._preprocess_input = module.preprocess_input

    def call(self, inputs):
        pixels = keras.ops.cast(inputs, self.compute_dtype) * 255.0
        if pixels.shape[-1] == 1:
            pixels = keras.ops.repeat(pixels, 3, axis=-1)
        return self._preprocess_input(pixels, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)

    def get_config(self) -> dict:
        return {**super().get_config(), "application": self.application}
