"""CLIP on real image-caption pairs, offline: zero-shot classes and cross-modal retrieval on held-out pairs.

    python benchmarks/clip.py                   # openclipart's clip art and its SVG text (about 8 CPU-minutes)
    python benchmarks/clip.py --pairs emoji     # Noto's emoji and their Unicode names (about 2.5 CPU-minutes)
    python benchmarks/clip.py --epochs 2        # a quick look

`kc.methods.CLIP` trains two towers from scratch on the training split of
`kc.data.load_pairs(PAIRS)`: a `small_cnn` on the images and a
`bag_of_embeddings` on the captions (its vocabulary learned from the
training captions), each linearly projected into one joint space, with
the symmetric InfoNCE and a learned temperature, under Adam and a
warmup-cosine schedule, in a seeded batch order. Then, on the held-out
split, beside the same towers at the same seed's random initialisation
and beside chance:

- zero-shot classification: each image takes the class whose prompts
  ("a picture of a {}" and "{}" with the class names of
  `kc.data.pair_class_names`, ensembled) it is nearest
  (`kc.evaluation.zero_shot`); chance is 1 / classes, and what always
  answering the commonest class scores (the majority share);
- cross-modal retrieval: image to text and text to image Recall@1/5/10
  over the held-out pairs, identical captions counting as one
  (`kc.evaluation.cross_modal_recall`); chance is that of a random ranking.

Openclipart is the default because its class names are words of its
captions (keywords such as "food", "people", "shapes"), so the text tower
can learn them; most of the emoji groups' names ("Smileys & Emotion",
"Travel & Places", "Objects") occur in no emoji name, so their zero-shot
figure stays near chance however long CLIP trains, while their retrieval
learns well.

The training CPU time is the process's user + system time (`CpuClock`), so
sharing the machine does not move it. Prints a Markdown table; writes
OUT/clip_<pairs>.json and OUT/clip_<pairs>_queries.png: text queries and the
held-out images the trained model finds for them (green: the image's
caption is the query).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from math import comb
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_contrastive as kc  # noqa: E402
from cpu_clock import CpuClock  # noqa: E402

KS = (1, 5, 10)
TEMPLATES = ("a picture of a {}", "{}")
#: Each set's recipe: image size, CNN widths, epochs, batch size, peak learning rate, caption ids kept.
RECIPES = {
    "emoji": dict(image_size=32, widths=(16, 32, 64), epochs=15, batch_size=64, learning_rate=3e-3,
                  sequence_length=16),
    "openclipart": dict(image_size=48, widths=(16, 32, 64), epochs=10, batch_size=64, learning_rate=3e-3,
                        sequence_length=48),
}
#: Text queries of the grid: held-out captions for the emoji, words of the keywords for openclipart.
QUERIES = {
    "emoji": None,  # the first held-out caption of each of six groups
    "openclipart": ["apple", "car", "flower", "cat", "house", "flag"],
}


def load_split(pairs: str, split: str, image_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A split's images as one uint8 array (decoded once), its captions and its labels."""
    data = kc.data.load_pairs(pairs, split, image_size=image_size)
    images = np.stack([image for image, _ in data.as_numpy_iterator()])
    return images, np.array(data.captions), data.labels


def clip_model(args, tokenizer) -> kc.ContrastiveModel:
    keras.utils.set_random_seed(args.seed)
    return kc.ContrastiveModel(
        kc.encoders.small_cnn((args.image_size, args.image_size, 3), widths=args.widths),
        kc.methods.CLIP(temperature=args.temperature, projection_dim=args.projection_dim),
        pair_encoder=kc.encoders.bag_of_embeddings(tokenizer, embedding_dim=args.text_dim),
    )


def held_out_figures(model, test, class_names) -> dict:
    images, captions, labels = test
    zero_shot = kc.evaluation.zero_shot(model, images, labels, class_names, templates=TEMPLATES)
    recall = kc.evaluation.cross_modal_recall(model, images, captions, ks=KS)
    return {"zero_shot_accuracy": zero_shot["accuracy"], "zero_shot_balanced_accuracy": zero_shot["balanced_accuracy"],
            **{f"{direction}_recall@{k}": value for direction, by_k in recall.items() for k, value in by_k.items()},
            "_zero_shot": zero_shot}


def chance_figures(test, num_classes: int) -> dict:
    """Zero-shot chance (uniform and majority) and the expected Recall@k of a random ranking."""
    _, captions, labels = test
    distinct, counts = np.unique(captions, return_counts=True)
    n = len(captions)
    figures = {"zero_shot_accuracy": 1.0 / num_classes,
               "zero_shot_majority_share": float(np.bincount(labels).max() / len(labels)),
               "zero_shot_balanced_accuracy": 1.0 / num_classes}
    for k in KS:
        figures[f"image_to_text_recall@{k}"] = min(k, len(distinct)) / len(distinct)
        # A caption with c images misses at k when its k draws from n images avoid all c of them.
        figures[f"text_to_image_recall@{k}"] = float(np.mean([1 - comb(n - c, k) / comb(n, k) for c in counts]))
    return figures


