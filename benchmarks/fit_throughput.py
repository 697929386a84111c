"""Images per second of the SimCLR train step alone and of the whole fit with augmentation.

Both are measured in the same run, interleaved, so the ratio holds on a shared,
noisy machine. The step alone sees views precomputed once; the fit makes them
in tf.data from raw images with `kc.augment.simclr`.

    .venv/bin/python benchmarks/fit_throughput.py [--batch-size 256] [--steps 30] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_contrastive as kc  # noqa: E402


def images_per_second(model: kc.ContrastiveModel, dataset: tf.data.Dataset, steps: int, batch: int) -> float:
    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
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
    model.fit(step_only, steps_per_epoch=3, epochs=1, verbose=0)  # trace and warm up
    model.fit(with_augmentation, steps_per_epoch=3, epochs=1, verbose=0)

    step_rates, fit_rates = [], []
    for _ in range(args.rounds):
        step_rates.append(images_per_second(model, step_only, args.steps, batch))
        fit_rates.append(images_per_second(model, with_augmentation, args.steps, batch))
    step, fit = np.median(step_rates), np.median(fit_rates)

    augment_batch = tf.function(augment)
    augment_batch(images[:batch])
    started = time.perf_counter()
    for _ in range(20):
        augment_batch(images[:batch])
    augment_us = (time.perf_counter() - started) / (20 * batch) * 1e6

    print(f"small_cnn 28x28x1, SimCLR, batch {batch}, jit_compile={args.jit_compile}, "
          f"median of {args.rounds} rounds of {args.steps} steps")
    print(f"  train step alone (views precomputed): {step:8.0f} images/s")
    print(f"  fit with tf.data augmentation:        {fit:8.0f} images/s")
    print(f"  fit / step alone:                     {fit / step:8.2f}")
    print(f"  augmentation of one view, one thread: {augment_us:8.1f} us/image")


if __name__ == "__main__":
    main()
