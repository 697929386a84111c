"""The `keras-contrastive` command line: a thin layer over the package."""

from __future__ import annotations

import abc
import argparse
import contextlib
import errno
import json
import math
import shutil
import sys
from pathlib import Path


def _int_at_least(text: str, minimum: int, expected: str) -> int:
    """`text` as an int of at least `minimum`, or an argparse error saying `expected`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    return _int_at_least(text, 1, "a positive whole number")


def _non_negative_int(text: str) -> int:
    """An argparse type: a whole number of at least 0."""
    return _int_at_least(text, 0, "a whole number of at least 0")


def _positive_number(text: str) -> float:
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _whitening(text: str) -> float | str:
    """An argparse type: a whitening epsilon (a number >= 0), or "off"."""
    if text == "off":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or off, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or off, got {text!r}")
    return value


def _text_tasks(text: str) -> tuple[str, ...]:
    """An argparse type: a comma-separated list of text evaluation tasks, or none."""
    from keras_contrastive.evaluation.text_report import TEXT_TASKS

    tasks = () if text == "none" else tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [t for t in tasks if t not in TEXT_TASKS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(TEXT_TASKS)} or none")
    return tasks


#: Settings that suit each data set on a CPU budget; every one can be overridden.
DATASET_DEFAULTS = {
    # kNN with k=200 is the protocol for 50k-image sets; digits has about 140 images a class. Whitening raised the
    # trained encoder's kNN on seeds 0 to 3 and its probe on three of them, and it led its baselines, whitened alike,
    # on both figures on all four (one kNN tie; README, "Two commands on a fresh machine").
    "digits": dict(batch_size=128, epochs=60, crop_scale=0.3, learning_rate=8e-3, temperature=0.2, knn_k=20, flip=False,
                   pool_grid=0, whitening=1e-2),
    # Fashion-MNIST and MNIST: the settings the Fashion-MNIST sweep found best on a CPU budget; the 3x3 grid of
    # small_cnn's embedding and its whitening (kc.layers.Whitening) are what benchmarks/time_to_accuracy.py
    # measured best for Fashion-MNIST's centred clothes.
    "fashion_mnist": dict(batch_size=128, epochs=5, crop_scale=0.6, learning_rate=8e-3, temperature=0.2, knn_k=200,
                          flip=True, pool_grid=3, whitening=1e-2),
    "mnist": dict(batch_size=128, epochs=5, crop_scale=0.6, learning_rate=8e-3, temperature=0.2, knn_k=200, flip=False,
                  pool_grid=0, whitening=None),
    "cifar10": dict(batch_size=256, epochs=100, crop_scale=0.08, learning_rate=1e-3, temperature=0.2, knn_k=200,
                    flip=True, pool_grid=0, whitening=None),
    "cifar100": dict(batch_size=256, epochs=100, crop_scale=0.08, learning_rate=1e-3, temperature=0.2, knn_k=200,
                     flip=True, pool_grid=0, whitening=None),
}
#: Settings for `--data DIR` and `--data tfds:NAME`: colour pictures at 64x64, a few thousand of them
#: (what the openclipart benchmark found on a CPU budget; see benchmarks/openclipart.py).
OWN_DATA_DEFAULTS = dict(batch_size=128, epochs=30, crop_scale=0.2, learning_rate=2e-3, temperature=0.2, knn_k=20, flip=True,
                         pool_grid=0, whitening=None)
#: The encoders `--encoder` names directly; any keras.applications architecture or a keras-hub preset folder works too.
OWN_ENCODERS = ("small_cnn", "resnet18")
#: Settings for `--text`: the optimiser settings benchmarks/text.py measured for SimCSE on WordNet's pairs (the
#: encoders keep their own default widths: the benchmark's bag_of_embeddings was 256 wide, the default 128).
TEXT_DEFAULTS = dict(batch_size=256, epochs=3, learning_rate=2e-3, temperature=0.05, knn_k=20)
#: The text corpora `--text` names; any other value is a file (see `kc.data.text_file`).
TEXT_CORPORA = {"wordnet": dict(pairs="lemma"), "fortunes": {}}
#: The text encoders `--encoder` names with `--text`.
TEXT_ENCODERS = ("bag_of_embeddings", "text_transformer")
#: Settings for `--pairs`: the recipe benchmarks/clip.py measured for CLIP on the emoji (a small_cnn on 32x32
#: pictures, a bag of embeddings on the captions).
PAIR_DEFAULTS = dict(batch_size=64, epochs=15, learning_rate=3e-3, temperature=0.07)
PAIR_IMAGE_SIZE = 32
#: The image-caption sets `--pairs` names; any other value is a captions file (see `kc.data.caption_pairs`).
PAIR_SETS = ("emoji", "openclipart")
#: Settings for `--interactions`: the recipe measured for the in-batch softmax on MovieLens (a history tower of each
#: user's latest 50 items, an item tower of id, title and genres, 64 wide; 10 epochs gave Recall@100 0.400, 15 gave
#: 0.395; README, "Recommendation").
INTERACTION_DEFAULTS = dict(batch_size=512, epochs=10, learning_rate=3e-3, temperature=0.2)
#: The interaction sets `--interactions` names.
INTERACTION_SETS = ("movielens",)
#: The prompts of the zero-shot evaluation, ensembled (see `kc.evaluation.zero_shot`).
ZERO_SHOT_TEMPLATES = ("a picture of a {}", "{}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-contrastive",
        description="Contrastive representation learning with Keras 3.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train",
        help="train an encoder, then compare it with a random-init encoder and raw pixels",
        description="Trains an encoder with a self-supervised method, saves the model "
        "to OUT/model.keras, exports the encoder for TF Serving to OUT/serving/<version>/, and prints kNN and linear-probe accuracy of the trained "
        "encoder beside a random-init encoder and raw pixels (also in OUT/metrics.json).",
    )
    source = train.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=sorted(DATASET_DEFAULTS),
                        help="a catalogued data set (default: digits, embedded, no download)")
    source.add_argument("--data", metavar="DIR|tfds:NAME",
                        help="your own folder of images (classes from its subfolders, see --labels), "
                        "or any TFDS image data set")
    source.add_argument("--text", metavar="wordnet|fortunes|FILE",
                        help="texts: WordNet's (gloss, word) pairs, the fortune quotations, or your own UTF-8 file "
                        "of one text per line (or tab-separated anchor, positive [, hard negative])")
    source.add_argument("--pairs", metavar="emoji|openclipart|FILE",
                        help="images with captions, for CLIP: Noto's emoji with their Unicode names, openclipart's "
                        "clip art with its titles and keywords, or your own CSV (file,caption) or JSON-lines file of "
                        "captions beside the images")
    source.add_argument("--interactions", choices=INTERACTION_SETS,
                        help="user-item interactions, for a two-tower recommender: MovieLens' 100,004 ratings, "
                        "each user's latest 5 held out")
    train.add_argument("--data-dir", help="directory with the data set's files, where it has local ones (TFDS's data_dir)")
    train.add_argument("--image-size", type=_positive_int,
                       help="with --data or --pairs: side of the square images trained on (default: 64; 32 with --pairs)")
    train.add_argument("--channels", type=int, choices=[1, 3], default=3, help="with --data DIR: 3 (colour) or 1 (grey)")
    train.add_argument("--labels", choices=["inferred", "none"], default="inferred",
                       help="with --data DIR: classes from the first level of subfolders (for the evaluation), or none")
    train.add_argument("--test-fraction", type=_positive_number, default=0.2,
                       help="with --data DIR: share of the files held out for the evaluation (default: 0.2)")
    train.add_argument("--test-split", default="test", help="with --data tfds:NAME: the split evaluated on (default: test)")
    train.add_argument("--cache", metavar="memory|PATH",
                       help="with --data: keep the decoded images in memory, or in files at PATH, after the first epoch")
    train.add_argument("--method", help="self-supervised method (default: simclr; simcse with --text; clip with --pairs; "
                       "in_batch_softmax with --interactions)")
    train.add_argument("--encoder", metavar="NAME|PRESET_DIR",
                       help="small_cnn (default), resnet18, any keras.applications architecture (e.g. ResNet50, "
                       "MobileNetV3Small), or a local keras-hub preset directory (its weights are trained further); "
                       "with --text: bag_of_embeddings (default) or text_transformer; with --pairs: the image tower; "
                       "with --interactions: item_tower (id, title and genres; default) or id_tower (ids alone)")
    train.add_argument("--vocabulary-size", type=_positive_int, default=30_000,
                       help="with --text or --pairs: words in the tokenizer's vocabulary, learned from the training texts")
    train.add_argument("--sequence-length", type=_positive_int, default=32,
                       help="with --text or --pairs: tokens per text; longer texts are truncated (32 suits glosses and "
                       "captions; the food reviews, median 51 words, gained from 128: README)")
    train.add_argument("--tasks", type=_text_tasks, metavar="TASK,...|none",
                       help="with --text: the evaluation tasks (default: all of reverse_dictionary, food_reviews, "
                       "simlex999, wordsim353)")
    train.add_argument("--weights", metavar="FILE",
                       help="with a keras.applications --encoder: a weights file of it without top to start from")
    train.add_argument("--strategy", choices=["none", "mirrored", "multi_worker"], default="none",
                       help="tf.distribute: mirrored over this machine's devices, or multi_worker across the machines "
                       "TF_CONFIG names (each runs the same command; only the chief writes --out)")
    train.add_argument("--epochs", type=_positive_int)
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--optimizer", default="adam", choices=["adam", "lars"],
                       help="Adam, or LARS as in SimCLR (weight decay 1e-6; biases and batch norm excluded)")
    train.add_argument("--learning-rate", type=_positive_number,
                       help="peak learning rate, reached after a 10%% warmup, then cosine decay "
                       "(default: the data set's for Adam, 0.3 x batch / 256 for LARS)")
    train.add_argument("--temperature", type=_positive_number)
    train.add_argument("--projection-dim", type=_positive_int, help="width of the method's projection (default: the method's)")
    train.add_argument("--crop-scale", type=_positive_number, help="smallest crop area fraction of the augmentation")
    train.add_argument("--pool-grid", type=_non_negative_int, metavar="G",
                       help="with the small_cnn encoder of images: also average its last stage over a GxG grid of "
                       "regions, for centred, upright pictures (default: 3 for fashion_mnist, else 0)")
    train.add_argument("--whitening", type=_whitening, metavar="EPSILON|off",
                       help="with images: end the encoder in a kc.layers.Whitening with this epsilon, fitted to the "
                       "trained encoder's embeddings of the training images and served with it (default: 0.01 for "
                       "digits and fashion_mnist, else off)")
    train.add_argument("--knn-k", type=_positive_int, help="neighbours of the kNN evaluation (200 for large data sets)")
    train.add_argument("--knn-every", type=_positive_int, metavar="N", help="log test kNN accuracy every N epochs during training")
    train.add_argument("--train-subset", type=_positive_int, help="train on the first N training images only")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--jit-compile", action="store_true", help="compile the train step with XLA")
    train.add_argument("--precision", choices=["float32", "mixed_bfloat16"], default="float32",
                       help="compute in float32, or in bfloat16 with float32 weights: faster on CPUs with bf16 units "
                       "(AVX-512 BF16, AMX), slower without them; the run prints which this CPU has")
    train.add_argument("--out", required=True, help="output directory")
    train.add_argument("--overwrite", action="store_true", help="replace a model already in OUT")

    index = commands.add_parser(
        "index",
        help="export a similarity search over a folder of images for TF Serving",
        description="Embeds every image under DIR with the model's encoder and exports one SavedModel, "
        "OUT/<version>/, whose `search` signature answers a batch of uint8 images with the ids (paths "
        "relative to DIR) and cosine similarities of their K most similar indexed images, and whose "
        "serving_default embeds, as `export` writes.",
    )
    index.add_argument("model", help="a .keras file saved by ContrastiveModel.save or `train`")
    index.add_argument("--data", required=True, metavar="DIR", help="the folder of images to index (searched recursively)")
    index.add_argument("--out", required=True, help="the search's base directory for TF Serving")
    index.add_argument("--k", type=_positive_int, default=10, help="results per query (default: 10)")
    index.add_argument("--batch-size", type=_positive_int, default=256, help="images per forward pass")
    index.add_argument("--version", type=_positive_int, help="version number (default: the next free one)")
    index.add_argument("--overwrite", action="store_true", help="replace an existing version")

    search = commands.add_parser(
        "search",
        help="ask an exported search which indexed images are like these",
        description="Loads a version written by `index` (or kc.export.export_search) with TensorFlow alone, "
        "as TF Serving does, and prints each image's most similar indexed images with their cosine similarity.",
    )
    search.add_argument("search", metavar="VERSION_DIR", help="e.g. serving/search/1")
    search.add_argument("images", nargs="*", metavar="IMAGE", help="query image files (JPEG, PNG, GIF, BMP)")
    search.add_argument("--text", nargs="+", metavar="QUERY",
                        help="text queries instead, for an image-text (CLIP) model's index: e.g. --text 'a red car'")
    search.add_argument("--k", type=_positive_int, help="results to print per query (default: all the export's)")
    search.add_argument("--grid", metavar="PNG", help="also draw each query and its results into this PNG")
    search.add_argument("--data", metavar="DIR", help="with --grid: the folder that was indexed, where the results are")

    export = commands.add_parser(
        "export",
        help="export a saved model's encoder for TensorFlow Serving",
        description="Writes the encoder of a .keras model as a SavedModel in TF Serving's "
        "layout, BASE_DIR/<version>/, with the signature serving_default: uint8 images -> "
        "L2-normalised embedding.",
    )
    export.add_argument("model", help="a .keras file saved by ContrastiveModel.save or `train`")
    export.add_argument("--out", required=True, help="the model's base directory for TF Serving")
    export.add_argument("--version", type=_positive_int, help="version number (default: the next free one)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing version")

    evaluate = commands.add_parser(
        "evaluate",
        help="score a saved model (kNN, linear probe, representation health) and draw it",
        description="Writes OUT/report.json (kNN and linear-probe test accuracy, alignment, uniformity, "
        "embedding std, effective rank) and PNGs: a t-SNE map of test embeddings, a retrieval grid and, "
        "when MODEL's directory holds the history.json `train` writes (or --history is given), the training curves.",
    )
    evaluate.add_argument("model", help="a .keras file saved by ContrastiveModel.save or `train`")
    evaluate.add_argument("--dataset", default="digits", choices=sorted(DATASET_DEFAULTS))
    evaluate.add_argument("--data-dir", help="directory with the data set's files, where it has local ones")
    evaluate.add_argument("--out", required=True, help="output directory")
    evaluate.add_argument("--knn-k", type=_positive_int, help="kNN neighbours (default: the data set's, as in train)")
    evaluate.add_argument("--probe-epochs", type=_positive_int, default=30, help="epochs of the linear probe")
    evaluate.add_argument("--train-subset", type=_positive_int, help="use the first N training images only")
    evaluate.add_argument("--test-subset", type=_positive_int, help="use the first N test images only")
    evaluate.add_argument("--history", help="history JSON for the training curves (default: MODEL's directory's)")
    evaluate.add_argument("--seed", type=int, default=0)
    return parser


class _Source(abc.ABC):
    """What `train` needs of its data, whatever the kind: examples, views, an encoder and an evaluation.

    Attributes:
        train, test: The training examples (single examples, `(example, label)`
            pairs, or given pairs with `pairs`) and the held-out examples
            (None for no validation loss).
        description: The line `train` prints before training.
        data_settings: What a checkpoint records of the data.
        settings: The data's defaults (batch size, epochs, ...) before the flags.
        method, encoder: The default method and encoder names.
        pairs: Whether `train` holds given pairs rather than examples to augment.
    """

    #: What the printed results are, after "trained for N s; ".
    results_heading = "test accuracy"

    def __init__(self, train, test, description, data_settings, settings, method, encoder, pairs=False):
        self.train, self.test, self.description = train, test, description
        self.data_settings, self.settings = data_settings, settings
        self.method, self.encoder, self.pairs = method, encoder, pairs

    @abc.abstractmethod
    def augment(self, settings: dict, seed: int):
        """The views' augmentation, or None for views that are copies or given pairs."""

    @abc.abstractmethod
    def make_encoder(self, name: str, weights: str | None):
        """The encoder `--encoder` names, for this data."""

    def make_pair_encoder(self):
        """The second tower (captions' for image-caption pairs), or None for one encoder of both views."""
        return None

    @abc.abstractmethod
    def evaluate(self, model, settings: dict, seed: int) -> dict | None:
        """The held-out figures of the trained model beside its baselines, or None without labels."""

    @abc.abstractmethod
    def print_results(self, results: dict) -> None:
        """Prints what `evaluate` returned as a table."""

    def serving_model(self, model):
        """The model to save, evaluate and export: the trained `model`, or one taking what a server is asked for."""
        return model

    def export(self, model, base_dir: Path) -> tuple[Path, str]:
        """Exports the trained model for TF Serving: the path written and what it serves."""
        from keras_contrastive.export import export_embedder

        return export_embedder(model, base_dir), "the embedder"


