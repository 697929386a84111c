"""What every contestant of benchmarks/throughput.py trains, and how a peer reports.

Plain Python (no TensorFlow or PyTorch import), so that each peer's virtual
environment can import it. The encoders are VGG-style: stages of two
3x3 conv (no bias) -> BatchNorm -> ReLU, a 2x2 max-pool between stages, a
global average pool; then SimCLR's projection head, Dense (no bias) -> BatchNorm
-> ReLU -> Dense, and NT-Xent at temperature 0.1, Adam at 1e-3, fp32.
"""

from __future__ import annotations

import json
import sys
import time

ARCHITECTURES = {
    "small": {"input_shape": (28, 28, 1), "widths": (32, 64, 128), "batch_size": 256},
    "wide": {"input_shape": (32, 32, 3), "widths": (64, 128, 256, 512), "batch_size": 128},
}
PROJECTION_DIM = 128
TEMPERATURE = 0.1
LEARNING_RATE = 1e-3


def forward_flops_per_view(arch: str) -> int:
    """Multiply-adds x 2 of the convolutions and dense layers for one view, forward."""
    spec = ARCHITECTURES[arch]
    height, width, channels = spec["input_shape"]
    flops = 0
    for stage, filters in enumerate(spec["widths"]):
        if stage > 0:
            height, width = height // 2, width // 2
        for _ in range(2):
            flops += 2 * height * width * 9 * channels * filters
            channels = filters
    hidden = spec["widths"][-1]
    return flops + 2 * channels * hidden + 2 * hidden * PROJECTION_DIM


def random_views(arch: str, batch_size: int | None = None):
    """Two float32 NHWC batches of views in [0, 1] (numpy), the same for every peer."""
    import numpy as np

    spec = ARCHITECTURES[arch]
    rng = np.random.default_rng(0)
    shape = (batch_size or spec["batch_size"], *spec["input_shape"])
    return rng.random(shape, dtype="float32"), rng.random(shape, dtype="float32")


def build_keras_encoder_and_projector(keras, arch: str):
    """The encoder and projection head with `keras` (Keras 3 or tf-keras) layers."""
    spec = ARCHITECTURES[arch]
    inputs = keras.Input(shape=spec["input_shape"])
    x = inputs
    for stage, filters in enumerate(spec["widths"]):
        if stage > 0:
            x = keras.layers.MaxPooling2D(2)(x)
        for _ in range(2):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization(momentum=0.9)(x)
            x = keras.layers.ReLU()(x)
    encoder = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    hidden = spec["widths"][-1]
    projector = keras.Sequential([
        keras.Input(shape=(hidden,)),
        keras.layers.Dense(hidden, use_bias=False),
        keras.layers.BatchNormalization(momentum=0.9),
        keras.layers.ReLU(),
        keras.layers.Dense(PROJECTION_DIM),
    ])
    return encoder, projector


def serve(measure_steps, warmup_steps: int = 3) -> None:
    """Answers the benchmark over stdin/stdout: one JSON line per request.

    `measure_steps(n)` runs and measures n train steps (`measure` or
    `keras_fit_measurer`). After a warm-up it prints `{"ready": true}`; then
    each stdin line `STEPS` is answered with `measure_steps(STEPS)`; end of
    input ends the peer.
    """
    measure_steps(warmup_steps)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        print(json.dumps(measure_steps(int(line))), flush=True)


def _rates(images: int, wall: float, cpu: float) -> dict:
    return {"images_per_second": images / wall, "images_per_cpu_second": images / cpu}


