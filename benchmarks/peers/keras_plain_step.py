"""Peer: a plain Keras 3 SimCLR train_step, the keras-io way.

Two encoder calls, one per view, and NT-Xent from
`tf.nn.sparse_softmax_cross_entropy_with_logits` over [a.b, a.a] and [b.a, b.b]
with the self-similarities masked. Run by benchmarks/throughput.py in the
package's own environment. With --bfloat16: Keras 3's `mixed_bfloat16` policy, set
before the model is built (the loss is taken in float32).
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from architectures import (  # noqa: E402
    ARCHITECTURES, LEARNING_RATE, TEMPERATURE, build_keras_encoder_and_projector, keras_fit_measurer, parse_args,
    random_views, serve,
)


class PlainSimCLR(keras.Model):
    def __init__(self, encoder, projector):
        super().__init__()
        self.encoder, self.projector = encoder, projector

    def train_step(self, data):
        view_a, view_b = data
        with tf.GradientTape() as tape:
            z_a = tf.math.l2_normalize(tf.cast(self.projector(self.encoder(view_a, training=True), training=True), tf.float32), 1)
            z_b = tf.math.l2_normalize(tf.cast(self.projector(self.encoder(view_b, training=True), training=True), tf.float32), 1)
            n = tf.shape(z_a)[0]
            mask = tf.eye(n) * 1e9
            labels = tf.range(n)
            ab = tf.matmul(z_a, z_b, transpose_b=True) / TEMPERATURE
            aa = tf.matmul(z_a, z_a, transpose_b=True) / TEMPERATURE - mask
            ba = tf.matmul(z_b, z_a, transpose_b=True) / TEMPERATURE
            bb = tf.matmul(z_b, z_b, transpose_b=True) / TEMPERATURE - mask
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.concat([ab, aa], 1))
                + tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.concat([ba, bb], 1))
            ) / 2
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {"loss": loss}


def main() -> None:
    args = parse_args()
    arch = args.arch
    if args.bfloat16:
        keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    model = PlainSimCLR(*build_keras_encoder_and_projector(keras, arch))
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
    views = tf.data.Dataset.from_tensors(random_views(arch)).repeat()
    serve(keras_fit_measurer(keras, model, views, ARCHITECTURES[arch]["batch_size"]))


if __name__ == "__main__":
    main()