class _ImageSource(_Source):
    """A catalogued data set, a folder of images or a TFDS data set."""

    def __init__(self, args: argparse.Namespace):
        source = args.data or args.dataset or "digits"
        super().__init__(*_image_data(args, source), dict(OWN_DATA_DEFAULTS if args.data else DATASET_DEFAULTS[source]),
                         method="simclr", encoder="small_cnn")
        self.cache = args.data is None  # a folder streams from disk; --cache keeps its decoded images
        self.labelled = isinstance(self.train.element_spec, tuple)
        self.shape = tuple((self.train.element_spec[0] if self.labelled else self.train.element_spec).shape)

    def augment(self, settings: dict, seed: int):
        import keras_contrastive as kc

        height, _, channels = self.shape
        return kc.augment.simclr(height, channels=channels, crop_scale=(settings["crop_scale"], 1.0),
                                 horizontal_flip=settings["flip"], seed=seed)

    def make_encoder(self, name: str, weights: str | None):
        return _encoder(name, self.shape, weights, pool_grid=self.settings["pool_grid"],
                        whitening=self.settings["whitening"])

    def serving_model(self, model):
        """The trained model, its encoder's whitening (if it has one) fitted to the training images."""
        import keras_contrastive as kc

        if self.settings["whitening"] is not None:
            print(f"fitting the whitening (epsilon {self.settings['whitening']:g}) to the training images' "
                  "embeddings ...", flush=True)
            kc.encoders.fit_whitening(model.encoder, self.train)
        return model

    def evaluate(self, model, settings: dict, seed: int) -> dict | None:
        import keras_contrastive as kc

        encoder = model.encoder
        if not self.labelled:
            print("no labels (--labels none), so no kNN or linear-probe evaluation", flush=True)
            return None
        print(f"evaluating: linear probe and kNN (k={settings['knn_k']}, T=0.1) on the test split ...", flush=True)
        return kc.evaluation.compare_with_baselines(encoder, self.train, self.test, k=settings["knn_k"], seed=seed,
                                                    verbose=sys.stdout.isatty())

    def print_results(self, results: dict) -> None:
        print(f"  {'encoder':<12} {'linear probe':>13} {'kNN':>7}")
        for name, scores in results.items():
            print(f"  {name:<12} {scores['linear_probe_accuracy']:>13.4f} {scores['knn_accuracy']:>7.4f}")


