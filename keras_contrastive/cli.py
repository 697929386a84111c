"""The `keras-contrastive` command line: a thin layer over the package."""

from __future__ import annotations

import argparse
import errno
import json
import math
import shutil
import sys
from pathlib import Path


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _positive_number(text: str) -> float:
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value

#: Settings that suit each data set on a CPU budget; every one can be overridden.
DATASET_DEFAULTS = {
    # kNN with k=200 is the protocol for 50k-image sets; digits has about 140 images a class.
    "digits": dict(batch_size=128, epochs=60, crop_scale=0.3, learning_rate=8e-3, temperature=0.2, knn_k=20, flip=False),
    # Fashion-MNIST and MNIST: the settings the Fashion-MNIST sweep found best on a CPU budget.
    "fashion_mnist": dict(batch_size=128, epochs=5, crop_scale=0.6, learning_rate=8e-3, temperature=0.2, knn_k=200, flip=True),
    "mnist": dict(batch_size=128, epochs=5, crop_scale=0.6, learning_rate=8e-3, temperature=0.2, knn_k=200, flip=False),
    "cifar10": dict(batch_size=256, epochs=100, crop_scale=0.08, learning_rate=1e-3, temperature=0.2, knn_k=200, flip=True),
    "cifar100": dict(batch_size=256, epochs=100, crop_scale=0.08, learning_rate=1e-3, temperature=0.2, knn_k=200, flip=True),
}


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
    train.add_argument("--dataset", default="digits", choices=sorted(DATASET_DEFAULTS))
    train.add_argument("--data-dir", help="directory with the data set's files, where it has local ones")
    train.add_argument("--method", default="simclr", help="self-supervised method (default: simclr)")
    train.add_argument("--encoder", default="small_cnn", choices=["small_cnn", "resnet18"])
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
    train.add_argument("--knn-k", type=_positive_int, help="neighbours of the kNN evaluation (200 for large data sets)")
    train.add_argument("--knn-every", type=_positive_int, metavar="N", help="log test kNN accuracy every N epochs during training")
    train.add_argument("--train-subset", type=_positive_int, help="train on the first N training images only")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--jit-compile", action="store_true", help="compile the train step with XLA")
    train.add_argument("--out", required=True, help="output directory")
    train.add_argument("--overwrite", action="store_true", help="replace a model already in OUT")

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