def measure(run_steps, steps: int, batch: int) -> dict:
    """Images per wall-clock second and per CPU second (all of this process's threads) of `run_steps(steps)`.

    On a shared machine the wall-clock rate depends on what else runs; the
    CPU-time rate counts only the work this process did.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    run_steps(steps)
    return _rates(steps * batch, time.perf_counter() - wall, time.process_time() - cpu)


def keras_fit_measurer(keras, model, dataset, batch: int):
    """`measure_steps(n)` for a compiled Keras (3 or tf-keras) model: n steps timed inside one `fit`.

    The clock runs from the end of `fit`'s first batch to the end of its last,
    so `fit`'s start and end are left out. They matter here: after its last
    step `fit` sometimes takes another 0.5 to 5 s to return (releasing its
    tf.data iterator), whatever the step costs.
    """

    class StepClock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.marks.append((time.perf_counter(), time.process_time()))

    clock = StepClock()

    def measure_steps(steps: int) -> dict:
        clock.marks = []
        model.fit(dataset, steps_per_epoch=steps + 1, epochs=1, verbose=0, shuffle=False, callbacks=[clock])
        (wall, cpu), (wall_end, cpu_end) = clock.marks[0], clock.marks[-1]
        return _rates(steps * batch, wall_end - wall, cpu_end - cpu)

    return measure_steps


def parse_args():
    """A peer's command line: `--arch NAME`, and `--bfloat16` for its own fastest bf16 mode."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), required=True)
    parser.add_argument("--bfloat16", action="store_true", help="train in the peer's own bf16 mixed precision")
    return parser.parse_args()


def budget_parser(epochs_help: str = "the schedule's length"):
    """The command line every time-to-accuracy worker takes (benchmarks/time_to_accuracy.py's protocol)."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="NPZ of x_train, y_train, x_test, y_test")
    parser.add_argument("--out", required=True, help="directory of the budget_<B>.npz embeddings")
    parser.add_argument("--budgets", type=float, nargs="+", required=True, help="CPU-seconds of training")
    parser.add_argument("--epochs", type=int, required=True, help=epochs_help)
    parser.add_argument("--seed", type=int, default=0)
    return parser


class BudgetClock:
    """The time-to-accuracy workers' clock: training CPU time, and an evaluation at each budget it passes.

    The clock is this process's CPU time (user + system, all threads) less
    the CPU time spent in the evaluations. At each budget `embed(images)` runs
    on the training and test images, the embeddings go to
    OUT/budget_<B>.npz (written under a temporary name, then renamed), and
    one JSON line goes to stdout for benchmarks/time_to_accuracy.py.

    Args:
        budgets: CPU-seconds of training, in any order.
        out: Directory of the embeddings' files.
        images: `{"train": array, "test": array}` of raw images.
        embed: Maps an array of raw images to float32 `(N, D)` embeddings.
        steps_per_epoch: Optimizer steps in an epoch, for the epochs reported.
        readout: Optional; maps the training and test embeddings to the ones
            scored (a whitening fitted to the training embeddings). Its CPU
            time counts as training: it is part of making the embedder.
    """

    def __init__(self, budgets, out: str, images: dict, embed, steps_per_epoch: int, readout=None):
        import os

        os.makedirs(out, exist_ok=True)
        self.pending, self.out, self.images, self.embed = sorted(budgets), out, images, embed
        self.readout = readout
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.steps, self.evaluation_cpu = 0, 0.0
        self.started = time.perf_counter()

    def training_cpu(self) -> float:
        return time.process_time() - self.evaluation_cpu

    def after_step(self) -> bool:
        """Counts a step, evaluates at every budget passed; True once the last budget is done."""
        self.steps += 1
        while self.pending and self.training_cpu() >= self.pending[0]:
            self._evaluate(self.pending.pop(0))
        return not self.pending

    def finish(self) -> None:
        """The schedule ended first: its final encoder stands for every budget left."""
        while self.pending:
            self._evaluate(self.pending.pop(0))

    def _evaluate(self, budget: float) -> None:
        import os

        import numpy as np

        clock, started = self.training_cpu(), time.process_time()
        embeddings = {split: np.asarray(self.embed(images), np.float32) for split, images in self.images.items()}
        readout_cpu = 0.0
        if self.readout is not None:
            readout_started = time.process_time()
            embeddings["train"], embeddings["test"] = self.readout(embeddings["train"], embeddings["test"])
            readout_cpu = time.process_time() - readout_started
        path = os.path.join(self.out, f"budget_{budget:g}.npz")
        temporary = path + ".partial.npz"
        np.savez(temporary, **embeddings)
        os.replace(temporary, path)
        self.evaluation_cpu += time.process_time() - started - readout_cpu
        print(json.dumps({"budget_cpu_s": budget, "train_cpu_s": round(clock, 1), "readout_cpu_s": round(readout_cpu, 1),
                          "wall_s": round(time.perf_counter() - self.started, 1), "steps": self.steps,
                          "epochs": round(self.steps / self.steps_per_epoch, 2), "embeddings": path}), flush=True)
