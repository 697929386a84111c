"""ContrastiveModel: a Keras model that trains an encoder with a self-supervised method."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_contrastive.losses.cross_replica import num_replicas_in_sync
from keras_contrastive.methods.method import Method


def _static_shape(model: keras.Model, attribute: str) -> tuple:
    try:
        shape = getattr(model, attribute)
    except (AttributeError, ValueError):
        return ()
    if isinstance(shape, list):
        raise ValueError(
            f"The encoder must have one input and one output, got {attribute} {shape}."
        )
    return tuple(shape) if shape is not None else ()


def _non_finite_everywhere_if_anywhere(gradients: list) -> list:
    """Makes every replica's gradients non-finite when any replica's are.

    Keras's `LossScaleOptimizer` decides whether to skip a step from the
    gradients before they are summed across replicas: from the first
    replica's under `MirroredStrategy` (an overflow on another one then
    reaches the weights as NaN) and from each replica's own under
    `MultiWorkerMirroredStrategy` (replicas that disagree then wait for each
    other forever). After this, all replicas agree. With one replica the
    gradients are returned as they are.
    """
    if num_replicas_in_sync() == 1:
        return gradients

    def values(g):
        return g.values if isinstance(g, tf.IndexedSlices) else g

    def add(g, poison):
        poison = tf.cast(poison, g.dtype)
        if isinstance(g, tf.IndexedSlices):
            return tf.IndexedSlices(g.values + poison, g.indices, g.dense_shape)
        return g + poison

    present = [g for g in gradients if g is not None]
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(values(g))) for g in present])
    overflowed = tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(finite, tf.float32)
    )
    poison = tf.where(overflowed > 0, float("nan"), 0.0)
    return [None if g is None else add(g, poison) for g in gradients]


@keras.saving.register_keras_serializable(package="keras_contrastive")
class ContrastiveModel(keras.Model):
    """An encoder trained by a self-supervised method, used as a Keras model.

    `fit` takes batches of two augmented views, `(view_a, view_b)` or
    `(view_a, view_b, labels)`, as made by `kc.data.make_views`. The
    overridden `train_step` (compiled by Keras as a `tf.function`, with XLA
    when `compile(jit_compile=True)`) runs the method's forward pass and loss,
    applies the gradients and then the method's after-step updates.

    `call` is the encoder's embedding, so `predict`, a saved model and an
    exported one all compute the same thing (as float32 under a
    mixed-precision policy).

    Built and compiled under `strategy.scope()` of a `MirroredStrategy` or
    `MultiWorkerMirroredStrategy`, `fit` runs unchanged: each replica's loss
    (NT-Xent gathers the negatives of all replicas) is divided by the number
    of replicas before the optimizer sums the gradients, and the reported
    metrics are those of the global batch. Use synchronised batch norm
    (`keras.layers.BatchNormalization(synchronized=True)`) for the
    distributed step to equal the single-device step on the global batch.
    Under `mixed_float16` the loss is float32 before Keras's loss scaling,
    and the replicas agree on skipping steps that overflowed.

    Args:
        encoder: A built `keras.Model` mapping images `(batch, H, W, C)` to
            embeddings `(batch, dim)`. The encoders in `kc.encoders` take raw
            pixel values in [0, 255] and scale them inside.
        method: A `kc.methods.Method`, e.g. `kc.methods.SimCLR()`. It owns the
            heads and the loss.
        **kwargs: Passed to `keras.Model` (e.g. `name`).

    Example:
    >>> model = ContrastiveModel(encoder=kc.encoders.small_cnn((28, 28, 1)),
    ...                          method=kc.methods.SimCLR(temperature=0.1))
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
    >>> model.fit(views, epochs=10)
    >>> embeddings = model.predict(images)
    """

    def __init__(self, encoder: keras.Model, method: Method, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(encoder, keras.Model):
            raise ValueError(
                f"encoder must be a keras.Model, got {type(encoder).__name__}."
            )
        if not isinstance(method, Method):
            raise ValueError(
                "method must be a keras_contrastive.methods.Method such as "
                f"SimCLR(), got {type(method).__name__}."
            )
        input_shape = _static_shape(encoder, "input_shape")
        output_shape = _static_shape(encoder, "output_shape")
        if len(input_shape) != 4:
            raise ValueError(
                "The encoder must be a built model taking images of shape "
                f"(batch, height, width, channels); its input shape is {input_shape or 'unknown'}."
            )
        if len(output_shape) != 2 or output_shape[-1] is None:
            raise ValueError(
                "The encoder must output 2-D embeddings (batch, dim) with a known "
                f"dim; its output shape is {output_shape or 'unknown'}. End it with "
                "a pooling or Flatten layer."
            )
        self.encoder = encoder
        self.method = method
        if not method.built:
            method.attach(encoder)
            method.build(output_shape)
        self.image_shape = input_shape[1:]
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.method_trackers = [keras.metrics.Mean(name=n) for n in method.metric_names]
        self.built = True

    @property
    def embedding_dim(self) -> int:
        """Width of the embedding `call` returns."""
        return int(self.encoder.output_shape[-1])

    @property
    def metrics(self) -> list:
        return [self.loss_tracker, *self.method_trackers]

    def call(self, inputs, training=None):
        self._check_images(inputs, "images")
        embeddings = self.encoder(inputs, training=training)
        if embeddings.dtype in (tf.float16, tf.bfloat16):
            # Under a mixed-precision policy the encoder computes in half
            # precision; the embedding users get is float32.
            embeddings = tf.cast(embeddings, tf.float32)
        return embeddings

    def train_step(self, data):
        view_a, view_b, labels = self._unpack_views(data)
        self.method.before_step(self.encoder)
        with tf.GradientTape() as tape:
            results = self.method.compute_loss_and_metrics(
                self.encoder, view_a, view_b, labels, training=True
            )
            # float32 before any loss scaling: a float16 loss times the loss
            # scale (32768 at first) would overflow.
            loss = tf.cast(results["loss"], tf.float32)
            if self.losses:
                loss = loss + tf.add_n([tf.cast(l, loss.dtype) for l in self.losses])
            scaled_loss = self.optimizer.scale_loss(self._replica_share(loss))
        variables = self.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
            gradients = _non_finite_everywhere_if_anywhere(gradients)
        self.optimizer.apply_gradients(zip(gradients, variables))
        self.method.after_step(self.encoder)
        return self._update_metrics(dict(results, loss=loss))

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Builds the optimizer's state, in the strategy's scope, before the first step.

        Keras calls this at the start of `fit`, `evaluate` and friends. The
        model, the method and the trackers are built when the model is
        constructed, so the optimizer is all that is left. Keras 3.15's own
        version first averages a batch across the replicas, which fails
        under `MultiWorkerMirroredStrategy` for tuple batches such as
        `(view_a, view_b)` ("Attempt to convert a value (PerReplica...)").
        """
        if self.optimizer is not None and not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)

    @staticmethod
    def _replica_share(loss: tf.Tensor) -> tf.Tensor:
        """This replica's share of the global loss, for its gradients.

        Under a `tf.distribute` strategy the optimizer sums the replicas'
        gradients (an all-reduce SUM). Each replica's loss is the mean over
        its own anchors (against the global batch, for losses that gather
        negatives), so the global loss is the replicas' mean and each replica
        differentiates its loss divided by the number of replicas.
        """
        replicas = num_replicas_in_sync()
        return loss if replicas == 1 else loss / float(replicas)

    def test_step(self, data):
        view_a, view_b, labels = self._unpack_views(data)
        results = self.method.compute_loss_and_metrics(
            self.encoder, view_a, view_b, labels, training=False
        )
        return self._update_metrics(results)

    def _update_metrics(self, results: dict) -> dict:
        self.loss_tracker.update_state(results["loss"])
        for tracker in self.method_trackers:
            tracker.update_state(results[tracker.name])
        logs = {m.name: m.result() for m in self.metrics}
        strategy = tf.distribute.get_strategy()
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
            strategy.extended._in_multi_worker_mode()
        ):
            # Keras 3.15 averages each step's logs over workers with
            # strategy.reduce("MEAN", value, axis=0), which refuses scalars
            # (tensorflow/tensorflow#72388); a leading axis of 1 averages the same.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _unpack_views(self, data):
        """Splits a batch into views and labels and checks them against the encoder."""
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            raise ValueError(
                "Each batch must be (view_a, view_b) or (view_a, view_b, labels), "
                "as made by kc.data.make_views; got "
                f"{type(data).__name__} of {len(data) if isinstance(data, (tuple, list)) else 1} part(s)."
            )
        view_a, view_b = data[0], data[1]
        labels = data[2] if len(data) == 3 else None
        self._check_images(view_a, "view_a")
        self._check_images(view_b, "view_b")
        if not view_a.shape.is_compatible_with(view_b.shape):
            raise ValueError(
                "The two views must have the same shape, got "
                f"{tuple(view_a.shape)} and {tuple(view_b.shape)}."
            )
        if view_a.shape[0] is not None and view_a.shape[0] < 2:
            raise ValueError(
                "Contrastive training needs batches of at least 2 images, got a "
                f"batch of {view_a.shape[0]}. Use a larger batch_size, or "
                "drop_remainder=True in make_views."
            )
        if self.method.requires_labels and labels is None:
            raise ValueError(
                f"{type(self.method).__name__} needs labelled batches "
                "(view_a, view_b, labels); make_views passes labels along when the "
                "dataset yields (image, label) pairs."
            )
        return view_a, view_b, labels

    def _check_images(self, images, name: str) -> None:
        """Raises ValueError unless `images` is a batch of the encoder's images."""
        shape = tf.TensorShape(getattr(images, "shape", None))
        if shape.rank != 4:
            raise ValueError(
                f"Expected {name} to be a batch of images (batch, "
                f"{', '.join(map(str, self.image_shape))}), got shape {tuple(shape)}."
            )
        expected_channels = self.image_shape[-1]
        if expected_channels is not None and shape[-1] != expected_channels:
            raise ValueError(
                f"The encoder expects images with {expected_channels} channel(s) "
                f"of shape {self.image_shape}; {name} has shape {tuple(shape)}."
            )

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            method=keras.saving.serialize_keras_object(self.method),
        )
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> "ContrastiveModel":
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(
            config.pop("encoder"), custom_objects=custom_objects
        )
        method = keras.saving.deserialize_keras_object(
            config.pop("method"), custom_objects=custom_objects
        )
        return cls(encoder=encoder, method=method, **config)
