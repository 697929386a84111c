"""Peer: TF Similarity 0.17.1's ContrastiveModel with SimCLRLoss, on legacy Keras.

Run by benchmarks/throughput.py with benchmarks/.venvs/tfsim/bin/python and
TF_USE_LEGACY_KERAS=1 (built by benchmarks/peers/setup_peers.sh). With --bfloat16:
tf-keras's `mixed_bfloat16` global policy, set before the model is built, and a
float32 output layer after the projector (SimCLRLoss refuses bfloat16 projections).
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tensorflow_similarity as tfsim  # noqa: E402
import tf_keras  # noqa: E402
from architectures import (  # noqa: E402
    ARCHITECTURES, LEARNING_RATE, TEMPERATURE, build_keras_encoder_and_projector, keras_fit_measurer, parse_args,
    random_views, serve,
)


def main() -> None:
    args = parse_args()
    arch = args.arch
    if args.bfloat16:
        tf_keras.mixed_precision.set_global_policy("mixed_bfloat16")
    backbone, projector = build_keras_encoder_and_projector(tf_keras, arch)
    if args.bfloat16:  # SimCLRLoss takes float32 projections: the mixed-precision guide's float32 output layer
        projector = tf_keras.Sequential([tf_keras.Input(projector.input_shape[1:]), projector,
                                         tf_keras.layers.Activation("linear", dtype="float32")])
    model = tfsim.models.ContrastiveModel(backbone=backbone, projector=projector, algorithm="simclr")
    model.compile(
        optimizer=tf_keras.optimizers.Adam(LEARNING_RATE),
        loss=tfsim.losses.SimCLRLoss(name="simclr", temperature=TEMPERATURE),
    )
    views = tf.data.Dataset.from_tensors(random_views(arch)).repeat()
    serve(keras_fit_measurer(tf_keras, model, views, ARCHITECTURES[arch]["batch_size"]))


if __name__ == "__main__":
    main()
