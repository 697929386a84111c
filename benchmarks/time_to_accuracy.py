"""kNN accuracy on Fashion-MNIST against CPU-minutes of training: ours beside lightly's and TF Similarity's SimCLR.

    bash benchmarks/peers/setup_peers.sh                 # the peers' virtual environments, once
    .venv/bin/python benchmarks/time_to_accuracy.py      # about 50 minutes on 2 idle cores
    .venv/bin/python benchmarks/time_to_accuracy.py --budgets 2 4 --contestants ours   # a quick look
    .venv/bin/python benchmarks/time_to_accuracy.py --budgets 5 10 --contestants ours --ours-args "--temperature 0.1"
                                                         # one lever of our recipe against its default

Every contestant trains the same small CNN (28x28x1, conv-BN-ReLU 32-32, pool,
64-64, pool, 128-128, global average pool: benchmarks/peers/architectures.py)
on the full 60,000 training images, each with its own method settings,
augmentation and schedule; ours also reads its last stage out over a 3x3 grid
(the recipe's `pool_grid`, `--ours-args "--pool-grid 0"` for the global average
alone) and whitens it (`kc.layers.Whitening` fitted to the training images'
embeddings at each budget, its CPU time counted; `--ours-args "--whitening off"`
to leave it out):
  ours     `keras-contrastive train --dataset fashion_mnist`'s recipe
           (benchmarks/time_to_accuracy_ours.py), under `mixed_bfloat16` where
           the CPU has bf16 units (printed; `--precision float32` to compare)
  lightly  lightly 1.6's SimCLR with its CIFAR-10 benchmark's settings, PyTorch
           on the CPU (benchmarks/peers/lightly_time_to_accuracy.py)
  tfsim    TF Similarity 0.17.1's SimCLR with its documented settings, legacy
           Keras (benchmarks/peers/tfsim_time_to_accuracy.py)
Each runs alone, one after another, in its own process and virtual
environment. The clock is the worker's CPU time (user + system, all threads:
sharing the machine barely moves it), less the time it spends embedding for
the evaluations. When the clock passes each budget the worker embeds the
training and test images with its backbone (its pooled features), and
this script scores them all with the same `kc.evaluation.knn_accuracy`
(k=200, T=0.1, cosine, the 60,000 training images as the index) on the 10,000
test images, and once more whitened alike (each contestant's features, and
the floors', whitened the way ours' recipe whitens), so the readout's share of
a lead shows apart from training's. Our warmup-cosine schedule is fitted to the last budget on the
host it runs on (the worker times a few steps first, on the same clock); each
peer's own schedule spans the epochs given for it (lightly's 3 and TF
Similarity's 10 end near 30 CPU-minutes on a fast AVX-512 host; on a slower
one their budgets come before the schedule's end).

Prints the host's CPU and instruction sets and a Markdown table, and writes
OUT/time_to_accuracy.json and OUT/time_to_accuracy.png (kNN against CPU-minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import keras_contrastive as kc  # noqa: E402
from keras_contrastive.cli import DATASET_DEFAULTS  # noqa: E402
from keras_contrastive.plots._figure import new_figure, save_png  # noqa: E402
from keras_contrastive.saving import atomic_path  # noqa: E402

import host as machine  # noqa: E402  (benchmarks/host.py, beside this file)

BENCHMARKS = Path(__file__).resolve().parent

SETUP = "bash benchmarks/peers/setup_peers.sh"
KNN_K, KNN_TEMPERATURE = 200, 0.1
#: The whitened-alike table's epsilon: the one ours' recipe whitens with.
WHITENING_EPSILON = DATASET_DEFAULTS["fashion_mnist"]["whitening"]
#: name -> (python, worker script, extra environment, setup target, epochs of its schedule (0: fitted to the last
#: budget on this host), what it is)
CONTESTANTS = {
    "ours": (Path(sys.executable), BENCHMARKS / "time_to_accuracy_ours.py", {}, None, 0,
             "keras-contrastive 0.2 SimCLR, the CLI's fashion_mnist recipe (3x3 grid, whitened)"),
    "lightly": (BENCHMARKS / ".venvs" / "lightly" / "bin" / "python", BENCHMARKS / "peers" / "lightly_time_to_accuracy.py",
                {}, "lightly", 3, "lightly 1.6 SimCLR, its CIFAR-10 benchmark settings (PyTorch)"),
    "tfsim": (BENCHMARKS / ".venvs" / "tfsim" / "bin" / "python", BENCHMARKS / "peers" / "tfsim_time_to_accuracy.py",
              {"TF_USE_LEGACY_KERAS": "1"}, "tfsim", 10, "TF Similarity 0.17.1 SimCLR, its documented settings (tf-keras)"),
}


def write_data(path: Path) -> dict:
    """Fashion-MNIST's splits as uint8 (N, 28, 28) arrays and int64 labels, in one NPZ for every worker."""
    x_train, y_train = kc.data.load_numpy("fashion_mnist", "train")
    x_test, y_test = kc.data.load_numpy("fashion_mnist", "test")
    arrays = dict(x_train=x_train[..., 0], y_train=y_train, x_test=x_test[..., 0], y_test=y_test)
    np.savez(path, **arrays)
    return arrays


