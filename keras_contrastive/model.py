"""ContrastiveModel: a Keras model that trains one encoder, or two towers, with a contrastive method."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_contrastive.distribute.compat import (
    OptimizerBuiltBeforeFit,
    gradients_are_finite,
    logs_reducible_across_workers,
    non_finite_everywhere_if_anywhere,
)
from keras_contrastive.distribute.cross_replica import num_replicas_in_sync
from keras_contrastive.methods import METHODS
from keras_contrastive.methods.method import Method
from keras_contrastive.optimizers.learning_rate_multipliers import apply_gradients_with_multipliers
from keras_contrastive.towers import Towers, pair_of
from keras_contrastive.validation import check_optional_positive_int, check_positive_int


@keras.saving.register_keras_serializable(package="keras_contrastive")
class ContrastiveModel(OptimizerBuiltBeforeFit, keras.Model):
    """An encoder (or two towers) trained by a contrastive or self-supervised method, as a Keras model.

    `fit` takes batches of two views, `(view_a, view_b)` or `(view_a,
    view_b, labels)`, as made by `kc.data.make_views`. The overridden
    `train_step` (compiled by Keras as a `tf.function`) runs the method's
    forward pass and loss, applies the gradients, then the method's
    after-step updates (momentum networks, queues).

    The encoder may take any single input: images `(batch, H, W, C)`, token
    ids `(batch, L)`, raw strings `(batch,)` with the tokenizer inside it,
    integer ids `(batch,)`. Batches are checked against its `keras.Input`
    (rank, fixed dimensions, kind of dtype) with errors that say what was
    expected. With `pair_encoder`, view b goes through it instead of
    `encoder` (images and captions, queries and documents, users and items),
    and its input may be of another kind.

    `call` (and so `predict`) is `encoder`'s embedding, as float32;
    `embed_pair` is the pair encoder's (each followed by the method's
    embedding head where it has one: CLIP's projections). The TF Serving export
    (`kc.export.export_embedder`) serves the same embedding L2-normalised,
    the form similarity search uses.

    Built and compiled under `strategy.scope()` of a `MirroredStrategy` or
    `MultiWorkerMirroredStrategy`, `fit` runs unchanged: the losses gather
    the global batch, each replica's loss is divided by the number of
    replicas before the optimizer sums the gradients, and the reported
    metrics are those of the global batch. Use synchronised batch norm
    (`keras.layers.BatchNormalization(synchronized=True)`) for the
    distributed step to equal the single-device step on the global batch.
    Under `mixed_float16` the loss is float32 before Keras's loss scaling,
    and the replicas agree on skipping steps that overflowed.

    With `chunk_size`, a training step caches gradients (Gao et al., 2021,
    "Scaling Deep Contrastive Learning Batch Size under Memory Limited
    Setup"), so that batches whose activations do not fit at once train as
    one batch: it runs the method's `forward` on `chunk_size` examples at a
    time without keeping activations, takes the loss over all the outputs
    and its gradient with respect to them, then runs each chunk again under
    a gradient tape and sums the parameters' gradients it gives for that
    chunk's share of the output gradient. Activations are held for one chunk
    at a time, at the cost of a second forward pass; the loss, its metrics,
    the optimizer step (with loss scaling and the method's
    `learning_rate_multipliers`) and `after_step` happen once per step, on
    the whole batch. The method must implement `forward` and
    `loss_from_outputs` (`Method.supports_chunking`), and its loss should be
    blockwise for batches whose similarity matrix does not fit either (e.g.
    `SimCLR(block_size=4096)`). With an encoder and heads free of batch norm
    the step equals the unchunked one up to rounding. With batch norm it
    differs: each chunk is normalised with its own batch statistics (those of
    `chunk_size` examples, both views together in a siamese model) instead of
    the whole batch's, and the moving averages take one update per chunk
    (the layers' state, moving averages and random seeds alike, is put back
    after the first pass, so the second pass repeats it and dropout draws the
    same masks in both). Layers that add losses when called (activity
    regularisers) are refused with chunking; weight regularisers are
    differentiated once per step. `evaluate` runs the forward pass chunk by
    chunk too.

    Args:
        encoder: A built `keras.Model` (functional or Sequential) with one
            input and a `(batch, dim)` output. The encoders in `kc.encoders`
            take raw pixel values in [0, 255] and scale them inside.
        method: A `kc.methods.Method`, e.g. `kc.methods.SimCLR()`. It owns
            the heads, the state and the loss, and belongs to this model.
        pair_encoder: Optional second tower for view b, of the same form.
        chunk_size: None to run each batch at once, or the number of examples
            per chunk of a gradient-cached step, a positive int.
        **kwargs: Passed to `keras.Model` (e.g. `name`).

    Example:
    >>> model = ContrastiveModel(encoder=kc.encoders.small_cnn((28, 28, 1)),
    ...                          method=kc.methods.SimCLR(temperature=0.1))
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
    >>> model.fit(views, epochs=10)
    >>> embeddings = model.predict(images)
    >>> large = ContrastiveModel(kc.encoders.small_cnn((28, 28, 1)), kc.methods.SimCLR(block_size=4096),
    ...                          chunk_size=1024)   # batches of 65,536 in a few GB
    """

    def __init__(
        self,
        encoder: keras.Model,
        method: Method,
        pair_encoder: keras.Model | None = None,
        chunk_size: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(method, Method):
            raise ValueError(
                "method must be a keras_contrastive.methods.Method such as "
                f"SimCLR(), got {type(method).__name__}."
            )
        self.chunk_size = check_optional_positive_int(chunk_size, "chunk_size")
        if self.chunk_size is not None and not method.supports_chunking():
            chunking = sorted(cls.__name__ for cls in METHODS.values() if cls.supports_chunking())
            raise ValueError(
                f"chunk_size needs a method that computes its loss from per-example outputs (forward and "
                f"loss_from_outputs), and {type(method).__name__} does not; the methods that do are "
                f"{', '.join(chunking)}. Use chunk_size=None with {type(method).__name__}."
            )
        if pair_encoder is not None and not isinstance(pair_encoder, keras.Model):
            raise ValueError(f"pair_encoder must be a keras.Model or None, got {type(pair_encoder).__name__}.")
        self.towers = Towers(encoder, pair_encoder)
        self.encoder = encoder
        self.pair_encoder = self.towers.pair_encoder
        self.method = method
        method.attach(self.towers)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.method_trackers = [keras.metrics.Mean(name=n) for n in method.metric_names]
        self.built = True

    @property
    def embedding_dim(self) -> int:
        """The width of the embedding `call` returns (the encoder's, or its embedding head's)."""
        return self._served_dim(0)

    def _served_dim(self, side: int) -> int:
        """The width of the embedding `embed_side(side, ...)` returns."""
        dim = pair_of(self.towers.embedding_dims)[side]
        heads = self.method.embedding_heads
        return dim if heads is None else int(pair_of(heads)[side].compute_output_shape((None, dim))[-1])

    @property
    def metrics(self) -> list:
        return [self.loss_tracker, *self.method_trackers]

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                **kwargs):
        """Keras's `compile`, refusing what this model would ignore.

        The loss is the method's, and the logged metrics are the method's
        (`metric_names`); a `loss`, `loss_weights`, `metrics` or
        `weighted_metrics` given here is an error rather than silently
        unused. Evaluate the embedding with `kc.callbacks.KNNMonitor` or
        `kc.evaluation`.
        """
        given = [name for name, value in (("loss", loss), ("loss_weights", loss_weights), ("metrics", metrics),
                                          ("weighted_metrics", weighted_metrics)) if value is not None]
        if given:
            raise ValueError(
                f"ContrastiveModel.compile got {', '.join(given)}, which it would ignore: the loss is the "
                f"method's ({type(self.method).__name__}), and so are the logged metrics "
                f"({', '.join(('loss', *self.method.metric_names))}). Set the loss through the method, e.g. "
                "kc.methods.SimCLR(temperature=0.2), and score embeddings with kc.callbacks.KNNMonitor."
            )
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config: dict) -> None:
        """Compiles a loaded model as it was saved (Keras skips models that override `compile`)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.optimizer is not None:
            self.optimizer.build(self.trainable_variables)

    def fit(self, *args, callbacks=None, **kwargs):
        """Keras's `fit`, refusing data that yields no batch.

        An empty dataset (or one filtered to nothing) makes Keras 3.15's `fit`
        return an empty history while moving `optimizer.iterations`; here the
        step count is put back and a `ValueError` says what happened.
        """
        counter = _BatchCounter()
        callbacks = list(callbacks or []) if not isinstance(callbacks, keras.callbacks.CallbackList) else callbacks
        if isinstance(callbacks, list):
            callbacks.append(counter)
        history = super().fit(*args, callbacks=callbacks, **kwargs)
        if counter.epochs and not counter.batches:
            self.optimizer.iterations.assign(counter.iterations_at_start)
            raise ValueError(
                "fit got no batch to train on: the dataset is empty (filtered to nothing, or smaller than one "
                "batch with drop_remainder=True)."
            )
        return history

    def call(self, inputs, training=None):
        self.towers.input_pair[0].check(inputs, "the encoder's input")
        return self.embed_side(0, inputs, training=training)

    def embed_side(self, side: int, inputs, training=False) -> tf.Tensor:
        """The float32 embedding one tower serves (`side` 0: the encoder's, 1: the pair encoder's).

        The tower's encoder, then the method's embedding head for it when it
        has one (CLIP's projection; see `Method.embedding_heads`). `call` is
        side 0; `embed_pair` and the export's second signature side 1.
        """
        heads = self.method.embedding_heads
        return _float32(self.towers.forward_side(side, inputs, training, [] if heads is None else [heads])[-1])

    def predict(self, x, *args, **kwargs):
        """Keras's `predict` (the encoder's embeddings); NumPy arrays of strings are taken as TF strings.

        Keras's data adapters refuse NumPy's unicode arrays (`np.array(["a red car"])`), the form texts
        usually come in; they are converted to a string tensor first. No examples give a `(0, dim)` array.
        """
        if isinstance(x, np.ndarray) and x.dtype.kind in "US":
            x = tf.constant(x)
        if getattr(x, "shape", None) is not None and len(x.shape) and x.shape[0] == 0:
            self.towers.input_pair[0].check(x, "the encoder's input")
            return np.zeros((0, self.embedding_dim), np.float32)  # Keras's predict fails on no examples
        return super().predict(x, *args, **kwargs)

    def embed_pair(self, inputs, batch_size: int = 256, verbose: bool = False) -> np.ndarray:
        """The pair encoder's float32 embeddings of `inputs` (the encoder's, in a siamese model).

        Args:
            inputs: A batch of what view b's tower takes, e.g. an array of
                strings for a text tower.
            batch_size: Examples per forward pass.
            verbose: Whether to show a progress bar.

        Returns:
            `(N, dim)` float32 embeddings.

        Example:
        >>> text_embeddings = model.embed_pair(np.array(["a red car", "a cat"]))
        """
        batch_size = check_positive_int(batch_size, "batch_size")
        inputs = tf.convert_to_tensor(inputs)
        self.towers.input_pair[1].check(inputs, "the pair encoder's input")
        embed = tf.function(lambda x: self.embed_side(1, x), reduce_retracing=True)
        progress = keras.utils.Progbar(len(inputs), unit_name="example") if verbose else None
        parts = []
        for start in range(0, len(inputs), batch_size):
            parts.append(embed(inputs[start : start + batch_size]).numpy())
            if progress is not None:
                progress.update(start + len(parts[-1]), finalize=start + batch_size >= len(inputs))
        return np.concatenate(parts) if parts else np.zeros((0, self._served_dim(1)), np.float32)

    def train_step(self, data):
        view_a, view_b, labels = self._unpack_views(data)
        variables = self.trainable_variables
        if self.chunk_size is None:
            with tf.GradientTape() as tape:
                results = self.method.compute_loss_and_metrics(self.towers, view_a, view_b, labels, training=True)
                loss, scaled_loss = self._step_loss(results)
            gradients = tape.gradient(scaled_loss, variables)
        else:
            results, loss, gradients = self._cached_gradients(view_a, view_b, labels, variables)
        if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
            gradients = non_finite_everywhere_if_anywhere(gradients)
        else:
            # On vectorised CPU paths a ReLU maps NaN to 0, so a NaN input can
            # leave the loss finite while its gradients (and, after this step,
            # every weight) are NaN: such a step reports its loss as NaN, for
            # StopOnNonFinite to stop at it. The loss-scale optimizer instead
            # skips a step whose gradients overflowed.
            loss = tf.where(gradients_are_finite(gradients), loss, float("nan"))
        apply_gradients_with_multipliers(self.optimizer, gradients, variables, self.method.learning_rate_multipliers)
        self.method.after_step(self.towers, results)
        return self._update_metrics(dict(results, loss=loss))

    def test_step(self, data):
        view_a, view_b, labels = self._unpack_views(data)
        if self.chunk_size is None:
            results = self.method.compute_loss_and_metrics(self.towers, view_a, view_b, labels, training=False)
        else:
            results = self.method.loss_from_outputs(self._chunked_forward(view_a, view_b, training=False), labels)
        return self._update_metrics(results)

    def _step_loss(self, results: dict) -> tuple[tf.Tensor, tf.Tensor]:
        """The step's float32 loss (the method's and the layers' losses), and this replica's scaled share of it."""
        # float32 before any loss scaling: a float16 loss times the loss
        # scale (32768 at first) would overflow.
        loss = tf.cast(results["loss"], tf.float32)
        if self.losses:
            loss = loss + tf.add_n([tf.cast(l, loss.dtype) for l in self.losses])
        return loss, self.optimizer.scale_loss(self._replica_share(loss))

    def _cached_gradients(self, view_a, view_b, labels, variables: list) -> tuple[dict, tf.Tensor, list]:
        """The method's results, the loss and the gradients of a gradient-cached step (see the class docstring).

        The layers' non-trainable state (batch norm's moving statistics,
        random seeds) is put back after the first pass, so that the second
        pass normalises, draws dropout masks and updates the moving averages
        exactly as the first did. The gradients of the loss with respect to
        the variables it reads itself (weight regularisers) are added to the
        chunks' sums.
        """
        state = [(variable, tf.identity(variable.value)) for variable in self.non_trainable_variables]
        outputs = self._chunked_forward(view_a, view_b, training=True)
        for variable, value in state:
            variable.assign(value)
        with tf.GradientTape() as tape:
            tape.watch(outputs)
            results = self.method.loss_from_outputs(outputs, labels)
            loss, scaled_loss = self._step_loss(results)
        output_gradients, direct = tape.gradient(scaled_loss, (outputs, variables))  # direct: regularisers'
        output_gradients = tf.nest.map_structure(
            lambda gradient, output: tf.zeros_like(output) if gradient is None else tf.convert_to_tensor(gradient),
            output_gradients, outputs,
        )
        chunked = self._chunked_parameter_gradients(view_a, view_b, output_gradients, variables)
        gradients = [
            chunks if own is None else own if chunks is None else tf.convert_to_tensor(own) + chunks
            for own, chunks in zip(direct, chunked)
        ]
        return results, loss, gradients

    def _chunks(self, view_a, view_b):
        """A function of `k` giving the k-th chunk of both views, and the number of chunks."""
        size = self.chunk_size
        count = (tf.shape(view_a)[0] + size - 1) // size
        return (lambda k: (view_a[k * size : (k + 1) * size], view_b[k * size : (k + 1) * size])), count

    def _chunked_forward(self, view_a, view_b, training: bool):
        """The method's `forward` of the whole batch, chunk by chunk, with no activation kept."""
        chunk, count = self._chunks(view_a, view_b)
        first = self.method.forward(self.towers, *chunk(0), training)
        added = len(self.losses) - sum(variable.regularizer is not None for variable in self.trainable_weights)
        if added:
            raise ValueError(
                f"chunk_size cannot train layers that add losses when called ({added} of them here, e.g. "
                "activity regularisers): each chunk's call would see a part of the batch. Use weight "
                "regularisers, or chunk_size=None."
            )
        arrays = [
            tf.TensorArray(output.dtype, size=count, infer_shape=False,
                           element_shape=tf.TensorShape([None]).concatenate(output.shape[1:])).write(0, output)
            for output in tf.nest.flatten(first)
        ]

        def step(k, arrays):
            outputs = tf.nest.flatten(self.method.forward(self.towers, *chunk(k), training))
            return k + 1, [array.write(k, output) for array, output in zip(arrays, outputs)]

        # One chunk at a time: parallel iterations would hold several chunks' activations.
        _, arrays = tf.while_loop(lambda k, _: k < count, step, (tf.constant(1), arrays), parallel_iterations=1)
        return tf.nest.pack_sequence_as(first, [array.concat() for array in arrays])

    def _chunked_parameter_gradients(self, view_a, view_b, output_gradients, variables: list) -> list:
        """The sum over chunks of the gradients each chunk's outputs send to `variables` (None where none does)."""
        chunk, count = self._chunks(view_a, view_b)
        size = self.chunk_size
        flat_gradients = tf.nest.flatten(output_gradients)
        unconnected = set()  # the while loop's body is traced once, with a gradient of None for these

        def step(k, sums):
            with tf.GradientTape() as tape:
                outputs = tf.nest.flatten(self.method.forward(self.towers, *chunk(k), training=True))
            rows = [gradient[k * size : (k + 1) * size] for gradient in flat_gradients]
            gradients = tape.gradient(outputs, variables, output_gradients=rows)
            unconnected.update(i for i, gradient in enumerate(gradients) if gradient is None)
            return k + 1, [s if g is None else s + tf.convert_to_tensor(g) for s, g in zip(sums, gradients)]

        sums = [tf.zeros(variable.shape, variable.dtype) for variable in variables]
        _, sums = tf.while_loop(lambda k, _: k < count, step, (tf.constant(0), sums), parallel_iterations=1)
        return [None if i in unconnected else s for i, s in enumerate(sums)]

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

    def _update_metrics(self, results: dict) -> dict:
        self.loss_tracker.update_state(results["loss"])
        for tracker in self.method_trackers:
            tracker.update_state(results[tracker.name])
        return logs_reducible_across_workers({m.name: m.result() for m in self.metrics})

    def _unpack_views(self, data):
        """Splits a batch into views and labels and checks them against the towers."""
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            raise ValueError(
                "Each batch must be (view_a, view_b) or (view_a, view_b, labels) (SimCSE: hard negatives "
                "in place of labels), as made by kc.data.make_views or kc.data.make_pairs; got "
                f"{type(data).__name__} of {len(data) if isinstance(data, (tuple, list)) else 1} part(s)."
            )
        view_a, view_b = data[0], data[1]
        labels = data[2] if len(data) == 3 else None
        input_a, input_b = self.towers.input_pair
        input_a.check(view_a, "view_a")
        input_b.check(view_b, "view_b")
        if self.towers.shared and not view_a.shape.is_compatible_with(view_b.shape):
            raise ValueError(
                "The two views of a siamese model must have the same shape, got "
                f"{tuple(view_a.shape)} and {tuple(view_b.shape)}."
            )
        batch = view_a.shape[0] if view_a.shape[0] is not None else view_b.shape[0]
        if batch is not None and batch < 2:
            raise ValueError(
                f"Contrastive training needs batches of at least 2 examples, got a batch of {batch}. Use a "
                "larger batch_size, or drop_remainder=True in make_views."
            )
        self.method.check_third_part(labels, batch, self.towers)
        return view_a, view_b, labels

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            method=keras.saving.serialize_keras_object(self.method),
            chunk_size=self.chunk_size,
        )
        if self.pair_encoder is not None:
            config["pair_encoder"] = keras.saving.serialize_keras_object(self.pair_encoder)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> "ContrastiveModel":
        config = dict(config)
        networks = {
            key: keras.saving.deserialize_keras_object(config.pop(key), custom_objects=custom_objects)
            for key in ("encoder", "method", "pair_encoder")
            if key in config
        }
        return cls(**networks, **config)


class _BatchCounter(keras.callbacks.Callback):
    """Counts the epochs begun and the batches trained during one `fit`."""

    def __init__(self):
        super().__init__()
        self.epochs = self.batches = 0
        self.iterations_at_start = 0

    def on_train_begin(self, logs=None):
        self.iterations_at_start = int(self.model.optimizer.iterations.numpy())

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs += 1

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def _float32(embeddings: tf.Tensor) -> tf.Tensor:
    """Embeddings as float32: under a mixed-precision policy the encoder computes in half precision."""
    return tf.cast(embeddings, tf.float32) if embeddings.dtype != tf.float32 else embeddings