class _TextSource(_Source):
    """A text corpus by name (WordNet's pairs, the fortunes) or a user's file of texts or pairs."""

    results_heading = "held-out figures"

    def __init__(self, args: argparse.Namespace):
        import keras_contrastive as kc

        if args.image_size is not None:
            raise ValueError("--image-size goes with images (--data or --dataset), not --text.")
        split = f"train[:{args.train_subset}]" if args.train_subset else "train"
        if args.text in TEXT_CORPORA:
            train = kc.data.load_text(args.text, split, **TEXT_CORPORA[args.text])
        else:
            train = kc.data.text_file(args.text)
            if args.train_subset:
                train = train.take(args.train_subset)
        pairs = isinstance(train.element_spec, tuple)
        count = int(train.cardinality())
        what = "given pairs" if pairs else "texts"
        super().__init__(train, None, f"{args.text}: {count} training {what}",
                         dict(train_split=split, vocabulary_size=args.vocabulary_size,
                              sequence_length=args.sequence_length),
                         dict(TEXT_DEFAULTS), method="simcse", encoder="bag_of_embeddings", pairs=pairs)
        self.vocabulary_size, self.sequence_length = args.vocabulary_size, args.sequence_length
        self.tasks = args.tasks
        self._texts = None

    @property
    def texts(self) -> list:
        """Every training text (both sides of each pair): the tokenizer's and TF-IDF's corpus."""
        if self._texts is None:
            rows = self.train.as_numpy_iterator()
            self._texts = [t for row in rows for t in (row if self.pairs else (row,))]
        return self._texts

    def augment(self, settings: dict, seed: int):
        import keras_contrastive as kc

        # Given pairs are their own views. Unlabelled texts get word dropout and a deleted span on top of the
        # encoder's dropout, SimCSE too: on the food reviews their kNN lead over the random init was 6.5 points,
        # against 4.4 with two copies (benchmarks/text.py --corpus food_reviews, seed 0).
        return None if self.pairs else kc.augment.text(seed=seed)

    def make_encoder(self, name: str, weights: str | None):
        import keras_contrastive as kc

        if weights is not None:
            raise ValueError("--weights goes with a keras.applications --encoder, not with --text.")
        if name not in TEXT_ENCODERS:
            raise ValueError(f"--encoder {name} is not a text encoder; with --text choose one of {list(TEXT_ENCODERS)}.")
        print(f"learning a vocabulary of up to {self.vocabulary_size} words from the training texts ...", flush=True)
        tokenizer = kc.text.train_tokenizer(self.texts, vocabulary_size=self.vocabulary_size,
                                            sequence_length=self.sequence_length)
        return getattr(kc.encoders, name)(tokenizer)

    def evaluate(self, model, settings: dict, seed: int) -> dict | None:
        import keras_contrastive as kc

        encoder = model.encoder
        tasks = kc.evaluation.TEXT_TASKS if self.tasks is None else self.tasks
        if not tasks:
            print("no evaluation (--tasks none)", flush=True)
            return None
        return kc.evaluation.text_report(encoder, self.texts, tasks=tasks, k=settings["knn_k"], seed=seed, verbose=True)

    def print_results(self, results: dict) -> None:
        for task, by_encoder in results.items():
            if "skipped" in by_encoder:
                print(f"  {task}: skipped ({by_encoder['skipped']})")
                continue
            metrics = list(next(iter(by_encoder.values())))
            print(f"  {task:<20}" + "".join(f"{metric:>23}" for metric in metrics))
            for name, scores in by_encoder.items():
                print(f"    {name:<18}" + "".join(
                    f"{'n/a' if scores[m] is None else format(scores[m], '.4f'):>23}" for m in metrics))