def run_worker(name: str, data: Path, out: Path, budgets_s: list[float], epochs: int, seed: int,
               extra_args: list[str]) -> dict:
    """Runs a contestant's worker to its last budget; its settings and one record per budget."""
    python, script, extra_env, _, _, _ = CONTESTANTS[name]
    out.mkdir(parents=True, exist_ok=True)
    command = [str(python), str(script), "--data", str(data), "--out", str(out), "--epochs", str(epochs),
               "--seed", str(seed), "--budgets", *(f"{b:g}" for b in budgets_s), *extra_args]
    print(f"{name}: {' '.join(command[1:])}", flush=True)
    with open(out / "stderr.log", "w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True,
                                   env={**os.environ, **extra_env})
        settings, records = None, []
        for line in process.stdout:
            if not line.startswith("{"):
                continue
            message = json.loads(line)
            if "settings" in message:
                settings = message["settings"]
            else:
                records.append(message)
                print(f"  {name}: budget {message['budget_cpu_s'] / 60:g} CPU-min reached at "
                      f"{message['train_cpu_s']:.0f} CPU-s, {message['wall_s']:.0f} s wall, "
                      f"epoch {message['epochs']:.2f}", flush=True)
        process.wait()
    if process.returncode != 0 or len(records) != len(budgets_s):
        tail = (out / "stderr.log").read_text()[-3000:]
        raise RuntimeError(f"{name}'s worker exited with {process.returncode} after {len(records)} budgets:\n{tail}")
    return {"settings": settings, "records": records}


def knn(train, test, arrays: dict) -> float:
    """kNN test accuracy of one set of features, the same function for every contestant."""
    return kc.evaluation.knn_accuracy(train, arrays["y_train"], test, arrays["y_test"], k=KNN_K,
                                      temperature=KNN_TEMPERATURE)


def whitened_knn(train, test, arrays: dict) -> float:
    """kNN test accuracy after a `kc.layers.Whitening(WHITENING_EPSILON)` fitted to the training features."""
    return knn(*kc.layers.whiten_alike(train, test, epsilon=WHITENING_EPSILON), arrays)


def score(records: list[dict], arrays: dict) -> None:
    """Adds each record's kNN test accuracy as the contestant reads its encoder out, and whitened alike."""
    for record in records:
        with np.load(record.pop("embeddings")) as embeddings:
            record["knn_accuracy"] = knn(embeddings["train"], embeddings["test"], arrays)
            record["knn_whitened"] = whitened_knn(embeddings["train"], embeddings["test"], arrays)


