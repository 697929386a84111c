"""Time and memory of one SimCLR train step on the small CNN as the batch grows, and NT-Xent's share.

For each batch size, a fresh process (so that its peak RSS is its own) builds
kc.ContrastiveModel(kc.encoders.small_cnn((28, 28, 1)), kc.methods.SimCLR()),
then alternates, round by round, one whole train step (views precomputed) with
NT-Xent alone, forward and gradient, on projections of the same shape (2N x 128).
It reports medians, the process's peak RSS over its RSS before the first step,
and then, in another fresh process, the peak RSS that NT-Xent alone adds.

    .venv/bin/python benchmarks/batch_scaling.py [--batch-sizes 256 512 1024 2048 4096] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _loss_and_gradient(temperature: float):
    import tensorflow as tf

    from keras_contrastive.losses.nt_xent import nt_xent_and_accuracy

    @tf.function
    def run(z_a, z_b):
        with tf.GradientTape() as tape:
            tape.watch([z_a, z_b])
            loss, _ = nt_xent_and_accuracy(z_a, z_b, temperature)
        return loss, tape.gradient(loss, [z_a, z_b])

    return run


def worker(batch: int, rounds: int, loss_only: bool) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    import keras_contrastive as kc

    method = kc.methods.SimCLR()
    rng = np.random.default_rng(0)
    z_a, z_b = (tf.constant(rng.normal(size=(batch, method.projection_dim)), tf.float32) for _ in range(2))
    loss = _loss_and_gradient(method.temperature)
    if loss_only:
        before = _rss_mib()
        loss(z_a, z_b)
        return {"loss_peak_mib": _peak_rss_mib() - before}

    model = kc.ContrastiveModel(kc.encoders.small_cnn((28, 28, 1)), method)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    views = tuple(rng.uniform(0, 255, size=(batch, 28, 28, 1)).astype("float32") for _ in range(2))
    dataset = tf.data.Dataset.from_tensors(views).repeat()
    before = _rss_mib()
    model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)  # trace and warm up
    loss(z_a, z_b)
    step_seconds, loss_seconds = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)
        step_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        [t.numpy() for t in tf.nest.flatten(loss(z_a, z_b))]
        loss_seconds.append(time.perf_counter() - started)
    return {
        "step_s": float(np.median(step_seconds)),
        "loss_s": float(np.median(loss_seconds)),
        "step_peak_mib": _peak_rss_mib() - before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--loss-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.rounds, args.loss_only)))
        return

    def run(batch: int, *extra: str) -> dict:
        command = [sys.executable, __file__, "--worker", str(batch), "--rounds", str(args.rounds), *extra]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        return json.loads(output.strip().splitlines()[-1])

    print(f"small_cnn 28x28x1 (32-64-128), SimCLR (128-d projections, T 0.1), fp32, "
          f"median of {args.rounds} rounds; memory is peak RSS over the RSS before the first step")
    print(f"  {'batch':>6} {'step s':>8} {'images/s':>9} {'step MiB':>9} "
          f"{'NT-Xent ms':>11} {'of step':>8} {'NT-Xent MiB':>12} {'(2N)^2 x 4 B':>13}")
    for batch in args.batch_sizes:
        step = run(batch)
        loss = run(batch, "--loss-only")
        matrix_mib = (2 * batch) ** 2 * 4 / 2**20
        print(f"  {batch:6d} {step['step_s']:8.2f} {batch / step['step_s']:9.0f} {step['step_peak_mib']:9.0f} "
              f"{1e3 * step['loss_s']:11.1f} {step['loss_s'] / step['step_s']:8.1%} "
              f"{loss['loss_peak_mib']:12.0f} {matrix_mib:13.0f}")


if __name__ == "__main__":
    main()