class _PairSource(_Source):
    """Images with captions (the emoji, openclipart, or a user's captions file) for two towers, such as CLIP's."""

    results_heading = "held-out figures"

    def __init__(self, args: argparse.Namespace):
        import keras_contrastive as kc

        image_size = args.image_size or PAIR_IMAGE_SIZE
        split = f"train[:{args.train_subset}]" if args.train_subset else "train"
        if args.pairs in PAIR_SETS:
            train, test = (kc.data.load_pairs(args.pairs, s, image_size=image_size) for s in (split, "test"))
            class_names = kc.data.pair_class_names(args.pairs)
        else:
            train, test = (kc.data.caption_pairs(args.pairs, image_size=image_size, split=s, seed=args.seed)
                           for s in (split, "test"))
            class_names = None
        super().__init__(
            train, test, f"{args.pairs}: {len(train.captions)} training and {len(test.captions)} held-out image-caption "
            f"pairs at {image_size}x{image_size}",
            dict(train_split=split, image_size=image_size, vocabulary_size=args.vocabulary_size,
                 sequence_length=args.sequence_length),
            dict(PAIR_DEFAULTS), method="clip", encoder="small_cnn", pairs=True,
        )
        self.shape = (image_size, image_size, 3)
        self.class_names = class_names
        self.test_labels = getattr(test, "labels", None)
        self.captions = [str(caption) for caption in train.captions]
        self.vocabulary_size, self.sequence_length = args.vocabulary_size, args.sequence_length

    def augment(self, settings: dict, seed: int):
        return None  # a picture and its caption are the two views

    def make_encoder(self, name: str, weights: str | None):
        return _encoder(name, self.shape, weights)

    def make_pair_encoder(self):
        import keras_contrastive as kc

        print(f"learning a vocabulary of up to {self.vocabulary_size} words from the training captions ...", flush=True)
        tokenizer = kc.text.train_tokenizer(self.captions, vocabulary_size=self.vocabulary_size,
                                            sequence_length=self.sequence_length)
        return kc.encoders.bag_of_embeddings(tokenizer)

    def evaluate(self, model, settings: dict, seed: int) -> dict | None:
        import keras
        import numpy as np

        import keras_contrastive as kc

        images = np.stack([image for image, _ in self.test.as_numpy_iterator()])
        captions = np.array([str(caption) for caption in self.test.captions])
        print(f"evaluating on {len(captions)} held-out pairs: retrieval both ways"
              + (f" and zero-shot over {len(self.class_names)} classes" if self.class_names else "") + " ...", flush=True)
        ks = tuple(sorted({1, min(10, len(set(captions)))}))  # a small held-out set has fewer than 10 captions
        keras.utils.set_random_seed(seed)
        random_init = kc.ContrastiveModel.from_config(model.get_config())
        results = {}
        for name, candidate in (("trained", model), ("random_init", random_init)):
            scores = {}
            if self.class_names:
                scores["zero_shot_accuracy"] = kc.evaluation.zero_shot(
                    candidate, images, self.test_labels, self.class_names, templates=ZERO_SHOT_TEMPLATES
                )["accuracy"]
            recall = kc.evaluation.cross_modal_recall(candidate, images, captions, ks=ks)
            scores.update({f"{direction}_recall@{k}": value for direction, by_k in recall.items()
                           for k, value in by_k.items()})
            results[name] = scores
        return results

    def print_results(self, results: dict) -> None:
        _print_table("towers", results)


