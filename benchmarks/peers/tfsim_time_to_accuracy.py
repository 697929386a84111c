"""Contestant of benchmarks/time_to_accuracy.py: TF Similarity 0.17.1's ContrastiveModel(algorithm="simclr") on the CPU.

Run with benchmarks/.venvs/tfsim/bin/python and TF_USE_LEGACY_KERAS=1 (set here too):

    python tfsim_time_to_accuracy.py --data NPZ --out DIR --budgets B1 B2 ... --epochs E --seed S

Settings, with their sources. "Notebook" is TF Similarity's
examples/unsupervised_hello_world.ipynb (tensorflow/similarity HEAD, the example for
ContrastiveModel), with ALGORITHM = "simclr":

- Loss: tfsim.losses.SimCLRLoss(temperature=0.5) (notebook: "TEMPERATURE = 0.5  # Tuned for
  CIFAR10, see section B.9 in the paper").
- Optimizer: LAMB, lr 1e-3, constant (notebook: INIT_LR = 1e-3, tfa.optimizers.LAMB(
  learning_rate=INIT_LR), no schedule for simclr). TensorFlow Addons is not installable with
  TF 2.21 and tf_keras has no LAMB, so `Lamb` below re-implements tfa.optimizers.LAMB with its
  defaults (beta_1 0.9, beta_2 0.999, epsilon 1e-6, weight_decay 0, layer-wise trust ratio
  ||w|| / ||update|| on every variable, 1 where either norm is 0).
- Batch 512, steps_per_epoch = len(x_train) // 512, epochs = --epochs (notebook: BATCH_SIZE =
  512, PRE_TRAIN_STEPS_PER_EPOCH = len(x_train) // BATCH_SIZE).
- Projector: TF Similarity's default projector, the one create_contrastive_model builds when
  projector=None, as the notebook does: tensorflow_similarity.models.contrastive_model.
  get_projector(input_dim=128, dim=512, num_layers=2): Dense(512, no bias, LecunUniform) ->
  BN(eps 1.001e-5) -> ReLU -> Dense(512, no bias) -> BN(no centre/scale), i.e. 512 wide and a
  512-d output. (architectures.py's 128-wide projector is not used.)
- Augmentation: TF Similarity's own SimCLR augmenter, tfsim.augmenters.SimCLRAugmenter(28, 28)
  at its defaults (v2 / "multiplicative" brightness, jitter strength 1.0: colour jitter p 0.8
  with 0.8/0.8/0.8/0.2, grayscale p 0.2, random crop-and-resize, horizontal flip; no blur),
  applied per image in tf.data (its `augment_img`, in this process). The augmenter works on
  3 channels, so each grey image is tiled to 3 channels, augmented and averaged back to 1
  (the channels stay equal: grey in, grey out). (The notebook itself uses its own SimSiam-style
  augmenter for every algorithm; we use the library's SimCLR one.)
- Input scaling: augmented views in [0, 1], then (x - 0.2860) / 0.3530, Fashion-MNIST's
  one-channel mean/std (the notebook uses torch-mode ImageNet mean/std, which is 3-channel).
- tf.data as in the notebook: from_tensor_slices(x_train).repeat().shuffle(1024)
  .map(two views, AUTOTUNE).batch(512).prefetch(AUTOTUNE); trained with model.fit.
- Backbone: the "small" CNN of architectures.py, built with tf_keras
  (build_keras_encoder_and_projector(tf_keras, "small")[0]), 128-d pooled output.
- Threads: intra-op and inter-op 2.

The kNN embeddings are backbone(x, training=False) on the un-augmented images scaled like the
training views. The training clock is time.process_time() minus the CPU time of the
evaluations, checked after every optimizer step (a fit callback's on_train_batch_end).
"""

from __future__ import annotations

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_similarity as tfsim  # noqa: E402
import tf_keras  # noqa: E402
from architectures import BudgetClock, budget_parser, build_keras_encoder_and_projector  # noqa: E402
from tensorflow_similarity.models.contrastive_model import get_projector  # noqa: E402

tf.get_logger().setLevel("ERROR")
MEAN, STD = 0.2860, 0.3530
BATCH_SIZE = 512


