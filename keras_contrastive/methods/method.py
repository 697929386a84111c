"""The interface every training method implements."""

from __future__ import annotations

import weakref

import keras
import tensorflow as tf

from keras_contrastive.towers import Towers


class _Owner:
    """Weak references to the encoders a method was built for (a plain object: Keras tracks none of it)."""

    def __init__(self, towers: Towers):
        self.references = [weakref.ref(encoder) for encoder in towers.encoders]

    def owns(self, towers: Towers) -> bool:
        return [r() for r in self.references] == towers.encoders


class Method(keras.layers.Layer):
    """A training method: owns its heads, its extra state and its loss.

    `ContrastiveModel` knows nothing of any one method. When it is made it
    calls `attach(towers)`, which builds the method's heads and state for
    those encoders. In every training step it calls `compute_loss_and_metrics`
    inside its gradient tape, applies the gradients (scaling the steps of
    `learning_rate_multipliers`' variables), then calls `after_step` with
    what `compute_loss_and_metrics` returned. A test step calls
    `compute_loss_and_metrics` alone. A new method is a new subclass in its
    own file, never a branch in the model.

    `compute_loss_and_metrics` changes no state: `training` is the layers'
    mode (batch norm, dropout) and nothing else. State that changes with
    training (momentum networks, queues, step counters) changes in
    `after_step`, and lives in the method's variables, so it is part of the
    model's weights and survives `save` and resume.

    Subclasses implement `build(towers)` (heads and state variables),
    `compute_loss_and_metrics` and `get_config`; they may override
    `after_step`, `learning_rate_multipliers`, `metric_names`,
    `requires_labels` and `check_third_part`. Heads are lists with one network per distinct encoder
    (`towers.encoders`), so that the method works for a siamese model and for
    two towers alike.

    A method whose loss is a function of per-example outputs of its networks
    (SimCLR's and SupCon's projections, say) may implement `forward` and
    `loss_from_outputs` instead of `compute_loss_and_metrics`, which is then
    their composition. Such a method supports gradient caching
    (`ContrastiveModel(..., chunk_size=...)`): the model runs `forward` on
    chunks of the batch, `loss_from_outputs` on all of their outputs, and
    takes the parameters' gradients chunk by chunk (see `supports_chunking`).
    """

    #: Names of the extra scalars `compute_loss_and_metrics` returns besides "loss".
    metric_names: tuple[str, ...] = ()
    #: Whether batches must carry labels (supervised methods).
    requires_labels: bool = False

    def attach(self, towers: Towers) -> None:
        """Builds the method for `towers`; called once by the `ContrastiveModel` that owns it.

        A method belongs to one model: its heads and momentum copies were made
        for that model's encoders. Attaching it to other encoders is refused,
        rather than training the second model with the first one's state.

        Raises:
            ValueError: if the method was built for other encoders.
        """
        owner = getattr(self, "_owner", None)
        if owner is not None:
            if owner.owns(towers):
                return
            raise ValueError(
                f"This {type(self).__name__} object already belongs to a ContrastiveModel with other "
                "encoders (its heads and state were built for them). Make a new method for each model, "
                f"e.g. {type(self).__name__}.from_config(method.get_config())."
            )
        if self.built:
            raise ValueError(
                f"This {type(self).__name__} was built outside a ContrastiveModel; pass a new one to "
                "ContrastiveModel(encoder, method), which builds it for its encoders."
            )
        self.build(towers)
        self._owner = _Owner(towers)

    def build(self, towers: Towers) -> None:
        """Creates the heads and state variables for `towers` (see `Towers.encoders`)."""
        self.built = True

    def compute_loss_and_metrics(
        self,
        towers: Towers,
        view_a: tf.Tensor,
        view_b: tf.Tensor,
        labels: tf.Tensor | None = None,
        training: bool = False,
    ) -> dict[str, tf.Tensor]:
        """Runs the views through the towers and the method's heads; computes the loss.

        Args:
            towers: The model's encoders.
            view_a: A batch of first views (any input the encoder takes).
            view_b: The second views of the same examples.
            labels: `(N,)` integer class labels, or None for unlabelled batches.
            training: The layers' mode (batch norm, dropout).

        Returns:
            A dict with the float32 scalar "loss" and one float32 scalar per
            name in `metric_names`; it may hold further tensors that
            `after_step` needs (MoCo's keys, say), which are not logged.
        """
        if not self.supports_chunking():
            raise NotImplementedError(
                f"{type(self).__name__} must implement compute_loss_and_metrics, or forward and loss_from_outputs."
            )
        return self.loss_from_outputs(self.forward(towers, view_a, view_b, training), labels)

    def forward(self, towers: Towers, view_a: tf.Tensor, view_b: tf.Tensor, training: bool = False):
        """The outputs of the method's networks that its loss takes, one row per example.

        Implemented, with `loss_from_outputs`, by the methods that support
        chunking. Each example's outputs may depend only on that example
        (and on batch statistics, which chunking computes per chunk), and
        `forward` changes no state but the layers' own (batch norm's moving
        statistics, random seeds).

        Args:
            towers: The model's encoders.
            view_a: A batch of first views (a chunk of the batch, when chunking).
            view_b: The second views of the same examples.
            training: The layers' mode (batch norm, dropout).

        Returns:
            A nest (tuple, dict) of tensors whose first dimension is the
            number of examples in `view_a`, e.g. the projections `(z_a, z_b)`.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement forward.")

    def loss_from_outputs(self, outputs, labels: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """The loss and metrics of the whole batch from `forward`'s outputs, concatenated over chunks.

        Args:
            outputs: What `forward` returned, for the whole batch.
            labels: `(N,)` integer class labels, or None for unlabelled batches.

        Returns:
            What `compute_loss_and_metrics` returns.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement loss_from_outputs.")

    @classmethod
    def supports_chunking(cls) -> bool:
        """Whether the method implements `forward` and `loss_from_outputs`, which gradient caching needs."""
        return cls.forward is not Method.forward and cls.loss_from_outputs is not Method.loss_from_outputs

    def check_third_part(self, third, batch: int | None, towers: Towers) -> None:
        """Raises ValueError unless a batch's third part is what the method takes.

        The model calls it for every batch, before the graph runs. By default
        the third part is class labels: required when `requires_labels`, and
        then `(batch,)` integers; a method that takes something else there
        (SimCSE's hard negatives) overrides this check.

        Args:
            third: The batch's third part, or None for a batch of two views.
            batch: The batch size when it is static, else None.
            towers: The model's encoders.
        """
        if not self.requires_labels:
            return
        if third is None:
            raise ValueError(
                f"{type(self).__name__} needs labelled batches (view_a, view_b, labels); make_views "
                "passes labels along when the dataset yields (example, label) pairs."
            )
        shape = tf.TensorShape(getattr(third, "shape", None))
        dtype = tf.as_dtype(getattr(third, "dtype", tf.float32))
        if shape.rank != 1 or not dtype.is_integer or (batch is not None and shape[0] not in (None, batch)):
            raise ValueError(
                f"Expected labels to be a batch of integer class labels (batch,) = ({batch or '?'},), got "
                f"shape {tuple(shape) if shape.rank is not None else 'of unknown rank'} and dtype {dtype.name}."
            )

    def after_step(self, towers: Towers, results: dict[str, tf.Tensor]) -> None:
        """Updates state after each optimizer step, from this step's `results`.

        Args:
            towers: The model's encoders, after the optimizer step.
            results: What `compute_loss_and_metrics` returned for the step.
        """

    @property
    def embedding_heads(self) -> list | None:
        """The heads through which each distinct encoder's embedding is served, or None for the encoders' own.

        `ContrastiveModel.call` (so `predict`), `embed_pair` and the TF
        Serving export serve the encoders' embeddings followed by these heads
        (a list of one network per distinct encoder, or one shared). None by
        default: the heads of most methods exist for the loss and are dropped
        after training, as SimCLR found the representation before its
        projection better. CLIP returns its projections, since its two
        towers meet only in the projected space.
        """
        return None

    @property
    def learning_rate_multipliers(self) -> list[tuple[list, float]]:
        """`(variables, multiplier)` pairs whose optimizer steps the model multiplies.

        Empty by default; BYOL and SimSiam list their predictors here.
        """
        return []

    def get_build_config(self) -> None:
        """Saves no build config: the `ContrastiveModel` a method is given to builds it.

        Keras would build a deserialised layer from its saved input shape,
        but a method is built for its model's encoders, which the model
        attaches when a saved model is loaded.
        """
        return None

    def call(self, embeddings, training=None):
        """Maps encoder embeddings through the method's head (for inspection)."""
        raise NotImplementedError(f"{type(self).__name__} must implement call.")
