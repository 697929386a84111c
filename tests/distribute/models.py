"""The model and data the distributed checks train, built the same way in every process."""

import contextlib

import keras
import numpy as np
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.optimizers import LARS

IMAGE_SHAPE = (12, 12, 1)


def encoder(synchronized: bool) -> keras.Model:
    """conv-BN-ReLU x 2 and global pooling, with an L2 regulariser on the first kernel.

    Synchronised batch norm makes each replica normalise with the global
    batch's statistics, so that a distributed step is the single-device step
    on the global batch; the regulariser checks that `model.losses` are
    scaled like the contrastive loss.
    """
    inputs = keras.Input(IMAGE_SHAPE)
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", use_bias=False,
                            kernel_regularizer=keras.regularizers.L2(1e-2))(x)
    x = keras.layers.BatchNormalization(synchronized=synchronized)(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization(synchronized=synchronized)(x)
    x = keras.layers.ReLU()(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))


def build_model(optimizer: str, synchronized: bool = True) -> kc.ContrastiveModel:
    """SimCLR on `encoder`, compiled with plain SGD or LARS.

    Plain SGD keeps the weight change proportional to the gradient, so a
    gradient scaled wrongly by the number of replicas shows in the weights
    (Adam's first step would hide it).
    """
    method = kc.methods.SimCLR(projection_dim=8, temperature=0.2)
    model = kc.ContrastiveModel(encoder(synchronized), method)
    # The projection head's batch norm, synchronised the same way (the flag is
    # read when the layer is called, so setting it before training is enough).
    for layer in method.projectors[0].blocks:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = synchronized
    if optimizer == "sgd":
        model.compile(optimizer=keras.optimizers.SGD(0.5))
    else:
        model.compile(optimizer=LARS(2.0, momentum=0.9, weight_decay=1e-3, eta=0.01))
    return model


def global_batches(rng: np.random.Generator, batch: int = 16, batches: int = 1) -> dict:
    """Views of `batches` global batches of random images."""
    images = rng.uniform(0, 255, size=(batch * batches, *IMAGE_SHAPE)).astype("float32")
    noisy = np.clip(images + rng.normal(scale=30, size=images.shape), 0, 255).astype("float32")
    return {"view_a": images, "view_b": noisy}


def train(configuration: str, weights_path: str, data: dict, batch: int, strategy=None) -> dict:
    """Builds the model of `configuration`, loads its weights and fits it.

    `configuration` is the optimizer, "sgd" or "lars", optionally followed by
    "_local_bn" (per-replica batch norm) or "_mixed_float16" (that policy,
    and six epochs so that the loss scale has room to settle). Built under
    `strategy.scope()` when a strategy is given. Returns `evaluate`'s metrics
    on the first batch, then the weights after fitting on `data` in batches
    of `batch`, the history and the optimizer's step count.
    """
    optimizer, _, variant = configuration.partition("_")
    keras.mixed_precision.set_dtype_policy("mixed_float16" if variant == "mixed_float16" else "float32")
    try:
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model = build_model(optimizer, synchronized=variant != "local_bn")
        model.load_weights(weights_path)
        views = tf.data.Dataset.from_tensor_slices((data["view_a"], data["view_b"])).batch(batch, drop_remainder=True)
        # Evaluated before training: afterwards the weights differ by rounding, which can flip an
        # argmax near a tie and move the accuracy by a whole anchor.
        evaluation = model.evaluate(views.take(1), return_dict=True, verbose=0)
        history = model.fit(views, epochs=6 if variant == "mixed_float16" else 1, verbose=0)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    return {"weights": model.get_weights(), "history": history.history, "evaluate": evaluation,
            "iterations": int(model.optimizer.iterations.numpy())}