class Lamb(tf_keras.optimizers.Optimizer):
    """tfa.optimizers.LAMB (TensorFlow Addons 0.x) at its defaults, for tf_keras."""

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-6, name="LAMB", **kwargs):
        super().__init__(name=name, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, var_list):
        super().build(var_list)
        if getattr(self, "_built", False):
            return
        self._built = True
        self._m = [self.add_variable_from_reference(v, "m") for v in var_list]
        self._v = [self.add_variable_from_reference(v, "v") for v in var_list]

    def update_step(self, gradient, variable):
        dtype = variable.dtype
        lr = tf.cast(self.learning_rate, dtype)
        step = tf.cast(self.iterations + 1, dtype)
        index = self._index_dict[self._var_key(variable)]
        m, v = self._m[index], self._v[index]
        m.assign(self.beta_1 * m + (1.0 - self.beta_1) * gradient)
        v.assign(self.beta_2 * v + (1.0 - self.beta_2) * tf.square(gradient))
        m_hat = m / (1.0 - tf.pow(tf.cast(self.beta_1, dtype), step))
        v_hat = v / (1.0 - tf.pow(tf.cast(self.beta_2, dtype), step))
        update = m_hat / (tf.sqrt(v_hat) + self.epsilon)
        w_norm, u_norm = tf.norm(variable), tf.norm(update)
        ratio = tf.where(w_norm > 0, tf.where(u_norm > 0, w_norm / u_norm, 1.0), 1.0)
        variable.assign_sub(ratio * lr * update)

    def get_config(self):
        config = super().get_config()
        config.update({
            "learning_rate": self._serialize_hyperparameter(self._learning_rate),
            "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
        })
        return config


def main() -> None:
    args = budget_parser().parse_args()

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
    tf_keras.utils.set_random_seed(args.seed)

    data = np.load(args.data)
    x_train, x_test = data["x_train"], data["x_test"]
    steps_per_epoch = len(x_train) // BATCH_SIZE

    augmenter = tfsim.augmenters.SimCLRAugmenter(28, 28)

    def view(image):
        rgb = tf.tile(tf.cast(image, tf.float32)[..., None] / 255.0, [1, 1, 3])
        grey = tf.reduce_mean(augmenter.augment_img(rgb), axis=-1, keepdims=True)
        return (grey - MEAN) / STD

    def process(image):
        return view(image), view(image)

    train_ds = (
        tf.data.Dataset.from_tensor_slices(x_train).repeat().shuffle(1024)
        .map(process, num_parallel_calls=tf.data.AUTOTUNE).batch(BATCH_SIZE).prefetch(tf.data.AUTOTUNE)
    )

    backbone, _ = build_keras_encoder_and_projector(tf_keras, "small")
    projector = get_projector(input_dim=backbone.output_shape[-1], num_layers=2)
    model = tfsim.models.create_contrastive_model(
        backbone=backbone, projector=projector, algorithm="simclr", name="simclr",
    )
    model.compile(optimizer=Lamb(learning_rate=1e-3), loss=tfsim.losses.SimCLRLoss(name="simclr", temperature=0.5))

    settings = {
        "library": "tensorflow_similarity", "tfsim_version": tfsim.__version__, "tensorflow_version": tf.__version__,
        "source": "TF Similarity examples/unsupervised_hello_world.ipynb (ALGORITHM='simclr') and package defaults",
        "arch": "small", "embedding_dim": int(backbone.output_shape[-1]),
        "model": "create_contrastive_model(algorithm='simclr')",
        "projector": "tfsim default get_projector(input_dim=128, dim=512, num_layers=2)",
        "loss": "SimCLRLoss", "temperature": 0.5,
        "optimizer": "LAMB (tfa.optimizers.LAMB defaults, re-implemented for tf_keras)", "lr": 1e-3,
        "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-6, "weight_decay": 0.0, "schedule": "constant",
        "batch_size": BATCH_SIZE, "steps_per_epoch": steps_per_epoch, "epochs": args.epochs,
        "augmenter": "tfsim.augmenters.SimCLRAugmenter(28, 28) defaults (grey tiled to 3 channels, averaged back)",
        "normalize": {"mean": MEAN, "std": STD}, "shuffle_buffer": 1024,
        "tf_threads": {"intra_op": 2, "inter_op": 2}, "seed": args.seed,
    }
    print(json.dumps({"contestant": "tfsim", "settings": settings}), flush=True)

    embed_batch = tf.function(lambda x: backbone(x, training=False))

    def embed(images: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(images), 1000):
            x = (images[start:start + 1000].astype(np.float32)[..., None] / 255.0 - MEAN) / STD
            out.append(embed_batch(tf.constant(x)).numpy().astype(np.float32))
        return np.concatenate(out)

    clock = BudgetClock(args.budgets, args.out, {"train": x_train, "test": x_test}, embed, steps_per_epoch)

    class BudgetStop(tf_keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if clock.after_step():
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            loss = (logs or {}).get("loss", float("nan"))
            print(f"epoch {epoch + 1}: loss {loss:.4f} train_cpu {clock.training_cpu():.1f}s", file=sys.stderr, flush=True)

    model.fit(train_ds, epochs=args.epochs, steps_per_epoch=steps_per_epoch, verbose=0, callbacks=[BudgetStop()])
    clock.finish()


if __name__ == "__main__":
    main()