def baselines(arrays: dict, seed: int, pool_grid: int = 0) -> dict:
    """kNN of the raw pixels and of the random-init small CNN, the floors a trained encoder must clear.

    The small CNN is read out as the peers read theirs, by its global
    average, and with a `pool_grid` also as ours is, so that each trained
    encoder has its own untrained floor; each floor is also scored whitened
    (`whitened_knn`), as ours' recipe and the whitened-alike table read out.
    """
    import keras

    features = {"raw pixels": {split: arrays[f"x_{split}"].reshape(len(arrays[f"x_{split}"]), -1).astype("float32")
                               for split in ("train", "test")}}
    for grid in sorted({0, pool_grid}):
        keras.utils.set_random_seed(seed)
        encoder = kc.encoders.small_cnn((28, 28, 1), pool_grid=grid)
        name = "random init" + (f", {grid}x{grid} grid" if grid else "")
        features[name] = {split: kc.evaluation.embed(encoder, arrays[f"x_{split}"][..., None])
                          for split in ("train", "test")}
    floors = {name: knn(f["train"], f["test"], arrays) for name, f in features.items()}
    floors.update({f"{name}, whitened": whitened_knn(f["train"], f["test"], arrays) for name, f in features.items()})
    return floors


def plot(results: dict, floors: dict, path: Path) -> None:
    figure = new_figure(800, 720)
    axes = figure.add_subplot()
    for name, result in results.items():
        minutes = [r["train_cpu_s"] / 60 for r in result["records"]]
        (line,) = axes.plot(minutes, [r["knn_accuracy"] for r in result["records"]], marker="o", label=result["label"])
        if name != "ours":  # ours' recipe is whitened already
            axes.plot(minutes, [r["knn_whitened"] for r in result["records"]], marker="o", markerfacecolor="none",
                      linestyle=":", color=line.get_color(), label=f"{name}, whitened alike")
    for (name, accuracy), style in zip(floors.items(), (":", "--", "-.") * 2):
        axes.axhline(accuracy, color="silver" if name.endswith("whitened") else "grey", linestyle=style,
                     label=f"{name} ({accuracy:.3f})")
    axes.set_xlabel("CPU-minutes of training (user + system, all threads)")
    axes.set_ylabel(f"kNN test accuracy (k={KNN_K}, T={KNN_TEMPERATURE})")
    axes.set_title("Fashion-MNIST, small CNN: accuracy per CPU-minute")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=7)
    figure.tight_layout()
    save_png(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[10, 20, 30], help="CPU-minutes of training")
    parser.add_argument("--contestants", nargs="+", choices=sorted(CONTESTANTS), default=list(CONTESTANTS))
    parser.add_argument("--epochs", nargs="+", default=[], metavar="NAME=E",
                        help="a contestant's schedule length in epochs, e.g. ours=8 (default: ours=0, fitted to the "
                        "last budget on this host; lightly=3; tfsim=10)")
    parser.add_argument("--precision", choices=kc.PRECISIONS,
                        help="ours' precision (default: mixed_bfloat16 where the CPU has bf16 units, else float32)")
    parser.add_argument("--ours-args", default="", metavar="ARGS",
                        help="more arguments for our worker, the levers of the recipe, e.g. "
                        "'--temperature 0.1', '--widths 64 128 256' or '--method vicreg' (see "
                        "benchmarks/time_to_accuracy_ours.py); the table's label names them")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--together", action="store_true",
                        help="run the contestants at the same time, sharing the cores, instead of one after another: "
                        "each clock is still its own process's CPU time, all under the same contention")
    parser.add_argument("--out", default=str(BENCHMARKS / "results"))
    args = parser.parse_args()
    epochs = {name: spec[4] for name, spec in CONTESTANTS.items()}
    for setting in args.epochs:
        name, _, value = setting.partition("=")
        if name not in CONTESTANTS or not value.isdigit():
            parser.error(f"--epochs takes NAME=E with NAME one of {sorted(CONTESTANTS)}, got {setting!r}")
        epochs[name] = int(value)
    precision = args.precision or ("mixed_bfloat16" if kc.cpu_bf16_units() else "float32")
    budgets_s = sorted(60 * b for b in args.budgets)
    host = machine.host()
    print(machine.describe(host))
    print(f"ours: {kc.describe_precision(precision)}", flush=True)

    results, skipped = {}, []
    with tempfile.TemporaryDirectory(prefix="time_to_accuracy.") as scratch:
        data = Path(scratch) / "fashion_mnist.npz"
        arrays = write_data(data)
        runnable = []
        for name in args.contestants:
            python, _, _, target, _, _ = CONTESTANTS[name]
            if python.exists():
                runnable.append(name)
            else:
                skipped.append(f"{name}: skipped, no environment at {python.parent.parent}; build it with `{SETUP} {target}`")
                print(skipped[-1], flush=True)

        def run(name: str) -> dict:
            extra = ["--precision", precision, *shlex.split(args.ours_args)] if name == "ours" else []
            return run_worker(name, data, Path(scratch) / name, budgets_s, epochs[name], args.seed, extra)

        with ThreadPoolExecutor(len(runnable) if args.together else 1) as pool:
            for name, result in zip(runnable, list(pool.map(run, runnable))):
                score(result["records"], arrays)
                label = (f"keras-contrastive 0.2, the fashion_mnist recipe with {args.ours_args}"
                         if name == "ours" and args.ours_args else CONTESTANTS[name][5])
                results[name] = {"label": label, "epochs": result["settings"].get("epochs", epochs[name]), **result}
        floors = baselines(arrays, args.seed, results.get("ours", {}).get("settings", {}).get("pool_grid", 0))

    print(f"\nkNN test accuracy (k={KNN_K}, T={KNN_TEMPERATURE}, cosine, 60,000 training images as the index) "
          "after CPU-minutes of training:\n")
    print("| contestant | " + " | ".join(f"{b:g} CPU-min" for b in sorted(args.budgets)) + " | epochs done | wall minutes |")
    print("|---|" + "---:|" * (len(budgets_s) + 2))
    for name, result in results.items():
        records = result["records"]
        print(f"| {result['label']} | " + " | ".join(f"{r['knn_accuracy']:.4f}" for r in records)
              + f" | {records[-1]['epochs']:.2f} of {result['epochs']} | {records[-1]['wall_s'] / 60:.1f} |")
    for floor, accuracy in floors.items():
        print(f"| {floor} | {accuracy:.4f} |" + " |" * (len(budgets_s) + 1))
    print(f"\nEach contestant whitened alike (kc.layers.Whitening, epsilon {WHITENING_EPSILON:g}, fitted to its "
          "training features; ours' recipe is whitened already):\n")
    print("| contestant | " + " | ".join(f"{b:g} CPU-min" for b in sorted(args.budgets)) + " |")
    print("|---|" + "---:|" * len(budgets_s))
    for result in results.values():
        print(f"| {result['label']} | " + " | ".join(f"{r['knn_whitened']:.4f}" for r in result["records"]) + " |")
    if "ours" in results:
        for name, result in results.items():
            if name != "ours":
                for key, how in (("knn_accuracy", "as read out"), ("knn_whitened", "whitened alike")):
                    leads = [o[key] - p[key] for o, p in zip(results["ours"]["records"], result["records"])]
                    print(f"ours - {name}, {how}: " + ", ".join(f"{lead:+.4f}" for lead in leads))
    for line in skipped:
        print(line)

    out = Path(args.out)
    report = {"host": host, "budgets_cpu_min": sorted(args.budgets), "knn": {"k": KNN_K, "temperature": KNN_TEMPERATURE},
              "ours_precision": precision, "together": args.together, "contestants": results, "baselines": floors, "skipped": skipped}
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "time_to_accuracy.json") as temporary:
        temporary.write_text(json.dumps(report, indent=1))
    png = out / "time_to_accuracy.png"
    with atomic_path(png, ".png") as temporary:
        plot(results, floors, temporary)
    print(f"wrote {out / 'time_to_accuracy.json'} and {png}")


if __name__ == "__main__":
    main()
