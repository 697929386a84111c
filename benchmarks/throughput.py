"""Train-step images per second of our SimCLR against its peers, side by side in one run.

Contestants, all fp32 on the CPU, views precomputed, the same encoder and head
(benchmarks/peers/architectures.py), Adam, NT-Xent at temperature 0.1:
  ours         kc.ContrastiveModel + kc.methods.SimCLR on kc.encoders.small_cnn
  keras_plain  a plain Keras 3 train_step the keras-io way (two encoder calls)
  tfsim        TF Similarity 0.17.1's ContrastiveModel + SimCLRLoss on legacy Keras
  lightly      lightly 1.6's NTXentLoss + SimCLRProjectionHead in PyTorch
  convs_alone  the network's convolutions and max-pools alone, forward and backward:
               the bound for any TensorFlow step on this network (see ConvolutionsAlone)
  convs_relu   the same with a ReLU after each convolution: the bound for any network
               with an activation after each convolution
  convs_bn_relu the same with TF's fused batch norm and a ReLU after each convolution:
               the bound for a step that keeps the network's batch norm and ReLU
  with --bfloat16, each again at its own fastest bf16 setting, for CPUs with bf16 units:
  ours_mixed_bfloat16  ours under Keras's mixed_bfloat16 policy
  convs_alone_bfloat16 the convolutions in bfloat16: the bf16 bound (convs_relu_bfloat16 and
                       convs_bn_relu_bfloat16 beside it)
  keras_plain_bfloat16, tfsim_bfloat16 (tf-keras's mixed_bfloat16 policy),
  lightly_bfloat16     (torch.autocast("cpu", torch.bfloat16) and channels-last)
Each peer runs in its own process (and virtual environment, built by
benchmarks/peers/setup_peers.sh) and waits while another is measured; rounds
are interleaved (every other one in reverse order), each contestant's median
round is reported, and the ratio is the median over rounds of the ratio
within a round, so that a change in the machine's load between rounds cancels. Achieved GFLOP/s counts
convolutions and dense layers, forward + backward = 3x forward, beside the
fp32 rate of a 2048x2048 tf.matmul measured in the same rounds. Images per
CPU-second (the contestant process's CPU time, all threads) count only the
work each did, whatever else the shared machine runs meanwhile.

    .venv/bin/python benchmarks/throughput.py [--arch small wide] [--rounds 5] [--jit-compile] [--bfloat16]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_contrastive as kc  # noqa: E402

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS / "peers"))
from architectures import (  # noqa: E402
    ARCHITECTURES, LEARNING_RATE, PROJECTION_DIM, TEMPERATURE, forward_flops_per_view, keras_fit_measurer, measure,
    random_views,
)

SETUP = "bash benchmarks/peers/setup_peers.sh"
# name -> (python of its environment, extra environment variables, setup target)
PEERS = {
    "keras_plain": (Path(sys.executable), {}, None),
    "tfsim": (BENCHMARKS / ".venvs" / "tfsim" / "bin" / "python", {"TF_USE_LEGACY_KERAS": "1"}, "tfsim"),
    "lightly": (BENCHMARKS / ".venvs" / "lightly" / "bin" / "python", {}, "lightly"),
}
STEPS = {"small": 10, "wide": 4}


class Peer:
    """A peer's step script in its own process, measured on request."""

    def __init__(self, name: str, arch: str, bfloat16: bool = False):
        python, extra_env, _ = PEERS[name]
        self.name = f"{name}_bfloat16" if bfloat16 else name
        self.process = subprocess.Popen(
            [str(python), str(BENCHMARKS / "peers" / f"{name}_step.py"), "--arch", arch, *(["--bfloat16"] if bfloat16 else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **extra_env},
        )

    def _answer(self) -> dict:
        for line in self.process.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"{self.name} stopped: {self.process.stderr.read()[-2000:]}")

    def wait_ready(self) -> None:
        self._answer()

    def measure(self, steps: int) -> dict:
        self.process.stdin.write(f"{steps}\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=60)


class Ours:
    """kc.ContrastiveModel with SimCLR on the same network, in this process."""

    def __init__(self, arch: str, jit_compile: bool, policy: str = "float32"):
        spec = ARCHITECTURES[arch]
        self.name = "ours" if policy == "float32" else f"ours_{policy}"
        # Layers read the global policy when they are made.
        keras.mixed_precision.set_dtype_policy(policy)
        try:
            encoder = kc.encoders.small_cnn(spec["input_shape"], widths=spec["widths"])
            method = kc.methods.SimCLR(projection_dim=PROJECTION_DIM, temperature=TEMPERATURE)
            self.model = kc.ContrastiveModel(encoder, method)
        finally:
            keras.mixed_precision.set_dtype_policy("float32")
        self.model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), jit_compile=jit_compile)
        # Our encoders take raw pixels in [0, 255] and scale them inside.
        view_a, view_b = (255.0 * v for v in random_views(arch))
        self.views = tf.data.Dataset.from_tensors((view_a, view_b)).repeat()
        self.measure = keras_fit_measurer(keras, self.model, self.views, spec["batch_size"])

    def wait_ready(self) -> None:
        self.measure(3)

    def close(self) -> None:
        pass