def default_queries(test) -> list[str]:
    """The first held-out caption of each of the first six classes present."""
    _, captions, labels = test
    return [str(captions[np.argmax(labels == label)]) for label in np.unique(labels)[:6]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", choices=sorted(RECIPES), default="openclipart")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--widths", type=lambda text: tuple(int(w) for w in text.split(",")),
                        help="the CNN's stage widths, e.g. 16,32,64")
    parser.add_argument("--sequence-length", type=int, help="caption word ids kept")
    parser.add_argument("--projection-dim", type=int, default=128)
    parser.add_argument("--text-dim", type=int, default=128, help="the caption tower's word-vector width")
    parser.add_argument("--vocabulary-size", type=int, default=20_000)
    parser.add_argument("--temperature", type=float, default=0.07, help="CLIP's initial temperature (learned)")
    parser.add_argument("--queries", nargs="+", help="text queries of the grid")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    for name, value in RECIPES[args.pairs].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    clock = CpuClock()
    train_images, train_captions, _ = clock.measure(
        "loading (train)", lambda: load_split(args.pairs, "train", args.image_size))
    test = clock.measure("loading (test)", lambda: load_split(args.pairs, "test", args.image_size))
    class_names = kc.data.pair_class_names(args.pairs)
    print(f"{len(train_images)} training and {len(test[0])} held-out pairs "
          f"({len(set(test[1]))} distinct held-out captions), {len(class_names)} classes", flush=True)
    tokenizer = kc.text.train_tokenizer(list(train_captions), vocabulary_size=args.vocabulary_size,
                                        sequence_length=args.sequence_length)

    report = {"random_init": clock.measure("evaluation (random init)", lambda: held_out_figures(
        clip_model(args, tokenizer), test, class_names))}
    model = clip_model(args, tokenizer)
    steps = args.epochs * (len(train_images) // args.batch_size)
    model.compile(optimizer=keras.optimizers.Adam(kc.training.warmup_cosine(args.learning_rate, steps)))
    batches = (tf.data.Dataset.from_tensor_slices((train_images, train_captions))
               .shuffle(len(train_images), seed=args.seed).batch(args.batch_size, drop_remainder=True))
    history = clock.measure("training", lambda: model.fit(batches, epochs=args.epochs, verbose=2, shuffle=False))
    report["trained"] = clock.measure("evaluation (trained)", lambda: held_out_figures(model, test, class_names))
    report["chance"] = chance_figures(test, len(class_names))

    columns = ["zero_shot_accuracy", "zero_shot_balanced_accuracy",
               *(f"{d}_recall@{k}" for d in ("image_to_text", "text_to_image") for k in KS)]
    headings = ["zero-shot accuracy", "zero-shot balanced acc.",
                *(f"{arrow} R@{k}" for arrow in ("image→text", "text→image") for k in KS)]
    print(f"\n{args.pairs}: held-out split, {args.epochs} epochs, {clock.stages['training']:.0f} training CPU-s\n")
    print("| | " + " | ".join(headings) + " |\n|---|" + "---|" * len(columns))
    for name, label in (("trained", "CLIP, trained"), ("random_init", "random-init towers"),
                        ("chance", "chance (uniform; a random ranking)")):
        print(f"| {label} | " + " | ".join(f"{report[name][column]:.4f}" for column in columns) + " |")
    majority = report["chance"]["zero_shot_majority_share"]
    print(f"| chance (always the commonest class) | {majority:.4f} | {1 / len(class_names):.4f} |"
          + " — |" * (len(columns) - 2))
    per_class = report["trained"]["_zero_shot"]["per_class_accuracy"]
    print("Trained zero-shot accuracy by class: " + ", ".join(f"{k} {v:.2f}" for k, v in per_class.items()))

    args.out.mkdir(parents=True, exist_ok=True)
    queries = args.queries or QUERIES[args.pairs] or default_queries(test)
    grid = args.out / f"clip_{args.pairs}_queries.png"
    kc.plots.plot_text_query_grid(queries, model.embed_pair(np.array(queries)), test[0], model.predict(
        test[0], verbose=0), grid, gallery_captions=list(test[1]), k=8)
    print(f"wrote {grid}")
    for name in ("trained", "random_init"):
        zero_shot = report[name].pop("_zero_shot")
        report[name]["zero_shot_per_class_accuracy"] = zero_shot["per_class_accuracy"]
    record = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "data": {"train_pairs": len(train_images), "test_pairs": len(test[0]),
                 "distinct_test_captions": len(set(test[1])), "classes": class_names},
        "results": report,
        "final_epoch": {key: float(values[-1]) for key, values in history.history.items()},
        "cpu_seconds": clock.stages, "cpu": platform.processor() or platform.machine(),
    }
    (args.out / f"clip_{args.pairs}.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