class _InteractionSource(_Source):
    """User-item interactions by name (MovieLens) for a two-tower recommender: a history tower and an item tower.

    The user tower embeds a user's latest items (`kc.encoders.history_tower`), trained on each interaction
    predicted from the items before it (`kc.data.next_item_examples`); the model saved, evaluated and exported
    takes user ids, their training histories built in (`kc.encoders.user_history_tower`).
    """

    results_heading = "held-out figures (each user's latest items; items rated in training never recommended)"

    def __init__(self, args: argparse.Namespace):
        import keras_contrastive as kc

        split = f"train[:{args.train_subset}]" if args.train_subset else "train"
        self.interactions, self.held_out = (kc.data.load_interactions(args.interactions, s) for s in (split, "test"))
        self.catalogue = kc.data.interaction_catalogue(args.interactions)
        super().__init__(
            kc.data.next_item_examples(self.interactions),
            kc.data.next_item_examples(self.held_out, earlier=self.interactions),
            f"{args.interactions}: {int(self.interactions.cardinality())} training and "
            f"{int(self.held_out.cardinality())} held-out interactions with {len(self.catalogue)} items, each "
            "predicted from the items its user rated before",
            dict(train_split=split), dict(INTERACTION_DEFAULTS), method="in_batch_softmax", encoder="item_tower",
            pairs=True,
        )
        self.seen = kc.data.seen_items(args.interactions, split)
        self.histories = kc.data.user_histories(self.interactions)
        self.item_encoder = args.encoder or "item_tower"
        if self.item_encoder not in ("item_tower", "id_tower"):
            raise ValueError(f"--encoder with --interactions must be item_tower or id_tower, got {self.item_encoder!r}.")

    def augment(self, settings: dict, seed: int):
        return None  # a history and its next item are the two views

    def make_encoder(self, name: str, weights: str | None):
        import keras_contrastive as kc

        # The user tower: --encoder names the item tower (make_pair_encoder).
        return kc.encoders.history_tower(self.interactions.map(lambda user, item: item))

    def make_pair_encoder(self):
        import keras_contrastive as kc

        items = self.interactions.map(lambda user, item: item)
        if self.item_encoder == "id_tower":
            return kc.encoders.id_tower(items, input_name="item_id", name="item_tower")
        return kc.encoders.item_tower(self.catalogue.item_ids, self.catalogue.titles, self.catalogue.genres,
                                      training_ids=items)

    def serving_model(self, model):
        import keras_contrastive as kc

        users = kc.encoders.user_history_tower(self.histories, model.encoder)
        method = type(model.method).from_config(model.method.get_config())
        return kc.ContrastiveModel(users, method, pair_encoder=model.pair_encoder)

    def evaluate(self, model, settings: dict, seed: int) -> dict | None:
        import keras

        import keras_contrastive as kc

        print(f"evaluating on {int(self.held_out.cardinality())} held-out interactions: Recall@10/50/100 and "
              "NDCG@10 beside the most popular items and a truncated SVD ...", flush=True)
        keras.utils.set_random_seed(seed)
        random_init = kc.ContrastiveModel.from_config(model.get_config())
        return kc.evaluation.recommendation_report({"trained": model, "random_init": random_init}, self.interactions,
                                                   self.held_out, self.catalogue.item_ids)

    def print_results(self, results: dict) -> None:
        _print_table("recommender", results)

    def export(self, model, base_dir: Path) -> tuple[Path, str]:
        from keras_contrastive.export import export_recommender

        return (export_recommender(model, base_dir, self.catalogue.item_ids, seen=self.seen, verbose=False),
                f"the recommender (signature recommend, the top 100 of {len(self.catalogue)} items)")


