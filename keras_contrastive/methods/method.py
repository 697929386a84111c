"""The interface every self-supervised method implements."""

from __future__ import annotations

import keras
import tensorflow as tf


class Method(keras.layers.Layer):
    """A training method: owns its heads, its extra state and its loss.

    `ContrastiveModel` knows nothing of any one method. It builds the method
    with the encoder's embedding shape, and in every training and test step
    calls `before_step`, then `compute_loss_and_metrics` inside its gradient
    tape, then `after_step` once the optimizer has applied the gradients. A new method is
    a new subclass in its own file, never a branch in the model.

    Subclasses implement `build(embedding_shape)` (create heads and state
    variables), `compute_loss_and_metrics` and `get_config`; they may
    override `attach` (state that copies the encoder, such as a momentum
    network), `before_step`, `after_step`, `metric_names` and
    `requires_labels`.

    State that must survive `save` and resume (momentum networks, queues,
    step counters) lives in the method's variables, so it is part of the
    model's weights.
    """

    #: Names of the extra scalars `compute_loss_and_metrics` returns besides "loss".
    metric_names: tuple[str, ...] = ()
    #: Whether batches must carry labels (supervised methods).
    requires_labels: bool = False

    def compute_loss_and_metrics(
        self,
        encoder: keras.Model,
        view_a: tf.Tensor,
        view_b: tf.Tensor,
        labels: tf.Tensor | None = None,
        training: bool = False,
    ) -> dict[str, tf.Tensor]:
        """Runs the views through `encoder` and the method's heads.

        Args:
            encoder: The backbone, mapping images to `(batch, dim)` embeddings.
            view_a: A batch of first views, `(N, H, W, C)`.
            view_b: The second views of the same images, same shape.
            labels: `(N,)` class labels, or None for unlabelled batches.
            training: Whether this is a training step.

        Returns:
            A dict with the float32 scalar "loss" and one float32 scalar per
            name in `metric_names`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement compute_loss_and_metrics."
        )

    def attach(self, encoder: keras.Model) -> None:
        """Creates state that depends on the encoder itself, such as a momentum copy.

        `ContrastiveModel` calls it once, just before `build`, when it is
        constructed (and so again when a saved model is loaded, before the
        weights are restored). Keras allows new state only until `build`
        returns.
        """

    def get_build_config(self) -> None:
        """Saves no build config: the `ContrastiveModel` a method is given to builds it.

        Keras would build a deserialised layer from its saved input shape,
        but a method must first be attached to its encoder, which the model
        does when a saved model is loaded.
        """
        return None

    def before_step(self, encoder: keras.Model) -> None:
        """Records state before each training step's forward pass and optimizer step."""

    def after_step(self, encoder: keras.Model) -> None:
        """Updates state after each optimizer step (momentum encoders, queues)."""

    def call(self, embeddings, training=None):
        """Maps encoder embeddings through the method's head (for inspection)."""
        raise NotImplementedError(f"{type(self).__name__} must implement call.")


def swapped_views(pair: tf.Tensor) -> tf.Tensor:
    """Swaps the two halves of a tensor holding view a's rows, then view b's.

    Row `i` of the result is the other view of the image of row `i`: the
    targets of a symmetric loss computed over both views at once.

    Example:
    >>> swapped_views(tf.constant([[1.], [2.], [3.], [4.]]))  # a1 a2 b1 b2
    <tf.Tensor: ... [[3.], [4.], [1.], [2.]]>
    """
    first, second = tf.split(pair, 2, axis=0)
    return tf.concat([second, first], axis=0)
