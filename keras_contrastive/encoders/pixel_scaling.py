"""The input stem every built-in encoder shares: raw pixels in, [0, 1] floats out."""

from __future__ import annotations

import keras


def image_input(input_shape: tuple[int, int, int], name: str = "images"):
    """A `keras.Input` for raw images and the tensor scaled to [0, 1].

    The built-in encoders take raw pixel values, uint8 or float in [0, 255],
    and scale them inside, so that augmentation, `predict` and an exported
    model all see the same input.

    Args:
        input_shape: `(height, width, channels)`.
        name: Name of the input.

    Returns:
        A tuple `(inputs, scaled)` of the input tensor and the float32 tensor
        divided by 255.
    """
    if len(input_shape) != 3 or any(d is not None and d < 1 for d in input_shape):
        raise ValueError(
            "input_shape must be (height, width, channels) with positive sizes, "
            f"got {input_shape!r}."
        )
    inputs = keras.Input(shape=tuple(input_shape), name=name)
    return inputs, keras.layers.Rescaling(1.0 / 255.0, name="scale_pixels")(inputs)