def _print_table(heading: str, results: dict) -> None:
    """Prints `{row: {metric: value}}` as a table, a column per metric of the first row."""
    metrics = list(next(iter(results.values())))
    widths = [len(metric) + 2 for metric in metrics]
    print(f"  {heading:<12}" + "".join(f"{metric:>{width}}" for metric, width in zip(metrics, widths)))
    for name, scores in results.items():
        print(f"  {name:<12}" + "".join(f"{scores[metric]:>{width}.4f}" for metric, width in zip(metrics, widths)))


def _train(args: argparse.Namespace) -> dict:
    import keras

    import keras_contrastive as kc
    from keras_contrastive.saving import atomic_path

    strategy = _strategy(args.strategy)  # first: MultiWorkerMirroredStrategy must come before any other op
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a directory for the model, metrics and export.")
    for key in ("pool_grid", "whitening"):
        if getattr(args, key) is not None and (args.text or args.pairs or args.interactions):
            raise ValueError(f"--{key.replace('_', '-')} goes with images (--dataset or --data), not with "
                             "--text, --pairs or --interactions.")
    keras.utils.set_random_seed(args.seed)
    data = (_TextSource(args) if args.text else _PairSource(args) if args.pairs
            else _InteractionSource(args) if args.interactions else _ImageSource(args))
    method_name = (args.method or data.method).lower()
    encoder_name = args.encoder or data.encoder
    settings = data.settings
    for key in settings:
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    if settings.get("whitening") == "off":
        settings["whitening"] = None
    method_class = kc.methods.METHODS.get(method_name)
    if method_class is None:
        raise ValueError(f"Unknown method {method_name!r}; choose one of {sorted(kc.methods.METHODS)}.")
    if not _is_chief(strategy):  # the other workers train beside the chief and write only to their own folder
        out = out / "workers" / f"{strategy.cluster_resolver.task_type}-{strategy.cluster_resolver.task_id}"
    model_path, metrics_path, checkpoint_dir = out / "model.keras", out / "metrics.json", out / "checkpoint"
    unfinished = model_path.exists() and checkpoint_dir.exists()  # killed after saving the model
    if model_path.exists() and not unfinished and not args.overwrite:
        raise FileExistsError(f"{model_path} exists; pass --overwrite to replace it, or choose another --out.")
    if args.overwrite and checkpoint_dir.exists():
        shutil.rmtree(checkpoint_dir)
        unfinished = False
    out.mkdir(parents=True, exist_ok=True)

    train, test = data.train, data.test
    train_size = int(train.cardinality())
    steps = settings["epochs"] * kc.training.steps_per_epoch(train, settings["batch_size"])
    method_arguments = _method_arguments(method_class, args.projection_dim, settings["temperature"], steps)
    if args.optimizer == "lars" and args.learning_rate is None:  # SimCLR's rule for LARS
        settings["learning_rate"] = 0.3 * settings["batch_size"] / 256
    source = args.text or args.pairs or args.interactions or args.data or args.dataset or "digits"
    run = dict(dataset=source, **data.data_settings, method=method_name, method_arguments=method_arguments,
               encoder=encoder_name, weights=args.weights, optimizer=args.optimizer, seed=args.seed,
               strategy=args.strategy, precision=args.precision, **settings)
    # A checkpoint records the run's settings; one from another run is refused, naming the differences.
    checkpoint = kc.callbacks.TrainingCheckpoint(checkpoint_dir, settings=run)

    if unfinished:
        print(f"finishing the run in {out}: its model is saved; evaluating and exporting it", flush=True)
        model = kc.load_model(model_path)
        history = json.loads((out / "history.json").read_text())
        train_seconds, optimizer_steps = history["train_seconds"], history["optimizer_steps"]
    else:
        print(
            f"{data.description}; {method_name} with {encoder_name}, "
            f"{settings['epochs']} epochs of batch {settings['batch_size']}"
            + (f", on {strategy.num_replicas_in_sync} replicas ({args.strategy})" if strategy else ""),
            flush=True,
        )
        if checkpoint.resume_epoch:
            print(f"resuming from the checkpoint after epoch {checkpoint.resume_epoch} in {checkpoint_dir}", flush=True)
        monitor = (kc.callbacks.KNNMonitor(train, test, every=args.knn_every, k=settings["knn_k"])
                   if args.knn_every and isinstance(data, _ImageSource) and data.labelled else None)
        print(kc.describe_precision(args.precision), flush=True)
        augment = data.augment(settings, args.seed)  # before the encoder: the seeded runs draw in this order
        with strategy.scope() if strategy else contextlib.nullcontext(), kc.precision_policy(args.precision):
            encoder = data.make_encoder(encoder_name, args.weights)
            pair_encoder = data.make_pair_encoder()
            model, _, train_seconds = kc.training.train_encoder(
                encoder, method_class(**method_arguments), train, augment,
                epochs=settings["epochs"], batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
                optimizer=args.optimizer, seed=args.seed, reproducible=True, validation_examples=test,
                callbacks=[monitor] if monitor else None, verbose=1 if sys.stdout.isatty() else 2,
                jit_compile=args.jit_compile, checkpoint=checkpoint, cache=getattr(data, "cache", True),
                pairs=data.pairs, pair_encoder=pair_encoder,
            )
        metrics, epochs = checkpoint.training_history()
        optimizer_steps = int(model.optimizer.iterations.numpy())
        with atomic_path(out / "history.json") as temporary:
            temporary.write_text(json.dumps({"metrics": metrics, "epochs": epochs, "train_seconds": train_seconds,
                                             "optimizer_steps": optimizer_steps}, indent=1, allow_nan=False))
        model = data.serving_model(model)
        kc.save_model(model, model_path)

    results = data.evaluate(model, settings, args.seed)
    exported, served = data.export(model, out / "serving")
    metrics, _ = checkpoint.training_history()
    report = {
        "dataset": source,
        **data.data_settings,
        "method": model.method.get_config(),
        "encoder": encoder_name,
        "settings": settings,
        "train_examples": train_size,
        "train_seconds": round(train_seconds, 1),
        "resumed_after_epoch": checkpoint.resume_epoch,
        "optimizer": args.optimizer,
        "precision": args.precision,
        "optimizer_steps": optimizer_steps,
        "replicas": strategy.num_replicas_in_sync if strategy else 1,
        "final_loss": metrics["loss"][-1],
        "accuracy": results,
        "model": str(model_path),
        "export": str(exported),
    }
    with atomic_path(metrics_path) as temporary:
        temporary.write_text(json.dumps(report, indent=2, allow_nan=False))
    shutil.rmtree(checkpoint_dir)  # only once the model, its metrics and its export are in place
    if not _is_chief(strategy):
        shutil.rmtree(out)
        return report
    print(f"\ntrained for {train_seconds:.0f} s" + (f"; {data.results_heading}:" if results else ""))
    if results:
        data.print_results(results)
    print(f"saved {model_path} and {metrics_path}")
    print(f"exported {served} for TF Serving to {exported}")
    return report


