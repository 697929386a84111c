"""A user's own folder of pictures: SimCLR on Debian's openclipart-png, searched and fine-tuned.

    python benchmarks/openclipart.py                     # the README's figures and retrieval grid
    python benchmarks/openclipart.py --epochs 2 --max-files 1000   # a quick look

The 8,121 PNGs of `apt-get install openclipart-png` (clip art of every size,
most of them RGBA) in 22 top-level category folders are used as a user's
folder would be: `kc.data.index_directory` labels each file by its top-level
folder, `kc.data.holdout_split` holds out 20% of each category, and
`kc.data.from_files` decodes them at 64x64 (transparency on white), cached
in memory after the first epoch. SimCLR trains `small_cnn` (widths 16-32-64) on the training
files without their labels. Then, beside the same architecture with random
weights (and, for kNN, raw pixels), on the held-out files:

- weighted kNN accuracy (k=20, T=0.1, cosine) by category, the training
  files as the index;
- retrieval of the held-out files from the training files: Recall@1,
  Recall@10 and mAP@R by category (`kc.evaluation.retrieval_metrics`);
- SimCLR's semi-supervised protocol: the whole encoder fine-tuned with a
  linear head on 10% of the training labels, class-balanced
  (`kc.evaluation.fine_tune`).

Each stage's CPU time is the process's user + system time, so sharing the
machine does not move it. Prints a Markdown table; writes OUT/openclipart.json,
OUT/openclipart_model.keras (the trained model, for `--trained`) and
OUT/openclipart_retrieval.png (held-out queries and their nearest
training files by the trained encoder).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_contrastive as kc  # noqa: E402
from cpu_clock import CpuClock  # noqa: E402

ROOT = "/usr/share/openclipart/png"


def load_split(args):
    """The training and held-out files as cached datasets of (image, label), and the class names."""
    paths, labels, class_names = kc.data.index_directory(args.root)
    if args.max_files and args.max_files < len(paths):
        keep = np.sort(np.random.default_rng(args.seed).permutation(len(paths))[: args.max_files])
        paths, labels = [paths[i] for i in keep], labels[keep]
    train, test = kc.data.holdout_split(len(paths), 0.2, labels, seed=args.seed)
    parts = [
        kc.data.from_files([paths[i] for i in indices], args.image_size, labels=labels[indices], cache="memory")
        for indices in (train, test)
    ]
    return parts[0], parts[1], class_names


def evaluate(encoder, train, test, k):
    """kNN accuracy and retrieval metrics of the held-out files against the training files.

    A ReLU encoder with random weights can map a blank picture to the zero
    vector, whose cosine similarity is undefined: such files are left out of
    the retrieval metrics (as queries and from the index) and counted.
    """
    train_features, train_labels = kc.evaluation.embed_labelled(encoder, train)
    test_features, test_labels = kc.evaluation.embed_labelled(encoder, test)
    scores = {"knn_accuracy": kc.evaluation.knn_accuracy(train_features, train_labels, test_features, test_labels,
                                                         k=k, temperature=0.1)}
    nonzero_train, nonzero_test = (np.linalg.norm(f, axis=1) > 0 for f in (train_features, test_features))
    scores.update(kc.evaluation.retrieval_metrics(
        test_features[nonzero_test], test_labels[nonzero_test], train_features[nonzero_train],
        train_labels[nonzero_train], k=(1, 10)))
    scores["zero_embeddings"] = int((~nonzero_train).sum() + (~nonzero_test).sum())
    return scores, (train_features, train_labels, test_features, test_labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=ROOT)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64], help="small_cnn's stage widths")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--crop-scale", type=float, default=0.2)
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--label-fraction", type=float, default=0.1)
    parser.add_argument("--fine-tune-epochs", type=int, default=30)
    parser.add_argument("--max-files", type=int, help="a random subset of the files, for a quick look")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trained", metavar="MODEL", help="evaluate this saved model (OUT/openclipart_model.keras) "
                        "instead of training one")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clock = CpuClock()

    train, test, class_names = clock.measure("index and check the files", lambda: load_split(args))
    print(f"{len(train.file_paths)} training and {len(test.file_paths)} held-out files in {len(class_names)} "
          f"categories; {len(train.skipped_files) + len(test.skipped_files)} unreadable", flush=True)
    size = (args.image_size, args.image_size, 3)
    keras.utils.set_random_seed(args.seed)
    encoder = kc.encoders.small_cnn(size, widths=tuple(args.widths))
    random_init = keras.Model.from_config(encoder.get_config())  # the same architecture, its own random weights
    augment = kc.augment.simclr(args.image_size, channels=3, crop_scale=(args.crop_scale, 1.0), seed=args.seed)
    if args.trained:  # the evaluation again, of a model an earlier run saved
        model, final_loss = kc.load_model(args.trained), None
    else:
        model, history, _ = clock.measure("SimCLR training", lambda: kc.training.train_encoder(
            encoder, kc.methods.SimCLR(temperature=args.temperature), train.map(lambda image, label: image),
            augment, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
            seed=args.seed, reproducible=True, verbose=2,
        ))
        final_loss = history.history["loss"][-1]
        kc.save_model(model, out / "openclipart_model.keras")

    results = {}
    for name, featurizer in (("trained", model.encoder), ("random_init", random_init)):
        results[name], features = clock.measure(f"kNN and retrieval, {name}",
                                                lambda: evaluate(featurizer, train, test, args.k))
        if name == "trained":
            trained_features = features
    raw = lambda images: np.asarray(images, np.float32).reshape(len(images), -1) / 255.0  # noqa: E731
    results["raw_pixels"], _ = clock.measure("kNN and retrieval, raw pixels", lambda: evaluate(raw, train, test, args.k))
    tuned = clock.measure(f"fine-tune on {args.label_fraction:.0%} of the labels, trained and random init",
                          lambda: kc.evaluation.fine_tune(
                              model.encoder, train, test, label_fraction=args.label_fraction,
                              epochs=args.fine_tune_epochs, seed=args.seed, compare_random_init=True))
    results["trained"]["fine_tune_accuracy"] = tuned["accuracy"]
    results["random_init"]["fine_tune_accuracy"] = tuned["random_init_accuracy"]

    train_features, train_labels, test_features, test_labels = trained_features
    queries = np.random.default_rng(args.seed).choice(len(test_labels), size=8, replace=False)
    test_images = np.stack([image for image, _ in test.as_numpy_iterator()])
    train_images = np.stack([image for image, _ in train.as_numpy_iterator()])
    kc.plots.plot_retrieval_grid(test_images[queries], test_labels[queries], test_features[queries], train_images,
                                 train_labels, train_features, out / "openclipart_retrieval.png", k=8,
                                 class_names=class_names)

    report = dict(
        settings=vars(args), host=dict(cpu=platform.processor() or platform.machine(), cpus=os.cpu_count()),
        files=dict(train=len(train.file_paths), test=len(test.file_paths), categories=len(class_names)),
        labelled_examples=tuned["labelled_examples"], final_loss=final_loss,
        cpu_seconds=clock.stages, results=results,
    )
    (out / "openclipart.json").write_text(json.dumps(report, indent=2, default=float))
    columns = ("knn_accuracy", "recall@1", "recall@10", "map@r", "fine_tune_accuracy")
    print("\n| encoder | kNN | Recall@1 | Recall@10 | mAP@R | fine-tune, "
          f"{args.label_fraction:.0%} labels |\n|---|---|---|---|---|---|")
    for name, scores in results.items():
        cells = [f"{scores[column]:.4f}" if column in scores else "-" for column in columns]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\nwrote {out / 'openclipart.json'} and {out / 'openclipart_retrieval.png'}")


if __name__ == "__main__":
    main()
