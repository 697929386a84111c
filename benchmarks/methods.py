"""Every method on the same Fashion-MNIST budget, and SimCLR's sensitivity to temperature and batch size.

    python benchmarks/methods.py                      # the README's table and plot
    python benchmarks/methods.py --train-images 3000 --epochs 2 --methods simclr byol

Each run trains the same encoder (`small_cnn` with widths 16-32-64) with
Adam under a 10% warmup and cosine decay, for the same number of epochs over
the same training images (the same budget of views), with SimCLR-style
augmentation; each method's learning rate, batch size and crop scale are its
recipe in RECIPES. Then it
scores the frozen encoder on the full test split: weighted cosine kNN (k=200,
T=0.1, the training images as the index) and a linear probe. The random-init
encoder (same architecture, seeded) and raw pixels are scored once as the
baselines. Prints a Markdown table and writes OUT/methods.json (a run of some
methods replaces their entries and keeps the others') and
OUT/simclr_sensitivity.png (temperature 0.05 to 1.0 at batch 128; batch 64
to 1024 at the recipe's temperature and learning rate, the same epochs and so
fewer steps for larger batches).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_contrastive as kc  # noqa: E402
from keras_contrastive.evaluation.report import score_features  # noqa: E402
from keras_contrastive.plots._figure import new_figure, save_png  # noqa: E402

#: Each method's settings on this budget: peak Adam learning rate, batch size,
#: smallest crop scale and method arguments. Found by short sweeps on 6k images
#: (see the README); the rest are the methods' defaults. Methods without
#: negatives learn more from smaller, more numerous steps on the same budget;
#: BYOL and SimSiam clear the random init only with a predictor that learns 10
#: times faster than the rest (and, for BYOL, a target that follows within ~10
#: of its 1500 steps, momentum 0.9).
RECIPES = {
    "simclr": dict(learning_rate=1e-2, batch_size=128, crop_scale=0.6, method=dict(temperature=0.2)),
    "moco": dict(learning_rate=1e-2, batch_size=128, crop_scale=0.6, method=dict(temperature=0.2, queue_size=4096, symmetric=True)),
    "nnclr": dict(learning_rate=1e-2, batch_size=128, crop_scale=0.6, method=dict(temperature=0.1, support_set_size=8192)),
    "byol": dict(learning_rate=1e-3, batch_size=32, crop_scale=0.3,
                 method=dict(momentum=0.9, predictor_learning_rate_multiplier=10.0)),
    "simsiam": dict(learning_rate=1e-3, batch_size=32, crop_scale=0.5,
                    method=dict(predictor_learning_rate_multiplier=10.0)),
    "barlow_twins": dict(learning_rate=1e-2, batch_size=128, crop_scale=0.6, method=dict()),
    # variance_weight=50: the paper's sum of the two views' variance terms, for which this recipe was found.
    "vicreg": dict(learning_rate=2e-3, batch_size=128, crop_scale=0.3, method=dict(variance_weight=50.0)),
    "supcon": dict(learning_rate=1e-2, batch_size=128, crop_scale=0.3, method=dict(temperature=0.2)),
    "triplet": dict(learning_rate=1e-2, batch_size=128, crop_scale=0.3, method=dict(margin=0.2, mining="semi_hard")),
    "pair_margin": dict(learning_rate=1e-2, batch_size=128, crop_scale=0.3, method=dict(margin=1.0)),
}
TEMPERATURES = (0.05, 0.1, 0.2, 0.5, 1.0)
BATCH_SIZES = (64, 128, 256, 512, 1024)


def train_encoder(name, train, epochs, batch_size, learning_rate, method_arguments, crop_scale, seed):
    """Trains a fresh encoder with method `name`; returns it and the training seconds."""
    keras.utils.set_random_seed(seed)
    images, labels = train
    encoder = kc.encoders.small_cnn(images.shape[1:], widths=(16, 32, 64))
    augment = kc.augment.simclr(images.shape[1], channels=images.shape[-1],
                                crop_scale=(crop_scale, 1.0), seed=seed)
    _, _, seconds = kc.training.train_encoder(
        encoder, kc.methods.METHODS[name](**method_arguments), images, augment, labels=labels,
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
        reproducible=True,
    )
    return encoder, seconds


def score(encoder, train, test, k):
    return score_features(
        (kc.evaluation.embed(encoder, train[0]), train[1]),
        (kc.evaluation.embed(encoder, test[0]), test[1]), k=k,
    )


def run(name, args, train, test, seed, **overrides):
    recipe = RECIPES[name]
    method_arguments = dict(recipe["method"], **overrides.pop("method", {}))
    batch_size = overrides.pop("batch_size", recipe["batch_size"])
    encoder, seconds = train_encoder(
        name, train, args.epochs, batch_size, recipe["learning_rate"], method_arguments,
        recipe["crop_scale"], seed,
    )
    result = dict(score(encoder, train, test, args.k), method=name, seed=seed,
                  batch_size=batch_size, seconds=round(seconds, 1), **method_arguments)
    print(json.dumps(result), flush=True)
    return result


def mean_over_seeds(results, key):
    return float(np.mean([r[key] for r in results]))


def plot_sensitivity(temperature_runs, batch_runs, baseline, path):
    figure = new_figure(1100, 420)
    for index, (runs, setting, label) in enumerate(
        ((temperature_runs, "temperature", "temperature"), (batch_runs, "batch_size", "batch size"))
    ):
        axes = figure.add_subplot(1, 2, index + 1)
        values = sorted({r[setting] for r in runs})
        for metric, style in (("knn_accuracy", "o-"), ("linear_probe_accuracy", "s-")):
            means = [mean_over_seeds([r for r in runs if r[setting] == v], metric) for v in values]
            axes.plot(values, means, style, label=metric.replace("_", " "))
            axes.axhline(baseline[metric], linestyle=":", color=axes.lines[-1].get_color(),
                         label=f"random-init {metric.split('_')[0]}")
        axes.set_xscale("log")
        axes.set_xticks(values)
        axes.set_xticklabels([str(v) for v in values])
        axes.set_xlabel(f"SimCLR {label}")
        axes.set_ylabel("Fashion-MNIST test accuracy")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle("SimCLR on the same budget (mean over seeds)")
    figure.tight_layout()
    return save_png(figure, path)


def merged_with_earlier(path: Path, report: dict) -> dict:
    """`report` over the results already at `path`: the methods and sweeps run now replace theirs.

    A run of some methods (`--methods nnclr`) keeps the other methods' rows
    and the sweeps from earlier runs with the same budget; each method's
    entry records the settings it ran with.
    """
    for runs in report["methods"].values():
        for result in runs:
            result["settings"] = report["settings"]
    if not path.exists():
        return report
    earlier = json.loads(path.read_text())
    if {key: earlier["settings"][key] for key in ("train_images", "epochs", "k")} != {
        key: report["settings"][key] for key in ("train_images", "epochs", "k")
    }:
        return report  # another budget: nothing earlier is comparable
    merged = dict(earlier, **{key: value for key, value in report.items() if key != "methods"})
    merged["methods"] = dict(earlier.get("methods", {}), **report["methods"])
    return merged


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-images", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--k", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--methods", nargs="+", default=sorted(RECIPES), choices=sorted(RECIPES))
    parser.add_argument("--no-sensitivity", action="store_true", help="skip the SimCLR sweeps")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args(argv)

    images, labels = kc.data.load_numpy("fashion_mnist", "train")
    train = images[: args.train_images], labels[: args.train_images]
    test = kc.data.load_numpy("fashion_mnist", "test")
    seeds = range(args.seeds)
    print(f"{len(train[0])} training images, {len(test[0])} test images, {args.epochs} epochs, "
          f"{args.seeds} seed(s)", flush=True)

    keras.utils.set_random_seed(0)
    baseline = score(kc.encoders.small_cnn(images.shape[1:], widths=(16, 32, 64)), train, test, args.k)
    raw = score_features((train[0].reshape(len(train[0]), -1) / 255.0, train[1]),
                         (test[0].reshape(len(test[0]), -1) / 255.0, test[1]), k=args.k)
    method_runs = {name: [run(name, args, train, test, seed) for seed in seeds] for name in args.methods}
    report = dict(settings=vars(args), random_init=baseline, raw_pixels=raw, methods=method_runs)

    print("\n| method | batch | kNN | linear probe | train s |\n|---|---|---|---|---|")
    for name, runs in method_runs.items():
        print(f"| {name} | {RECIPES[name]['batch_size']} | {mean_over_seeds(runs, 'knn_accuracy'):.4f} | "
              f"{mean_over_seeds(runs, 'linear_probe_accuracy'):.4f} | {mean_over_seeds(runs, 'seconds'):.0f} |")
    for name, scores in (("random-init encoder", baseline), ("raw pixels", raw)):
        print(f"| {name} | - | {scores['knn_accuracy']:.4f} | {scores['linear_probe_accuracy']:.4f} | - |")

    if not args.no_sensitivity:
        # The table's SimCLR runs are the sweeps' points at the recipe's settings.
        table_runs = method_runs.get("simclr") or [run("simclr", args, train, test, seed) for seed in seeds]
        recipe_temperature = RECIPES["simclr"]["method"]["temperature"]
        temperature_runs = table_runs + [
            run("simclr", args, train, test, seed, method=dict(temperature=t))
            for t in TEMPERATURES if t != recipe_temperature for seed in seeds
        ]
        batch_runs = table_runs + [
            run("simclr", args, train, test, seed, batch_size=b)
            for b in BATCH_SIZES if b != RECIPES["simclr"]["batch_size"] and b <= len(train[0])
            for seed in seeds
        ]
        report.update(temperature_sweep=temperature_runs, batch_sweep=batch_runs)
        plot = plot_sensitivity(temperature_runs, batch_runs, baseline,
                                Path(args.out) / "simclr_sensitivity.png")
        print(f"\nwrote {plot}")
    path = Path(args.out) / "methods.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged_with_earlier(path, report), indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
