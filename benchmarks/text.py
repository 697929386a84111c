"""Sentence embeddings on real text, offline: SimCSE judged on four tasks beside its random init and TF-IDF.

    python benchmarks/text.py                          # WordNet pairs: the README's first table
    python benchmarks/text.py --corpus food_reviews    # the reviews' own texts: the second table
    python benchmarks/text.py --epochs 1 --max-pairs 20000   # a quick look

`--corpus wordnet`: supervised SimCSE (`kc.methods.SimCSE`, in-batch
negatives) trains one shared text encoder on the (gloss, word) pairs of 90%
of WordNet 3.0's synsets (Debian's wordnet-base). It is judged on every task
of `kc.evaluation.text_report`: the reverse dictionary of the held-out
synsets, the Amazon fine-food reviews' kNN and linear probe, and SimLex-999 /
WordSim-353's Spearman correlation; the reviews and word pairs never take
part in training.

`--corpus food_reviews`: unsupervised SimCSE on the 4,000 training reviews
without their labels, three times in the same run: with two copies of each
review (dropout the only augmentation), with text views (`kc.augment.text`:
word dropout and a deleted span) and with text views of a random span of at
least half the review (`span_crop=0.5`), judged on the reviews' kNN and
linear probe. Reviews are read to 128 tokens (their median is 51 words, the
90th percentile 142), glosses to 32.

The tokenizer's vocabulary and TF-IDF's are learned from the training texts.
CPU time is the process's user + system time. Prints a Markdown table and
writes OUT/text_<corpus>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_contrastive as kc  # noqa: E402
from cpu_clock import CpuClock  # noqa: E402


def wordnet_pairs(args) -> tuple:
    """WordNet's training (gloss, word) pairs and their texts."""
    pairs = kc.data.load_text("wordnet", "train", pairs="lemma")
    if args.max_pairs:
        pairs = pairs.shuffle(300_000, seed=args.seed).take(args.max_pairs)
    return pairs, [t for gloss, word in pairs.as_numpy_iterator() for t in (gloss, word)]


def review_texts(args) -> tuple:
    """The 4,000 training reviews without their labels, and their texts."""
    texts = [review for review, _ in kc.data.load_text("food_reviews", "train").as_numpy_iterator()]
    return tf.data.Dataset.from_tensor_slices(texts), texts


#: The views of unlabelled texts: None for two copies, else the arguments of `kc.augment.text`.
TEXT_VIEWS = {"copies": None, "text": {}, "text+crop": {"span_crop": 0.5}}


def train_encoder(args, examples, corpus, views, clock: CpuClock, stage: str) -> keras.Model:
    """SimCSE on given pairs (views "pairs"), or on texts with the views of `TEXT_VIEWS[views]`."""
    tokenizer = kc.text.train_tokenizer(corpus, vocabulary_size=args.vocabulary_size,
                                        sequence_length=args.sequence_length)
    keras.utils.set_random_seed(args.seed)
    encoder = make_encoder(args, tokenizer)
    model = kc.ContrastiveModel(encoder, kc.methods.SimCSE(temperature=args.temperature))
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    if views == "pairs":
        batches = kc.data.make_pairs(examples, batch_size=args.batch_size, seed=args.seed)
    else:
        augment = None if TEXT_VIEWS[views] is None else kc.augment.text(**TEXT_VIEWS[views], seed=args.seed)
        batches = kc.data.make_views(examples, augment, batch_size=args.batch_size, seed=args.seed)
    history = clock.measure(f"training ({stage})", lambda: model.fit(batches, epochs=args.epochs, verbose=2).history)
    print(f"{stage}: final loss {history['loss'][-1]:.4f}", flush=True)
    return encoder


def make_encoder(args, tokenizer) -> keras.Model:
    if args.encoder == "transformer":
        return kc.encoders.text_transformer(tokenizer, embedding_dim=args.embedding_dim, num_layers=2, num_heads=4,
                                            intermediate_dim=2 * args.embedding_dim)
    return kc.encoders.bag_of_embeddings(tokenizer, embedding_dim=args.embedding_dim)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=("wordnet", "food_reviews"), default="wordnet",
                        help="wordnet: supervised on (gloss, word) pairs; food_reviews: unsupervised on the reviews")
    parser.add_argument("--encoder", choices=("bag", "transformer"), default="bag")
    parser.add_argument("--epochs", type=int, help="default: 3 (wordnet), 10 (food_reviews)")
    parser.add_argument("--batch-size", type=int, help="default: 256 (wordnet), 128 (food_reviews)")
    parser.add_argument("--learning-rate", type=float, help="default: 2e-3 (wordnet), 1e-3 (food_reviews)")
    parser.add_argument("--temperature", type=float, help="default: 0.05 (wordnet), 0.1 (food_reviews)")
    parser.add_argument("--embedding-dim", type=int, default=256)
    parser.add_argument("--vocabulary-size", type=int, default=30_000)
    parser.add_argument("--sequence-length", type=int, help="default: 32 (wordnet), 128 (food_reviews)")
    parser.add_argument("--max-pairs", type=int, default=0, help="train on this many pairs (0: all 186k)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    defaults = dict(wordnet=(3, 256, 2e-3, 0.05, 32), food_reviews=(10, 128, 1e-3, 0.1, 128))[args.corpus]
    for name, value in zip(("epochs", "batch_size", "learning_rate", "temperature", "sequence_length"), defaults):
        setattr(args, name, value if getattr(args, name) is None else getattr(args, name))
    clock = CpuClock()
    if args.corpus == "wordnet":
        examples, corpus = wordnet_pairs(args)
        encoders = {"trained": train_encoder(args, examples, corpus, "pairs", clock, "trained")}
        tasks = kc.evaluation.TEXT_TASKS
    else:  # the same training with each kind of views, side by side
        examples, corpus = review_texts(args)
        encoders = {f"trained ({views})": train_encoder(args, examples, corpus, views, clock, views)
                    for views in TEXT_VIEWS}
        tasks = ("food_reviews",)
    report = {}
    for name, encoder in encoders.items():
        figures = clock.measure(f"evaluation ({name})", lambda: kc.evaluation.text_report(
            encoder, corpus, tasks=tasks, seed=args.seed))
        for task, by_encoder in figures.items():
            report.setdefault(task, {"random_init": by_encoder["random_init"], "tfidf": by_encoder["tfidf"]})
            report[task][name] = by_encoder["trained"]
    metrics = {"reverse_dictionary": ("recall@1", "recall@10"), "food_reviews": ("knn_accuracy", "linear_probe_accuracy"),
               "simlex999": ("spearman",), "wordsim353": ("spearman",)}
    columns = [(task, metric) for task in tasks for metric in metrics[task]]
    print("| | " + " | ".join(f"{task} {metric}" for task, metric in columns) + " |\n|---|" + "---|" * len(columns))
    for name in [*encoders, "random_init", "tfidf"]:
        cells = [report[task][name][metric] for task, metric in columns]
        print(f"| {name} | " + " | ".join("n/a" if c is None else f"{c:.4f}" for c in cells) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "results": report,
        "cpu_seconds": clock.stages, "cpu": platform.processor() or platform.machine(),
    }
    (args.out / f"text_{args.corpus}.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