def _train(args: argparse.Namespace) -> dict:
    import keras

    import keras_contrastive as kc
    from keras_contrastive.export import export_embedder
    from keras_contrastive.saving import atomic_path

    settings = dict(DATASET_DEFAULTS[args.dataset])
    for key in settings:
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    method_class = kc.methods.METHODS.get(args.method.lower())
    if method_class is None:
        raise ValueError(f"Unknown method {args.method!r}; choose one of {sorted(kc.methods.METHODS)}.")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a directory for the model, metrics and export.")
    model_path, metrics_path, checkpoint_dir = out / "model.keras", out / "metrics.json", out / "checkpoint"
    unfinished = model_path.exists() and checkpoint_dir.exists()  # killed after saving the model
    if model_path.exists() and not unfinished and not args.overwrite:
        raise FileExistsError(f"{model_path} exists; pass --overwrite to replace it, or choose another --out.")
    if args.overwrite and checkpoint_dir.exists():
        shutil.rmtree(checkpoint_dir)
        unfinished = False
    out.mkdir(parents=True, exist_ok=True)

    keras.utils.set_random_seed(args.seed)
    train_split = f"train[:{args.train_subset}]" if args.train_subset else "train"
    train = kc.data.load(args.dataset, train_split, data_dir=args.data_dir)
    test = kc.data.load(args.dataset, "test", data_dir=args.data_dir)
    height, width, channels = train.element_spec[0].shape
    train_size = int(train.cardinality())
    steps = settings["epochs"] * kc.training.steps_per_epoch(train, settings["batch_size"])
    method_arguments = _method_arguments(method_class, args.projection_dim, settings["temperature"], steps)
    if args.optimizer == "lars" and args.learning_rate is None:  # SimCLR's rule for LARS
        settings["learning_rate"] = 0.3 * settings["batch_size"] / 256
    run = dict(dataset=args.dataset, train_split=train_split, method=args.method.lower(), method_arguments=method_arguments,
               encoder=args.encoder, optimizer=args.optimizer, seed=args.seed, **settings)
    # A checkpoint records the run's settings; one from another run is refused, naming the differences.
    checkpoint = kc.callbacks.TrainingCheckpoint(checkpoint_dir, settings=run)

    if unfinished:
        print(f"finishing the run in {out}: its model is saved; evaluating and exporting it", flush=True)
        model = kc.load_model(model_path)
        train_seconds = json.loads((out / "history.json").read_text()).get("train_seconds", 0.0)
    else:
        print(
            f"{args.dataset}: {train_size} training and {int(test.cardinality())} test images of "
            f"{height}x{width}x{channels}; {args.method} with {args.encoder}, "
            f"{settings['epochs']} epochs of batch {settings['batch_size']}",
            flush=True,
        )
        if checkpoint.resume_epoch:
            print(f"resuming from the checkpoint after epoch {checkpoint.resume_epoch} in {checkpoint_dir}", flush=True)
        augment = kc.augment.simclr(
            height, channels=channels, crop_scale=(settings["crop_scale"], 1.0),
            horizontal_flip=settings["flip"], seed=args.seed,
        )
        encoder = getattr(kc.encoders, args.encoder)((height, width, channels))
        monitor = kc.callbacks.KNNMonitor(train, test, every=args.knn_every, k=settings["knn_k"]) if args.knn_every else None
        model, _, train_seconds = kc.training.train_encoder(
            encoder, method_class(**method_arguments), train, augment, epochs=settings["epochs"],
            batch_size=settings["batch_size"], learning_rate=settings["learning_rate"], optimizer=args.optimizer,
            seed=args.seed, reproducible=True, validation_examples=test, callbacks=[monitor] if monitor else None,
            verbose=1 if sys.stdout.isatty() else 2, jit_compile=args.jit_compile, checkpoint=checkpoint,
        )
        metrics, epochs = checkpoint.training_history()
        with atomic_path(out / "history.json") as temporary:
            temporary.write_text(json.dumps({"metrics": metrics, "epochs": epochs, "train_seconds": train_seconds},
                                            indent=1, allow_nan=False))
        kc.save_model(model, model_path)

    print(f"evaluating: linear probe and kNN (k={settings['knn_k']}, T=0.1) on the test split ...", flush=True)
    results = kc.evaluation.compare_with_baselines(model.encoder, train, test, k=settings["knn_k"], seed=args.seed)
    exported = export_embedder(model, out / "serving")
    metrics, _ = checkpoint.training_history()
    report = {
        "dataset": args.dataset,
        "method": model.method.get_config(),
        "settings": settings,
        "train_images": train_size,
        "train_seconds": round(train_seconds, 1),
        "resumed_after_epoch": checkpoint.resume_epoch,
        "optimizer": args.optimizer,
        "optimizer_steps": int(model.optimizer.iterations.numpy()),
        "final_loss": metrics["loss"][-1],
        "accuracy": results,
        "model": str(model_path),
        "export": str(exported),
    }
    with atomic_path(metrics_path) as temporary:
        temporary.write_text(json.dumps(report, indent=2, allow_nan=False))
    shutil.rmtree(checkpoint_dir)  # only once the model, its metrics and its export are in place
    print(f"\ntrained for {train_seconds:.0f} s; test accuracy:")
    print(f"  {'encoder':<12} {'linear probe':>13} {'kNN':>7}")
    for name, scores in results.items():
        print(f"  {name:<12} {scores['linear_probe_accuracy']:>13.4f} {scores['knn_accuracy']:>7.4f}")
    print(f"saved {model_path} and {metrics_path}")
    print(f"exported the embedder for TF Serving to {exported}")
    return report


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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `keras-contrastive` console script: 0 on success, 2 with one line on any failure a user can cause."""
    args = _parser().parse_args(argv)
    try:
        {"train": _train, "export": _export, "evaluate": _evaluate}[args.command](args)
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