class ConvolutionsAlone:
    """The network's convolutions and max-pools over both views, forward and backward, and nothing else.

    Every contestant on TensorFlow runs these same kernels (oneDNN's on this
    CPU) on the same shapes, and they are most of a step. Without batch norm,
    ReLU, head, loss or optimizer, this rate is an upper bound for any
    TensorFlow step on this network in fp32; its ratio to a peer is the most
    that removing every other cost could gain. `after` adds what follows each
    convolution:
    - "relu": a ReLU alone, the least a network with an activation after each
      convolution adds (without a nonlinearity the stack of convolutions is
      one linear map but for its max-pools); TensorFlow runs it, and its
      gradient, as kernels of their own;
    - "bn_relu": TF's fused batch norm (training mode) and a ReLU, as in the
      network: the bound for a step that keeps them as separate kernels, which
      is how every contestant here runs them.
    """

    AFTER = {"": "convs_alone", "relu": "convs_relu", "bn_relu": "convs_bn_relu"}

    def __init__(self, arch: str, dtype: str = "float32", after: str = ""):
        """`after` is "", "relu" or "bn_relu": what follows each convolution (see the class)."""
        base = self.AFTER[after]
        self.name = base if dtype == "float32" else f"{base}_{dtype}"
        spec = ARCHITECTURES[arch]
        channels = spec["input_shape"][-1]
        rng = np.random.default_rng(1)
        self.kernels, self.scales, self.offsets = [], [], []
        for filters in spec["widths"]:
            for _ in range(2):
                he = np.sqrt(2.0 / (9 * channels))
                self.kernels.append(tf.Variable(tf.cast(rng.normal(0.0, he, (3, 3, channels, filters)), dtype)))
                if after == "bn_relu":
                    self.scales.append(tf.Variable(tf.ones(filters)))
                    self.offsets.append(tf.Variable(tf.zeros(filters)))
                channels = filters
        self.after = after
        self.images = tf.cast(np.concatenate(random_views(arch)), dtype)
        self.batch = spec["batch_size"]

    @tf.function
    def _step(self) -> tf.Tensor:
        with tf.GradientTape() as tape:
            x = self.images
            for index, kernel in enumerate(self.kernels):
                if index > 0 and index % 2 == 0:
                    x = tf.nn.max_pool2d(x, 2, 2, "VALID")
                x = tf.nn.conv2d(x, kernel, 1, "SAME")
                if self.after == "bn_relu":
                    x, _, _ = tf.compat.v1.nn.fused_batch_norm(x, self.scales[index], self.offsets[index],
                                                               is_training=True)
                if self.after:
                    x = tf.nn.relu(x)
            loss = tf.reduce_mean(tf.cast(x, tf.float32))
        # Applying the gradients keeps every backward kernel in the graph.
        variables = self.kernels + self.scales + self.offsets
        for variable, gradient in zip(variables, tape.gradient(loss, variables)):
            variable.assign_sub(tf.cast(1e-6 * gradient, variable.dtype))
        return loss

    def _run(self, steps: int) -> None:
        for _ in range(steps):
            loss = self._step()
        loss.numpy()

    def wait_ready(self) -> None:
        self._run(3)

    def measure(self, steps: int) -> dict:
        return measure(self._run, steps, self.batch)

    def close(self) -> None:
        pass


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """fp32 GFLOP/s of a size x size tf.matmul, best of `repeats`."""
    a = tf.random.uniform((size, size))
    b = tf.random.uniform((size, size))
    tf.matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        tf.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def run_arch(arch: str, rounds: int, steps: int, jit_compile: bool, peers: list[str], bfloat16: bool) -> None:
    spec = ARCHITECTURES[arch]
    contestants, skipped = [], []
    for name in peers:
        python, _, target = PEERS[name]
        if not python.exists():
            skipped.append(f"{name}: skipped, no environment at {python.parent.parent}; build it with `{SETUP} {target}`")
            continue
        contestants.append(Peer(name, arch))
    if bfloat16:  # each peer at its own fastest bf16 setting too, beside the bf16 convolutions' bound
        contestants += [Peer(name, arch, bfloat16=True) for name in peers if PEERS[name][0].exists()]
    bounds = list(ConvolutionsAlone.AFTER)
    contestants[:0] = [Ours(arch, jit_compile)] + [ConvolutionsAlone(arch, after=after) for after in bounds]
    if bfloat16:
        contestants[1 + len(bounds):1 + len(bounds)] = [Ours(arch, jit_compile, "mixed_bfloat16")] + [
            ConvolutionsAlone(arch, "bfloat16", after) for after in bounds]
    rates: dict[str, list[float]] = {}
    cpu_rates: dict[str, list[float]] = {}
    matmul = []
    try:
        for contestant in list(contestants):
            try:
                contestant.wait_ready()
            except RuntimeError as error:
                skipped.append(f"{contestant.name}: failed to start: {error}")
                contestants.remove(contestant)
        for round_index in range(rounds):
            matmul.append(matmul_gflops())
            # Every other round in reverse order, so a drift in the machine's load
            # does not always favour whoever runs first.
            order = contestants if round_index % 2 == 0 else contestants[::-1]
            for contestant in order:
                result = contestant.measure(steps)
                rates.setdefault(contestant.name, []).append(result["images_per_second"])
                cpu_rates.setdefault(contestant.name, []).append(result["images_per_cpu_second"])
    finally:
        for contestant in contestants:
            contestant.close()

    flops_per_image = 3 * 2 * forward_flops_per_view(arch)  # fwd + bwd, two views
    peak = float(np.median(matmul))
    height, width, channels = spec["input_shape"]
    print(f"\n{arch}: {height}x{width}x{channels}, widths {spec['widths']}, batch {spec['batch_size']}, "
          f"jit_compile={jit_compile}, median of {rounds} interleaved rounds of {steps} steps")
    print(f"  {'contestant':<22} {'images/s':>9} {'ours/this':>10} {'GFLOP/s':>8} {'of matmul':>10} "
          f"{'img/CPU-s':>10} {'ours/this':>10}  rounds (images/s)")
    for name, values in rates.items():
        rate = float(np.median(values))
        gflops = rate * flops_per_image / 1e9
        # The ratio within each round (measured minutes apart at most), then the median.
        # bf16 rows against our bf16 step, fp32 rows against our fp32 step.
        reference = "ours_mixed_bfloat16" if name.endswith("bfloat16") and "ours_mixed_bfloat16" in rates else "ours"
        ratio = float(np.median(np.array(rates[reference]) / np.array(values)))
        cpu_rate = float(np.median(cpu_rates[name]))
        cpu_ratio = float(np.median(np.array(cpu_rates[reference]) / np.array(cpu_rates[name])))
        print(f"  {name:<22} {rate:9.1f} {ratio:10.2f} {gflops:8.1f} {gflops / peak:10.1%} "
              f"{cpu_rate:10.1f} {cpu_ratio:10.2f}  " + " ".join(f"{value:.0f}" for value in values))
    print(f"  fp32 matmul 2048x2048: {peak:.1f} GFLOP/s; model: {flops_per_image / 1e9:.3f} GFLOP per image (2 views, fwd+bwd)")
    for suffix in ("", "_bfloat16"):
        for bound, what in (("convs_alone", "convolutions-alone"), ("convs_relu", "convolutions + ReLU"),
                            ("convs_bn_relu", "convolutions + BN + ReLU")):
            floor_cpu = np.array(cpu_rates.get(f"{bound}{suffix}", []))
            if not len(floor_cpu):
                continue
            for name in rates:
                ours = "ours_mixed_bfloat16" if suffix else "ours"
                if name in (ours, f"keras_plain{suffix}", f"tfsim{suffix}"):  # the steps on TensorFlow's kernels
                    share = float(np.median(np.array(cpu_rates[name]) / floor_cpu))
                    print(f"  {name} reaches {share:.1%} of the {what} bound{suffix.replace('_', ' in ')} "
                          "(images per CPU-second)")
    for line in skipped:
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", choices=sorted(ARCHITECTURES), default=["small", "wide"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, help="steps per measurement (default: small 10, wide 4)")
    parser.add_argument("--peers", nargs="*", choices=sorted(PEERS), default=list(PEERS))
    parser.add_argument("--jit-compile", action="store_true", help="compile our step with XLA")
    parser.add_argument("--bfloat16", action="store_true",
                        help="also run every contestant in its own bf16 mode, beside the bf16 convolutions alone")
    args = parser.parse_args()
    for arch in args.arch:
        run_arch(arch, args.rounds, args.steps or STEPS[arch], args.jit_compile, args.peers, args.bfloat16)


if __name__ == "__main__":
    main()
