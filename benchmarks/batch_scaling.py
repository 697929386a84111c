"""Peak memory and time per image of one SimCLR train step on the small CNN, batch 256 to 65,536, with and without chunking.

Two modes of kc.ContrastiveModel(kc.encoders.small_cnn((28, 28, 1)), kc.methods.SimCLR(...)):
"plain", the whole batch at once with NT-Xent's full 2N x 2N matrix, and
"chunked", gradient caching (chunk_size=1024) with blockwise NT-Xent
(SimCLR(block_size=4096)). Each configuration runs in a fresh process, whose
peak RSS (VmHWM) is therefore its own. Up to batch 16,384 the process first
times NT-Xent alone, forward and gradient, on projections of the step's shape
(2N x 128), after one untimed call, and notes the memory it adds (beyond,
its time is extrapolated as N^2). Then it runs a warm-up train step (views
precomputed) on min(N, 4096) examples, through the same traced step, and takes the median wall and CPU time
of the next steps on N (3 up to batch 1024, 2 at 4096, 1 beyond). A size whose
peak, extrapolated from the mode's smaller batches, would pass 16 GB is
skipped; a process whose RSS passes 20 GB, or that leaves the machine under
2 GB available, is stopped, and one whose allocation fails is recorded as out
of memory. Prints the host's CPU and a Markdown table, checks
issue 15's goals (65,536 fits in 24 GB; ms per image at 65,536 within 1.3x of
4,096) and writes benchmarks/results/batch_scaling.json (or --out). About 5 minutes
on 2 cores with AVX-512, 45 on a slow AVX2 host, most of it the chunked step at 65,536.

    .venv/bin/python benchmarks/batch_scaling.py [--batch-sizes 256 1024 4096 16384 65536]
        [--chunk-size 1024] [--block-size 4096] [--out benchmarks/results/batch_scaling.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import host as machine  # benchmarks/host.py, beside this file
from host import proc_gb

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = Path(__file__).parent / "results" / "batch_scaling.json"
REFERENCE_BATCH = 4096
MAX_PREDICTED_GB = 16.0
MAX_RSS_GB = 20.0
MIN_AVAILABLE_GB = 2.0
# What a worker prints when an allocation fails before the RSS watch stops it (a step's allocation can jump
# past MAX_RSS_GB between two looks): the batch is recorded as not fitting, and the run goes on.
OUT_OF_MEMORY = "std::bad_alloc"
MAX_WARMUP_BATCH = 4096
LOSS_ALONE_MAX_BATCH = 16384
GOAL_BATCH, GOAL_GB, GOAL_RATIO = 65536, 24.0, 1.3


def _timed_steps(batch: int) -> int:
    return 3 if batch <= 1024 else 2 if batch <= 4096 else 1


def _loss_alone(method, batch: int, calls: int) -> dict:
    """Median seconds of the step's NT-Xent, forward and gradient, on 2 x (batch, 128), and the GB it adds."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, method.projection_dim], tf.float32)

    @tf.function(input_signature=[spec, spec])
    def loss_and_gradient(z_a, z_b):
        with tf.GradientTape() as tape:
            tape.watch([z_a, z_b])
            loss = method.loss_from_outputs((z_a, z_b))["loss"]
        return loss, tape.gradient(loss, [z_a, z_b])

    loss_and_gradient(*tf.unstack(tf.random.normal((2, 8, method.projection_dim))))  # trace once for all sizes
    z_a, z_b = tf.unstack(tf.random.normal((2, batch, method.projection_dim)))
    before = proc_gb("/proc/self/status", "VmRSS")
    # Untimed: XLA compiles the loss's tile functions for each new tile shape at its first call.
    [t.numpy() for t in tf.nest.flatten(loss_and_gradient(z_a, z_b))]
    seconds = []
    for _ in range(calls):
        started = time.perf_counter()
        [t.numpy() for t in tf.nest.flatten(loss_and_gradient(z_a, z_b))]
        seconds.append(time.perf_counter() - started)
    return {"loss_s": statistics.median(seconds), "loss_gb": max(0.0, proc_gb("/proc/self/status", "VmHWM") - before)}


def _views(batch: int):
    """A dataset repeating one batch of two random views, with an unknown batch dimension, so that steps on
    batches of any size share one traced train step."""
    import tensorflow as tf

    loose = lambda view: tf.compat.v1.placeholder_with_default(view, (None, *view.shape[1:]))  # noqa: E731
    views = tuple(tf.random.uniform((batch, 28, 28, 1), 0, 255, seed=seed) for seed in (1, 2))
    return tf.data.Dataset.from_tensors(views).map(lambda a, b: (loose(a), loose(b))).repeat()