def _image_data(args: argparse.Namespace, source: str):
    """The training and test images, a description, and the data settings a checkpoint records."""
    import keras_contrastive as kc

    if args.data is None:
        if args.image_size is not None:
            raise ValueError("--image-size goes with --data DIR or tfds:NAME; a catalogued --dataset keeps its own size.")
        train_split = f"train[:{args.train_subset}]" if args.train_subset else "train"
        train = kc.data.load(source, train_split, data_dir=args.data_dir)
        test = kc.data.load(source, "test", data_dir=args.data_dir)
        return train, test, _describe_images(source, train, test), dict(train_split=train_split)
    image_size = args.image_size or 64
    if source.startswith("tfds:"):
        train_split = f"train[:{args.train_subset}]" if args.train_subset else "train"
        train = kc.data.load(source, train_split, data_dir=args.data_dir, image_size=image_size)
        test = kc.data.load(source, args.test_split, data_dir=args.data_dir, image_size=image_size)
        return (train, test, _describe_images(source, train, test),
                dict(train_split=train_split, test_split=args.test_split, image_size=image_size))
    if not 0 < args.test_fraction < 1:
        raise ValueError(f"--test-fraction must be between 0 and 1, got {args.test_fraction}.")
    paths, label_ids, class_names = kc.data.index_directory(args.data, labels=None if args.labels == "none" else "inferred")
    train_indices, test_indices = kc.data.holdout_split(len(paths), args.test_fraction, label_ids, seed=args.seed)
    if args.train_subset:
        train_indices = train_indices[: args.train_subset]
    print(f"{args.data}: {len(paths)} image files" + (f" in {len(class_names)} classes" if class_names else "")
          + "; checking that each one decodes ...", flush=True)
    parts = [
        kc.data.from_files([paths[i] for i in indices], image_size, channels=args.channels,
                           labels=None if label_ids is None else label_ids[indices], cache=args.cache)
        for indices in (train_indices, test_indices)
    ]
    settings = dict(image_size=image_size, channels=args.channels, labels=args.labels,
                    test_fraction=args.test_fraction, train_subset=args.train_subset, class_names=class_names)
    return parts[0], parts[1], _describe_images(args.data, *parts), settings


def _describe_images(source: str, train, test) -> str:
    spec = train.element_spec[0] if isinstance(train.element_spec, tuple) else train.element_spec
    height, width, channels = spec.shape
    return (f"{source}: {int(train.cardinality())} training and {int(test.cardinality())} test images of "
            f"{height}x{width}x{channels}")


def _encoder(name: str, input_shape: tuple[int, int, int], weights: str | None, pool_grid: int = 0,
             whitening: float | None = None):
    """The encoder `--encoder` names: one of ours, a keras.applications architecture, or a keras-hub preset folder.

    `pool_grid` is small_cnn's (the others pool as their architecture does);
    a `whitening` epsilon ends the encoder in a `kc.layers.Whitening`.
    """
    import keras_contrastive as kc

    encoder = _named_encoder(name, input_shape, weights, pool_grid)
    return encoder if whitening is None else kc.encoders.whitened(encoder, whitening)


def _named_encoder(name: str, input_shape: tuple[int, int, int], weights: str | None, pool_grid: int):
    """`_encoder`'s network before any whitening."""
    import keras_contrastive as kc

    if weights is not None and (name in OWN_ENCODERS or Path(name).is_dir()):
        raise ValueError(f"--weights goes with a keras.applications --encoder; {name} starts from its own weights.")
    if name == "small_cnn":
        return kc.encoders.small_cnn(input_shape, pool_grid=pool_grid)
    if name in OWN_ENCODERS:
        return getattr(kc.encoders, name)(input_shape)
    if Path(name).is_dir():
        return kc.encoders.hub_backbone(name, input_shape)
    if "/" in name or name.startswith("."):
        raise ValueError(f"--encoder {name}: no such keras-hub preset directory.")
    return kc.encoders.application(name, input_shape, weights=weights)  # its error lists the architectures


