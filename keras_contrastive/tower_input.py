"""What one tower's encoder takes, read from its input spec, and the check of a batch against it."""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class TowerInput:
    """The input of an encoder: the shape of one example (no batch axis) and its dtype.

    Read from the encoder's `keras.Input` with `TowerInput.of(encoder)`. The
    kind of input follows from the two: strings are "text", `(H, W, C)`
    numbers "images", a scalar integer "ids", a vector of integers
    "token_ids", a vector of floats "features".

    Args:
        shape: The shape of one example; None for a dimension of any size.
        dtype: The Keras dtype name, e.g. "float32", "int32", "string".

    Example:
    >>> TowerInput.of(kc.encoders.small_cnn((28, 28, 1))).describe()
    'a batch of images (batch, 28, 28, 1)'
    """

    shape: tuple
    dtype: str

    @classmethod
    def of(cls, encoder: keras.Model) -> "TowerInput":
        """The input of `encoder`, which must be a built model with one input and one 2-D output.

        Raises:
            ValueError: if `encoder` is not a `keras.Model`, has no known
                input (a subclassed model never called on `keras.Input`), more
                than one input, or an output that is not `(batch, dim)` with a
                known dim.
        """
        if not isinstance(encoder, keras.Model):
            raise ValueError(f"encoder must be a keras.Model, got {type(encoder).__name__}.")
        inputs = getattr(encoder, "inputs", None)
        outputs = getattr(encoder, "outputs", None)
        if not inputs or not outputs:
            raise ValueError(
                f"The encoder {encoder.name!r} must be a built functional or Sequential model "
                "(one built on keras.Input), so that its input and output are known; wrap a "
                "subclassed model as keras.Model(inputs, model(inputs))."
            )
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(
                f"The encoder {encoder.name!r} must have one input and one output, got "
                f"{len(inputs)} input(s) and {len(outputs)} output(s). Put tokenisation or feature "
                "assembly inside it, so that it takes a single tensor."
            )
        output_shape = tuple(outputs[0].shape)
        if len(output_shape) != 2 or output_shape[-1] is None:
            raise ValueError(
                f"The encoder {encoder.name!r} must output 2-D embeddings (batch, dim) with a known "
                f"dim; its output shape is {output_shape}. End it with a pooling or Flatten layer."
            )
        return cls(shape=tuple(inputs[0].shape[1:]), dtype=keras.backend.standardize_dtype(inputs[0].dtype))

    @property
    def kind(self) -> str:
        """"text", "images", "ids", "token_ids", "features" or "inputs"."""
        if self.dtype == "string":
            return "text"
        if len(self.shape) == 3:
            return "images"
        if self.is_integer and len(self.shape) == 0:
            return "ids"
        if self.is_integer and len(self.shape) == 1:
            return "token_ids"
        if len(self.shape) == 1:
            return "features"
        return "inputs"

    @property
    def is_integer(self) -> bool:
        return "int" in self.dtype

    def batch_shape(self) -> tuple:
        """The shape of a batch: `(None, *shape)`."""
        return (None, *self.shape)

    def describe(self) -> str:
        """The expected batch in words, for error messages."""
        dims = ", ".join(["batch", *("?" if d is None else str(d) for d in self.shape)])
        words = {
            "text": "a batch of strings",
            "images": "a batch of images",
            "ids": "a batch of integer ids",
            "token_ids": "a batch of integer token ids",
            "features": "a batch of feature vectors",
            "inputs": f"a batch of {self.dtype} tensors",
        }[self.kind]
        return f"{words} ({dims})"

    def check(self, batch, name: str) -> None:
        """Raises ValueError unless `batch` (a tensor, array or KerasTensor) fits this input.

        Checked: the rank, every dimension the encoder fixes, and the kind of
        dtype (strings for text, integers for ids and token ids, any number
        for images and features).

        Args:
            batch: The batch, e.g. `view_a` of a training step.
            name: Its name in the message, e.g. "view_a".
        """
        shape = tf.TensorShape(getattr(batch, "shape", None))
        if shape.rank is None:
            raise ValueError(f"Expected {name} to be {self.describe()}, got a tensor of unknown rank.")
        if shape.rank != len(self.shape) + 1:
            raise ValueError(f"Expected {name} to be {self.describe()}, got shape {tuple(shape)}.")
        if self.kind == "images" and None not in self.shape[-1:] and shape[-1] not in (None, self.shape[-1]):
            raise ValueError(
                f"The encoder expects images with {self.shape[-1]} channel(s) of shape {self.shape}; "
                f"{name} has shape {tuple(shape)}."
            )
        for expected, actual in zip(self.shape, shape[1:]):
            if expected is not None and actual is not None and expected != actual:
                raise ValueError(f"Expected {name} to be {self.describe()}, got shape {tuple(shape)}.")
        dtype = tf.as_dtype(getattr(batch, "dtype", tf.float32))
        if self.dtype == "string" and dtype != tf.string:
            raise ValueError(f"Expected {name} to be {self.describe()}, got dtype {dtype.name}.")
        if self.dtype != "string" and dtype == tf.string:
            raise ValueError(f"Expected {name} to be {self.describe()}, got strings.")
        if self.is_integer and not dtype.is_integer:
            raise ValueError(f"Expected {name} to be {self.describe()}, got dtype {dtype.name}.")