def worker(batch: int, chunk_size: int | None, block_size: int | None) -> dict:
    """One configuration's NT-Xent alone, then its train steps; the peak is the process's VmHWM."""
    import keras

    import keras_contrastive as kc

    steps = _timed_steps(batch)
    method = kc.methods.SimCLR(block_size=block_size)
    loss = _loss_alone(method, batch, steps) if batch <= LOSS_ALONE_MAX_BATCH else {}
    model = kc.ContrastiveModel(kc.encoders.small_cnn((28, 28, 1)), method, chunk_size=chunk_size)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    clocks = lambda: np.array([time.perf_counter(), time.process_time()])  # noqa: E731 (wall, CPU of all threads)
    starts, seconds = [], []
    timer = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda step, logs: starts.append(clocks()),
        on_train_batch_end=lambda step, logs: seconds.append(clocks() - starts[-1]),
    )
    # Timed inside fit, from each step's start to its end: fit's own start and end are not steps.
    model.fit(_views(min(batch, MAX_WARMUP_BATCH)), steps_per_epoch=1, verbose=0, callbacks=[timer])
    model.fit(_views(batch), steps_per_epoch=steps, verbose=0, callbacks=[timer])
    wall, cpu = np.median(seconds[1:], axis=0)
    return {
        "peak_gb": proc_gb("/proc/self/status", "VmHWM"),
        "step_s": float(wall),
        "step_cpu_s": float(cpu),
        "warmup_step_s": float(seconds[0][0]),
        "timed_steps": steps,
        **loss,
    }


