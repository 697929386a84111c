"""Contestant of benchmarks/time_to_accuracy.py: our Fashion-MNIST recipe, evaluated at CPU-time budgets.

Trains `kc.encoders.small_cnn` with SimCLR exactly as `keras-contrastive train
--dataset fashion_mnist` does (`kc.training.train_encoder` with the CLI's
DATASET_DEFAULTS and `kc.augment.simclr`), optionally under the
`mixed_bfloat16` policy, and follows the workers' protocol of
benchmarks/time_to_accuracy.py: when the training CPU clock (this process's
user + system time, less the time spent evaluating) reaches each budget, it
embeds the training and test images with the encoder and writes them to
OUT/budget_<B>.npz, printing one JSON line.

    .venv/bin/python benchmarks/time_to_accuracy_ours.py --data fm.npz --out DIR --budgets 600 1200 1800 \
        --epochs 8 [--precision mixed_bfloat16] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_contrastive as kc  # noqa: E402
from keras_contrastive.cli import DATASET_DEFAULTS  # noqa: E402
from keras_contrastive.saving import atomic_path  # noqa: E402

STARTED = time.perf_counter()


class BudgetEvaluator(keras.callbacks.Callback):
    """Embeds the images each time the training CPU clock passes a budget; stops after the last.

    Args:
        images: `{"train": (N, 28, 28, 1) uint8, "test": ...}`.
        budgets: Ascending CPU-second budgets of training.
        out: Directory of the embeddings' files.
    """

    def __init__(self, images: dict, budgets: list[float], out: str):
        super().__init__()
        self.images, self.budgets, self.out = images, list(budgets), out
        self.evaluation_cpu = 0.0
        self.steps = 0
        self.steps_per_epoch = 1

    def training_cpu(self) -> float:
        return time.process_time() - self.evaluation_cpu

    def on_train_begin(self, logs=None):
        self.steps_per_epoch = self.params.get("steps") or 1

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        while self.budgets and self.training_cpu() >= self.budgets[0]:
            self.evaluate(self.budgets.pop(0))
        if not self.budgets:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        while self.budgets:  # the schedule ended first: its final encoder stands for the rest
            self.evaluate(self.budgets.pop(0))

    def evaluate(self, budget: float) -> None:
        clock = self.training_cpu()
        started = time.process_time()
        path = os.path.join(self.out, f"budget_{budget:g}.npz")
        embeddings = {split: kc.evaluation.embed(self.model.encoder, images) for split, images in self.images.items()}
        with atomic_path(path) as temporary, open(temporary, "wb") as file:
            np.savez(file, **embeddings)
        self.evaluation_cpu += time.process_time() - started
        print(json.dumps({"budget_cpu_s": budget, "train_cpu_s": round(clock, 1),
                          "wall_s": round(time.perf_counter() - STARTED, 1), "steps": self.steps,
                          "epochs": round(self.steps / self.steps_per_epoch, 2), "embeddings": path}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--budgets", type=float, nargs="+", required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--precision", choices=kc.PRECISIONS, default="float32")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    data = np.load(args.data)
    images = {"train": data["x_train"][..., None], "test": data["x_test"][..., None]}
    settings = dict(DATASET_DEFAULTS["fashion_mnist"], epochs=args.epochs, precision=args.precision)
    print(json.dumps({"contestant": "ours", "settings": settings}), flush=True)
    augment = kc.augment.simclr(28, channels=1, crop_scale=(settings["crop_scale"], 1.0),
                                horizontal_flip=settings["flip"], seed=args.seed)
    evaluator = BudgetEvaluator(images, sorted(args.budgets), args.out)
    with kc.precision_policy(args.precision):
        kc.training.train_encoder(
            kc.encoders.small_cnn((28, 28, 1)), kc.methods.SimCLR(temperature=settings["temperature"]),
            images["train"], augment, epochs=args.epochs, batch_size=settings["batch_size"],
            learning_rate=settings["learning_rate"], seed=args.seed, callbacks=[evaluator],
        )


if __name__ == "__main__":
    main()
