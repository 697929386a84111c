"""Two-tower recommenders on MovieLens, side by side: the history tower's settings, the id tower, the baselines.

    python benchmarks/recommendation.py                       # the README's comparison (about 15 min on 2 cores)
    python benchmarks/recommendation.py --runs history        # the CLI's recipe alone

Every run trains `kc.methods.InBatchSoftmax` (Adam 3e-3, batch 512) with
`kc.encoders.item_tower` (id, title, genres; 64 wide) as the item tower and
is judged by `kc.evaluation.recommendation_report` on each user's 5 latest
ratings, the movies they rated in training never recommended, beside the
most-popular ranking and a rank-64 truncated SVD of the same training
ratings (computed once; they do not depend on the run):

- `history` (the CLI's `--interactions movielens` recipe): a
  `kc.encoders.history_tower` of each user's latest 50 movies trained on
  `kc.data.next_item_examples`, 10 epochs, temperature 0.2;
- `history_*`: the same with one setting changed (epochs, history length,
  temperature);
- `id`: a `kc.encoders.id_tower` of user ids trained on the `(user, movie)`
  ratings themselves, 15 epochs (the recipe before the history tower).

CPU time is the process's user + system time while each run trains. Prints
a Markdown table and writes OUT/recommendation.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import keras_contrastive as kc  # noqa: E402
from cpu_clock import CpuClock  # noqa: E402

#: Each run: the user tower, epochs, history length (None for the id tower) and temperature.
RUNS = {
    "history": dict(tower="history", epochs=10, history_length=50, temperature=0.2),
    "history_15_epochs": dict(tower="history", epochs=15, history_length=50, temperature=0.2),
    "history_20_latest": dict(tower="history", epochs=10, history_length=20, temperature=0.2),
    "history_100_latest": dict(tower="history", epochs=10, history_length=100, temperature=0.2),
    "history_temperature_0.1": dict(tower="history", epochs=10, history_length=50, temperature=0.1),
    "id": dict(tower="id", epochs=15, history_length=None, temperature=0.2),
}


def trained_recommender(run: dict, train, test, catalogue, seed: int) -> kc.ContrastiveModel:
    """The run's towers trained, as a model of user ids and item ids."""
    keras.utils.set_random_seed(seed)
    items = train.map(lambda user, item: item)
    if run["tower"] == "history":  # the user tower first, as the CLI draws its initial weights
        user_tower = kc.encoders.history_tower(items, history_length=run["history_length"])
        examples = kc.data.next_item_examples(train, history_length=run["history_length"])
        held_out = kc.data.next_item_examples(test, history_length=run["history_length"], earlier=train)
    else:
        user_tower = kc.encoders.id_tower(train.map(lambda user, item: user), name="user_tower")
        examples, held_out = train, test
    item_tower = kc.encoders.item_tower(catalogue.item_ids, catalogue.titles, catalogue.genres, training_ids=items)
    trained, _, _ = kc.training.train_encoder(
        user_tower, kc.methods.InBatchSoftmax(temperature=run["temperature"]), examples, None,
        epochs=run["epochs"], batch_size=512, learning_rate=3e-3, seed=seed, reproducible=True, pairs=True,
        pair_encoder=item_tower, validation_examples=held_out, verbose=2,
    )
    if run["tower"] == "id":
        return trained
    users = kc.encoders.user_history_tower(kc.data.user_histories(train, run["history_length"]), trained.encoder)
    return kc.ContrastiveModel(users, kc.methods.InBatchSoftmax(), pair_encoder=trained.pair_encoder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", choices=sorted(RUNS), default=list(RUNS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    train, test = (kc.data.load_interactions("movielens", split) for split in ("train", "test"))
    catalogue = kc.data.interaction_catalogue("movielens")
    results, baselines, clock = {}, {}, CpuClock()
    for name in args.runs:
        print(f"== {name}: {RUNS[name]}", flush=True)
        model = clock.measure(f"training {name}", lambda: trained_recommender(RUNS[name], train, test, catalogue,
                                                                               args.seed))
        report = kc.evaluation.recommendation_report({name: model}, train, test, catalogue.item_ids)
        results[name] = report[name]
        baselines = {"popularity": report["popularity"], "svd": report["svd"]}  # the same in every run
    results.update(baselines)

    metrics = list(results["svd"])
    print(f"\nMovieLens, each user's 5 latest ratings held out (seed {args.seed}; {platform.processor() or 'CPU'})")
    print("| run | " + " | ".join(metrics) + " | training CPU-s |")
    print("|---" * (len(metrics) + 2) + "|")
    for name, figures in results.items():
        print(f"| {name} | " + " | ".join(f"{figures[m]:.4f}" for m in metrics) + f" | {clock.stages.get(f'training {name}', '')} |")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"runs": {name: RUNS[name] for name in args.runs}, "seed": args.seed, "results": results,
              "cpu_seconds": clock.stages}
    (args.out / "recommendation.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
