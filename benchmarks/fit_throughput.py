"""Images per second of the SimCLR train step alone and of the whole fit with augmentation.

Both are measured in the same run, in rounds of step, fit, fit, step (so a
drift in the machine's load hits both alike), and the ratio is the median of
the rounds' ratios, so it holds on a shared, noisy machine. The step alone sees
views precomputed once; the fit makes them in tf.data from raw images with
`kc.augment.simclr` and `kc.data.make_views`. The augmentation's own cost is
the tf.data pipeline run alone, without the model, on all cores.

    .venv/bin/python benchmarks/fit_throughput.py [--batch-size 256] [--steps 20] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_contrastive as kc  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
from architectures import keras_fit_measurer  # noqa: E402


def pipeline_us_per_view(dataset: tf.data.Dataset, batch: int, batches: int = 20) -> float:
    """Microseconds per image per view of the tf.data pipeline alone."""
    iterator = iter(dataset)
    next(iterator)
    started = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return (time.perf_counter() - started) / (batches * batch * 2) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jit-compile", action="store_true")
    args = parser.parse_args()
    batch = args.batch_size

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(batch * 8, 28, 28, 1)).astype("uint8")
    augment = kc.augment.simclr(28, channels=1, crop_scale=(0.4, 1.0))
    fixed = augment(images[:batch])
    step_only = tf.data.Dataset.from_tensors((fixed, augment(images[:batch]))).repeat()
    with_augmentation = kc.data.make_views(
        tf.data.Dataset.from_tensor_slices(images), augment, batch_size=batch
    ).repeat()

    model = kc.ContrastiveModel(kc.encoders.small_cnn((28, 28, 1)), kc.methods.SimCLR())
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=args.jit_compile)
    # Steps timed inside each fit, from its first batch's end to its last's (see keras_fit_measurer).
    measure_step = keras_fit_measurer(keras, model, step_only, batch)
    measure_fit = keras_fit_measurer(keras, model, with_augmentation, batch)
    measure_step(3)  # trace and warm up
    measure_fit(3)

    def images_per_second(measure_steps) -> float:
        return measure_steps(args.steps // 2)["images_per_second"]

    step_rates, fit_rates, ratios = [], [], []
    for _ in range(args.rounds):
        step = images_per_second(measure_step)
        fit = images_per_second(measure_fit)
        fit = (fit + images_per_second(measure_fit)) / 2
        step = (step + images_per_second(measure_step)) / 2
        step_rates.append(step)
        fit_rates.append(fit)
        ratios.append(fit / step)
    step, fit, ratio = np.median(step_rates), np.median(fit_rates), np.median(ratios)
    augment_us = pipeline_us_per_view(with_augmentation, batch)
    step_us = 1e6 / step

    print(f"small_cnn 28x28x1, SimCLR, batch {batch}, jit_compile={args.jit_compile}, "
          f"median of {args.rounds} rounds of {args.steps} steps each (step, fit, fit, step)")
    print(f"  train step alone (views precomputed): {step:8.0f} images/s")
    print(f"  fit with tf.data augmentation:        {fit:8.0f} images/s")
    print(f"  fit / step alone (median of rounds):  {ratio:8.2f}")
    print(f"  tf.data pipeline alone:               {augment_us:8.1f} us per image per view "
          f"({2 * augment_us / step_us:.1%} of the step's {step_us:.0f} us per image)")


if __name__ == "__main__":
    main()
