"""Blockwise NT-Xent's loss and gradient, column blocks against the Gram tiles, side by side in one process.

`kc.losses.nt_xent(z_a, z_b, temperature, block_size)` on one device takes
the similarity matrix's square tiles on and above the diagonal
(`kc.losses.gram_blockwise`) for a Python temperature, and blocks of all
candidate columns (`kc.losses.blockwise`, every similarity computed twice)
for a tensor one: the same loss, so giving the temperature as
`tf.constant` is how the comparison reaches the column blocks through the
public function. For each batch N the two run alternately, `--rounds`
times, on the same (N, 128) projections; the figure is the least CPU time
(user + system, all threads) of a compiled call of the loss and its
gradient, and the ratio is the columns' over the tiles'. Checks that both
give the same loss and gradient (relative 1e-5). About 2.5 minutes on 2 cores
with the defaults.

    .venv/bin/python benchmarks/blockwise_loss.py [--batch-sizes 4096 16384] [--block-size 4096] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from host import describe, host  # noqa: E402

from keras_contrastive.losses import nt_xent  # noqa: E402

PROJECTION_DIM = 128
TEMPERATURE = 0.1


def loss_and_gradient(block_size: int, temperature):
    """A compiled NT-Xent with its gradient with respect to both views."""

    @tf.function
    def run(z_a, z_b):
        with tf.GradientTape() as tape:
            tape.watch([z_a, z_b])
            loss = nt_xent(z_a, z_b, temperature, block_size)
        return loss, tape.gradient(loss, [z_a, z_b])

    return run


def cpu_seconds(run, *inputs) -> float:
    """This process's CPU time for one call of `run`, its outputs read back."""
    started = time.process_time()
    [t.numpy() for t in tf.nest.flatten(run(*inputs))]
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4096, 16384])
    parser.add_argument("--block-size", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(describe(host()))
    print(f"NT-Xent forward and gradient, (N, {PROJECTION_DIM}) views, T={TEMPERATURE}, "
          f"block_size={args.block_size}; least CPU-s of {args.rounds} alternating rounds\n")
    contestants = {"column blocks": loss_and_gradient(args.block_size, tf.constant(TEMPERATURE)),
                   "Gram tiles": loss_and_gradient(args.block_size, TEMPERATURE)}
    rows = ["| batch N | 2N x 2N logits | column blocks CPU-s | Gram tiles CPU-s | ratio |", "|---:|---:|---:|---:|---:|"]
    for batch in args.batch_sizes:
        z_a, z_b = tf.unstack(tf.random.stateless_normal((2, batch, PROJECTION_DIM), seed=(batch, 0)))
        outputs = {name: run(z_a, z_b) for name, run in contestants.items()}  # traces, and the values to compare
        columns, tiles = ([t.numpy() for t in tf.nest.flatten(o)] for o in outputs.values())
        for got, expected in zip(tiles, columns):
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
        seconds = {name: [] for name in contestants}
        for _ in range(args.rounds):
            for name, run in contestants.items():
                seconds[name].append(cpu_seconds(run, z_a, z_b))
        best = {name: min(values) for name, values in seconds.items()}
        rows.append(f"| {batch:,} | {(2 * batch) ** 2 / 1e9:.2f} G | {best['column blocks']:.2f} | "
                    f"{best['Gram tiles']:.2f} | {best['column blocks'] / best['Gram tiles']:.2f}x |")
        print(rows[-1], flush=True)
    print("\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