def _run_worker(batch: int, chunk_size: int | None, block_size: int | None) -> dict:
    """`worker` in a fresh process, stopped if its RSS passes MAX_RSS_GB or the machine runs low."""
    command = [sys.executable, __file__, "--worker", str(batch)]
    if chunk_size:
        command += ["--chunked", "--chunk-size", str(chunk_size), "--block-size", str(block_size)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        while child.poll() is None:
            rss = proc_gb(f"/proc/{child.pid}/status", "VmRSS")
            if rss > MAX_RSS_GB or proc_gb("/proc/meminfo", "MemAvailable") < MIN_AVAILABLE_GB:
                child.kill()
                child.wait()
                return {"skipped": f"stopped at {rss:.1f} GB RSS"}
            time.sleep(0.2)
        if child.returncode:
            err.seek(0)
            lines = err.readlines()
            if any(OUT_OF_MEMORY in line for line in lines[-20:]):
                return {"skipped": "out of memory"}
            raise RuntimeError(f"{' '.join(command)} failed:\n" + "".join(lines[-20:]))
        out.seek(0)
        return json.loads(out.read().strip().splitlines()[-1])


def _predicted_gb(measured: list[tuple[int, float]], batch: int, quadratic: bool) -> float:
    """The peak at `batch` from the line through the last two measured peaks, or with `quadratic` (the plain
    step's 2N x 2N matrix) the larger of it and the parabola through the last three. From one measured peak,
    that peak scaled by the batch (its square with `quadratic`), which overstates; 0 before any is measured.
    The chunked step's memory is linear in N (the views, the outputs, the loss's 2N x block_size blocks)."""
    if not measured:
        return 0.0
    if len(measured) == 1:
        (n, peak), = measured
        return peak * (batch / n) ** (2 if quadratic else 1)
    (n1, p1), (n2, p2) = measured[-2:]
    linear = p2 + (p2 - p1) / (n2 - n1) * (batch - n2)
    if not quadratic or len(measured) < 3:
        return linear
    batches, peaks = zip(*measured[-3:])
    return max(linear, float(np.polyval(np.polyfit(batches, peaks, 2), batch)))


def _estimate_loss_beyond_timed(rows: list[dict]) -> None:
    """Adds `loss_s_estimated` to the steps whose NT-Xent was not timed alone: the mode's largest timed one
    scaled by the square of the batch (the loss's work is 2N x 2N x 128)."""
    for row in rows:
        timed = [other for other in rows if other["mode"] == row["mode"] and "loss_s" in other]
        if "step_s" in row and "loss_s" not in row and timed:
            largest = max(timed, key=lambda other: other["batch"])
            row["loss_s_estimated"] = largest["loss_s"] * (row["batch"] / largest["batch"]) ** 2


def _table(rows: list[dict]) -> list[str]:
    reference = {row["mode"]: row["ms_per_image"] for row in rows
                 if row["batch"] == REFERENCE_BATCH and "ms_per_image" in row}
    lines = [f"| batch | mode | peak GB | s / step | CPU s / step | ms / image | vs {REFERENCE_BATCH} | NT-Xent s "
             "| NT-Xent share | NT-Xent GB |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if "skipped" in row:
            lines.append(f"| {row['batch']} | {row['mode']} | skipped: {row['skipped']} | | | | | | | |")
            continue
        ratio = f"{row['ms_per_image'] / reference[row['mode']]:.2f}x" if row["mode"] in reference else ""
        loss_s = row.get("loss_s", row.get("loss_s_estimated", float("nan")))
        estimated = "" if "loss_s" in row else " (est.)"
        loss_gb = f"{row['loss_gb']:.2f}" if "loss_gb" in row else ""
        lines.append(
            f"| {row['batch']} | {row['mode']} | {row['peak_gb']:.1f} | {row['step_s']:.1f} | {row['step_cpu_s']:.1f} "
            f"| {row['ms_per_image']:.2f} | {ratio} | {loss_s:.1f}{estimated} | {loss_s / row['step_s']:.0%}{estimated} "
            f"| {loss_gb} |"
        )
    return lines


def _goals(rows: list[dict]) -> dict:
    """Issue 15's goals for the chunked step at GOAL_BATCH, its time per image against both modes at
    REFERENCE_BATCH, in wall and in CPU seconds."""
    found = {(row["batch"], row["mode"]): row for row in rows if "step_s" in row}
    big = found.get((GOAL_BATCH, "chunked"))
    if big is None:
        return {"fits": False, "time": False, "note": f"chunked {GOAL_BATCH} not measured"}
    ratios = {
        f"{clock} vs {mode} {REFERENCE_BATCH}": big[key] / GOAL_BATCH / (found[(REFERENCE_BATCH, mode)][key] / REFERENCE_BATCH)
        for mode in ("chunked", "plain") if (REFERENCE_BATCH, mode) in found
        for clock, key in (("wall", "step_s"), ("CPU", "step_cpu_s"))
    }
    return {
        "fits": big["peak_gb"] < GOAL_GB,
        "peak_gb": big["peak_gb"],
        "ratios": ratios,
        "time": bool(ratios) and all(ratio <= GOAL_RATIO for ratio in ratios.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 1024, 4096, 16384, 65536])
    parser.add_argument("--chunk-size", type=int, default=1024, help="examples per chunk of the chunked step")
    parser.add_argument("--block-size", type=int, default=4096, help="NT-Xent columns per block, chunked step")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="the JSON written (default: the README's benchmarks/results/batch_scaling.json; give "
                        "another for a run of some batch sizes)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--chunked", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        chunking = (args.chunk_size, args.block_size) if args.chunked else (None, None)
        print(json.dumps(worker(args.worker, *chunking)))
        return

    started = time.perf_counter()
    host = machine.host()
    print(machine.describe(host))
    print(f"small_cnn 28x28x1 (32-64-128), SimCLR (128-d projections, T 0.1), fp32, one step over both views; "
          f"plain: whole batch, full NT-Xent; chunked: chunk_size={args.chunk_size}, block_size={args.block_size}. "
          "Peak GB is the process's VmHWM (10^9 B); CPU s counts all its threads; ms / image is wall time per "
          "example of the batch (its two views).",
          flush=True)
    modes = {"plain": (None, None), "chunked": (args.chunk_size, args.block_size)}
    measured = {mode: [] for mode in modes}
    rows = []
    for batch in args.batch_sizes:
        for mode, (chunk_size, block_size) in modes.items():
            predicted = _predicted_gb(measured[mode], batch, quadratic=chunk_size is None)
            row = {"batch": batch, "mode": mode, "predicted_gb": round(predicted, 2)}
            if predicted > MAX_PREDICTED_GB:
                row["skipped"] = f"predicted {predicted:.1f} GB"
            else:
                row.update(_run_worker(batch, chunk_size, block_size))
            if "step_s" in row:
                row["ms_per_image"] = 1e3 * row["step_s"] / batch
                measured[mode].append((batch, row["peak_gb"]))
            rows.append(row)
            outcome = row.get("skipped") or f"{row['peak_gb']:.1f} GB, {row['step_s']:.2f} s per step"
            print(f"  {batch} {mode}: {outcome} ({(time.perf_counter() - started) / 60:.1f} min)", flush=True)
    _estimate_loss_beyond_timed(rows)
    print("\n".join(["", *_table(rows), ""]))
    goals = _goals(rows)
    if "note" in goals:
        print(f"goals: {goals['note']}")
    else:
        print(f"goal: batch {GOAL_BATCH} fits in {GOAL_GB:.0f} GB: {'met' if goals['fits'] else 'NOT met'} "
              f"(chunked peak {goals['peak_gb']:.1f} GB)")
        print(f"goal: ms / image at {GOAL_BATCH} within {GOAL_RATIO}x of {REFERENCE_BATCH}: "
              f"{'met' if goals['time'] else 'NOT met'} ("
              + ", ".join(f"{ratio:.2f}x {name}" for name, ratio in goals["ratios"].items()) + ")")
    minutes = (time.perf_counter() - started) / 60
    print(f"run took {minutes:.1f} min")
    from keras_contrastive.saving import atomic_path  # here: the parent needs Keras only to write

    # Under a temporary name, then renamed: an interrupted write leaves the previous results whole.
    with atomic_path(args.out) as temporary:
        temporary.write_text(json.dumps({
            "host": host,
            "settings": {"encoder": "small_cnn((28, 28, 1))", "method": "SimCLR()", "chunk_size": args.chunk_size,
                         "block_size": args.block_size, "max_predicted_gb": MAX_PREDICTED_GB},
            "rows": rows,
            "goals": goals,
            "minutes": round(minutes, 1),
        }, indent=2) + "\n")

if __name__ == "__main__":
    main()
