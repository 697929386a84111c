"""Contestant of benchmarks/time_to_accuracy.py: our Fashion-MNIST recipe, evaluated at CPU-time budgets.

Trains `kc.encoders.small_cnn` with SimCLR (or `--method`) exactly as
`keras-contrastive train --dataset fashion_mnist` does (`kc.training.train_encoder` with the CLI's
DATASET_DEFAULTS and `kc.augment.simclr`), optionally under the
`mixed_bfloat16` policy, and follows the workers' protocol of
benchmarks/time_to_accuracy.py: when the training CPU clock (this process's
user + system time, less the time spent evaluating) reaches each budget, it
embeds the training and test images with the encoder and writes them to
OUT/budget_<B>.npz, printing one JSON line.

    .venv/bin/python benchmarks/time_to_accuracy_ours.py --data fm.npz --out DIR --budgets 600 1200 1800 \
        --epochs 0 [--precision mixed_bfloat16] [--seed 0] [--widths 32 64 128] [--pool-grid 0] [--temperature 0.2] ...
        [--method vicreg --method-args '{"variance_weight": 50}']

`--epochs 0` fits the schedule to the last budget on this host: a short
calibration times the recipe's steps, and the warmup-cosine schedule spans
the epochs the CPU time left affords, so it anneals by the last budget
whatever the host's speed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_contrastive as kc  # noqa: E402
from keras_contrastive.cli import DATASET_DEFAULTS, _method_arguments, _whitening  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
from architectures import BudgetClock, budget_parser  # noqa: E402



class BudgetStop(keras.callbacks.Callback):
    """Ticks a `BudgetClock` after every step and stops `fit` once its last budget is evaluated."""

    def __init__(self, clock: BudgetClock):
        super().__init__()
        self.clock = clock

    def on_train_batch_end(self, batch, logs=None):
        if self.clock.after_step():
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.clock.finish()


class StepTimer(keras.callbacks.Callback):
    """This process's CPU-seconds per training step, after the first `skip` steps (tracing, the pipeline's warm-up)."""

    def __init__(self, skip: int):
        super().__init__()
        self.skip, self.started, self.ended, self.timed = skip, 0.0, 0.0, 0

    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == self.skip:
            self.started = time.process_time()
        elif batch + 1 > self.skip:
            self.timed, self.ended = batch + 1 - self.skip, time.process_time()

    def seconds_per_step(self) -> float:
        if not self.timed:
            raise RuntimeError(f"the calibration ran {self.skip} steps or fewer; it needs more to time one")
        return (self.ended - self.started) / self.timed


def fitted_epochs(make_encoder, method, train_images, augment, settings: dict, budget_s: float, seed: int,
                  steps: int = 40, skip: int = 10) -> int:
    """Epochs of a schedule that ends at `budget_s` CPU-seconds on this host.

    Times `steps` steps of the same recipe on a throwaway encoder (its CPU time
    counts against the budget like everything else in this process), then
    divides the CPU time left by the cost of an epoch.
    """
    timer = StepTimer(skip)
    batch_size = settings["batch_size"]
    kc.training.train_encoder(make_encoder(), method, train_images[:(steps + skip) * batch_size], augment, epochs=1,
                              batch_size=batch_size, learning_rate=settings["learning_rate"], seed=seed,
                              callbacks=[timer])
    epoch_s = timer.seconds_per_step() * (len(train_images) // batch_size)
    return max(1, round((budget_s - time.process_time()) / epoch_s))


def main() -> None:
    parser = budget_parser(epochs_help="the schedule's length; 0 fits it to the last budget on this host")
    parser.add_argument("--precision", choices=kc.PRECISIONS, default="float32")
    recipe = DATASET_DEFAULTS["fashion_mnist"]
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128], help="small_cnn's stage widths")
    parser.add_argument("--pool-grid", type=int, default=recipe["pool_grid"],
                        help="small_cnn's grid of regions averaged besides the whole picture (0: the global average)")
    parser.add_argument("--whitening", type=_whitening, default=recipe["whitening"], metavar="EPSILON|off",
                        help="whiten the embeddings (kc.layers.Whitening fitted to the training images' embeddings "
                        "at each budget, its CPU time counted) with this epsilon, or off")
    parser.add_argument("--batch-size", type=int, default=recipe["batch_size"])
    parser.add_argument("--learning-rate", type=float, default=recipe["learning_rate"])
    parser.add_argument("--temperature", type=float, default=recipe["temperature"])
    parser.add_argument("--crop-scale", type=float, default=recipe["crop_scale"])
    unlabelled = sorted(name for name, cls in kc.methods.METHODS.items() if not cls.requires_labels)
    parser.add_argument("--method", choices=unlabelled, default="simclr",
                        help="the self-supervised method (labels would make it another contest)")
    parser.add_argument("--method-args", type=json.loads, default={}, metavar="JSON",
                        help="the method's arguments, e.g. '{\"num_layers\": 3}'; --temperature goes to a method "
                        "that takes one")
    args = parser.parse_args()
    if args.whitening == "off":
        args.whitening = None
    keras.utils.set_random_seed(args.seed)
    data = np.load(args.data)
    images = {"train": data["x_train"][..., None], "test": data["x_test"][..., None]}
    settings = dict(recipe, epochs=args.epochs, precision=args.precision, widths=args.widths,
                    pool_grid=args.pool_grid, whitening=args.whitening, batch_size=args.batch_size,
                    learning_rate=args.learning_rate, temperature=args.temperature, crop_scale=args.crop_scale,
                    method=args.method)
    # The recipe's temperature goes, as on the command line, to a method that takes one; --method-args win.
    method_class = kc.methods.METHODS[args.method]
    settings["method_args"] = {**_method_arguments(method_class, None, args.temperature, None), **args.method_args}
    augment = kc.augment.simclr(28, channels=1, crop_scale=(settings["crop_scale"], 1.0),
                                horizontal_flip=settings["flip"], seed=args.seed)
    with kc.precision_policy(args.precision):
        def make_encoder():
            return kc.encoders.small_cnn((28, 28, 1), widths=tuple(args.widths), pool_grid=args.pool_grid)

        def make_method():
            return method_class(**settings["method_args"])

        if not args.epochs:
            settings["epochs"] = fitted_epochs(make_encoder, make_method(), images["train"], augment, settings,
                                               max(args.budgets), args.seed)
            settings["epochs_fitted_to_s"] = max(args.budgets)
        print(json.dumps({"contestant": "ours", "settings": settings}), flush=True)
        encoder = make_encoder()
        clock = BudgetClock(args.budgets, args.out, images, lambda x: kc.evaluation.embed(encoder, x),
                            len(images["train"]) // settings["batch_size"],
                            readout=None if args.whitening is None
                            else lambda train, test: kc.layers.whiten_alike(train, test, epsilon=args.whitening))
        kc.training.train_encoder(
            encoder, make_method(), images["train"], augment, epochs=settings["epochs"],
            batch_size=settings["batch_size"], learning_rate=settings["learning_rate"], seed=args.seed,
            callbacks=[BudgetStop(clock)],
        )


if __name__ == "__main__":
    main()