def _strategy(name: str):
    """The tf.distribute strategy `--strategy` names, or None."""
    if name == "none":
        return None
    import os

    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if "TF_CONFIG" not in os.environ:
        raise ValueError(
            "--strategy multi_worker needs TF_CONFIG, the cluster's workers and this one's place among them, "
            'e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}.'
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def _is_chief(strategy) -> bool:
    """Whether this process writes the run's outputs: always, but for the non-chief workers of a multi-worker run."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "chief" or (not has_chief and task_type == "worker" and task_id == 0)


def _method_arguments(method_class, projection_dim, temperature, total_steps) -> dict:
    """The command line's settings that `method_class` takes."""
    import inspect

    offered = dict(projection_dim=projection_dim, temperature=temperature, total_steps=total_steps)
    accepted = inspect.signature(method_class).parameters
    return {name: value for name, value in offered.items() if name in accepted and value is not None}


def _evaluate(args: argparse.Namespace) -> None:
    from keras_contrastive.evaluation import evaluate_saved_model

    report = evaluate_saved_model(
        args.model, args.dataset, args.out, data_dir=args.data_dir,
        k=args.knn_k or DATASET_DEFAULTS[args.dataset]["knn_k"], probe_epochs=args.probe_epochs,
        train_subset=args.train_subset, test_subset=args.test_subset, history_file=args.history, seed=args.seed,
    )
    print(f"test accuracy: kNN (k={report['knn']['k']}) {report['knn']['accuracy']:.4f}, "
          f"linear probe {report['linear_probe']['accuracy']:.4f}")
    print(f"wrote {Path(args.out) / 'report.json'} and {', '.join(report['plots'].values())}")


def _export(args: argparse.Namespace) -> None:
    from keras_contrastive.export import export_embedder
    from keras_contrastive.loading import load_model

    model = load_model(args.model)
    target = export_embedder(model, args.out, version=args.version, overwrite=args.overwrite)
    print(f"exported {args.model} to {target}")


def _index(args: argparse.Namespace) -> None:
    import os

    import keras_contrastive as kc
    from keras_contrastive.export import export_image_text, export_search

    model = kc.load_model(args.model)
    height, width, channels = model.towers.inputs[0].shape
    paths, _, _ = kc.data.index_directory(args.data, labels=None)
    print(f"{args.data}: {len(paths)} image files; checking that each one decodes ...", flush=True)
    images = kc.data.from_files(paths, (height, width), channels=channels)
    ids = [Path(os.path.relpath(path, args.data)).as_posix() for path in images.file_paths]
    print(f"embedding {len(ids)} images with {args.model} ...", flush=True)
    # An image-text model (CLIP) is searched by text too: its export adds search_images.
    image_text = [tower.kind for tower in model.towers.input_pair] == ["images", "text"]
    export = export_image_text if image_text else export_search
    target = export(model, args.out, images, ids, k=min(args.k, len(ids)), version=args.version,
                    batch_size=args.batch_size, overwrite=args.overwrite)
    print(f"exported a search over {len(ids)} images of {args.data}" + (", by image or text," if image_text else "")
          + f" to {target}")


def _search(args: argparse.Namespace) -> None:
    import keras_contrastive as kc

    if bool(args.images) == bool(args.text):
        raise ValueError("search takes query IMAGE files or --text QUERY ..., one of the two.")
    search = kc.retrieval.ServedSearch(args.search, "search_images" if args.text else "search")
    if args.grid and not args.data:
        raise ValueError("--grid draws the results from the indexed folder: give it with --data DIR.")
    if args.text:
        names, queries = args.text, args.text
        shape = tuple(kc.retrieval.ServedSearch(args.search).image_shape)  # the indexed images' shape
    else:
        names, shape = args.images, search.image_shape
        queries = _read_images(args.images, shape[:2], shape[2])
    ids, scores = search(queries)
    k = min(args.k or search.k, search.k)
    ids, scores = ids[:, :k], scores[:, :k]
    for name, found, similarity in zip(names, ids, scores):
        print(name)
        for rank, (found_name, score) in enumerate(zip(found, similarity), start=1):
            print(f"  {rank:>3}  {score:.4f}  {found_name}")
    if args.grid:
        results = _read_images([str(Path(args.data) / name) for name in ids.reshape(-1)], shape[:2], shape[2])
        results = results.reshape(ids.shape + results.shape[1:])
        titles = ["query"] * len(names) if args.text else [Path(path).name for path in names]
        kc.plots.plot_search_results(queries, titles, results, ids, scores, args.grid)
        print(f"drew the results into {args.grid}")


def _read_images(paths: list[str], image_size: tuple[int, int], channels: int):
    """The named image files decoded and resized, uint8 `(N, H, W, C)`; any unreadable one is an error."""
    import warnings

    import numpy as np

    import keras_contrastive as kc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unreadable file is an error below, not a warning
        images = kc.data.from_files(paths, image_size, channels=channels, verbose=False)
    if images.skipped_files:
        raise ValueError(f"Cannot read {', '.join(images.skipped_files)} as an image (JPEG, PNG, GIF or BMP).")
    return np.stack(list(images.as_numpy_iterator()))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `keras-contrastive` console script: 0 on success, 2 with one line on any failure a user can cause."""
    args = _parser().parse_args(argv)
    try:
        {"train": _train, "export": _export, "evaluate": _evaluate, "index": _index, "search": _search}[args.command](args)
    except Exception as error:  # noqa: BLE001 - every failure below is reported on one line
        message = _user_error(error)
        if message is None:
            raise
        print(f"keras-contrastive: error: {message}", file=sys.stderr)
        return 2
    return 0


def _user_error(error: Exception) -> str | None:
    """One line for a failure the user can cause and mend, or None for a bug (shown as a traceback)."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"{error}. Free some space there, then run the same command again: it resumes from the last checkpoint."
    if isinstance(error, PermissionError):
        return f"{error}. Check the permissions of that path, or choose another --out."
    if isinstance(error, (ValueError, OSError, RuntimeError)):
        return str(error)
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(error, tf.errors.OpError):
        # A check inside the compiled step: its own message, not TensorFlow's 30 lines around it.
        lines = [line.strip() for line in error.message.splitlines() if line.strip()]
        asserted = [line for line in lines if "assertion failed" in line]
        return (asserted or lines or [type(error).__name__])[0]
    return None


if __name__ == "__main__":
    sys.exit(main())
