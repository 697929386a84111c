"""The `keras-contrastive` command line: a thin layer over the package."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

#: Settings that suit each data set on a CPU budget; every one can be overridden.
DATASET_DEFAULTS = {
    # kNN with k=200 is the protocol for 50k-image sets; digits has about 140 images a class.
    "digits": dict(batch_size=128, epochs=60, crop_scale=0.5, learning_rate=8e-3, temperature=0.2, knn_k=20, flip=False),
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
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--learning-rate", type=float, help="peak Adam learning rate (10%% warmup, then cosine decay)")
    train.add_argument("--temperature", type=float)
    train.add_argument("--projection-dim", type=int, default=128)
    train.add_argument("--crop-scale", type=float, help="smallest crop area fraction of the augmentation")
    train.add_argument("--knn-k", type=int, help="neighbours of the kNN evaluation (200 for large data sets)")
    train.add_argument("--train-subset", type=int, help="train on the first N training images only")
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
    export.add_argument("--version", type=int, help="version number (default: the next free one)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing version")
    return parser


def _train(args: argparse.Namespace) -> dict:
    import keras
    import tensorflow as tf

    import keras_contrastive as kc
    from keras_contrastive.export import export_embedder

    settings = dict(DATASET_DEFAULTS[args.dataset])
    for key in settings:
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    method_class = kc.methods.METHODS.get(args.method.lower())
    if method_class is None:
        raise ValueError(f"Unknown method {args.method!r}; choose one of {sorted(kc.methods.METHODS)}.")
    out = Path(args.out)
    model_path = out / "model.keras"
    if model_path.exists() and not args.overwrite:
        raise FileExistsError(f"{model_path} exists; pass --overwrite to replace it, or choose another --out.")
    out.mkdir(parents=True, exist_ok=True)

    keras.utils.set_random_seed(args.seed)
    train_images, train_labels = kc.data.load_numpy(args.dataset, "train", data_dir=args.data_dir)
    test_images, test_labels = kc.data.load_numpy(args.dataset, "test", data_dir=args.data_dir)
    if args.train_subset:
        train_images, train_labels = train_images[: args.train_subset], train_labels[: args.train_subset]
    height, width, channels = train_images.shape[1:]
    print(
        f"{args.dataset}: {len(train_images)} training and {len(test_images)} test images of "
        f"{height}x{width}x{channels}; {args.method} with {args.encoder}, "
        f"{settings['epochs']} epochs of batch {settings['batch_size']}",
        flush=True,
    )
    augment = kc.augment.simclr(
        height, channels=channels, crop_scale=(settings["crop_scale"], 1.0),
        horizontal_flip=settings["flip"], seed=args.seed,
    )
    views = kc.data.make_views(
        tf.data.Dataset.from_tensor_slices(train_images), augment, batch_size=settings["batch_size"], seed=args.seed
    )
    val_views = kc.data.make_views(
        tf.data.Dataset.from_tensor_slices(test_images), augment,
        batch_size=min(settings["batch_size"], len(test_images)), shuffle_buffer=None,
    )
    encoder = getattr(kc.encoders, args.encoder)((height, width, channels))
    method = method_class(projection_dim=args.projection_dim, temperature=settings["temperature"])
    model = kc.ContrastiveModel(encoder, method)
    steps = settings["epochs"] * (len(train_images) // settings["batch_size"])
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps - steps // 10, warmup_target=settings["learning_rate"], warmup_steps=steps // 10
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), jit_compile=args.jit_compile)

    started = time.perf_counter()
    history = model.fit(
        views, epochs=settings["epochs"], validation_data=val_views, shuffle=False,  # views are shuffled
        verbose=1 if sys.stdout.isatty() else 2,
    )
    train_seconds = time.perf_counter() - started
    partial = model_path.with_name(model_path.name + ".partial.keras")
    model.save(partial)
    os.replace(partial, model_path)

    print(f"evaluating: kNN (k={settings['knn_k']}, T=0.1) and linear probe on the test split ...", flush=True)
    results = kc.evaluation.compare_with_baselines(
        model.encoder, (train_images, train_labels), (test_images, test_labels), k=settings["knn_k"], seed=args.seed
    )
    report = {
        "dataset": args.dataset,
        "method": method.get_config(),
        "settings": settings,
        "train_images": int(len(train_images)),
        "train_seconds": round(train_seconds, 1),
        "final_loss": float(history.history["loss"][-1]),
        "accuracy": results,
        "model": str(model_path),
    }
    (out / "metrics.json").write_text(json.dumps(report, indent=2))
    print(f"\ntrained for {train_seconds:.0f} s; test accuracy:")
    print(f"  {'encoder':<12} {'kNN':>7} {'linear probe':>13}")
    for name, scores in results.items():
        print(f"  {name:<12} {scores['knn_accuracy']:>7.4f} {scores['linear_probe_accuracy']:>13.4f}")
    print(f"saved {model_path} and {out / 'metrics.json'}")
    print(f"exported the embedder for TF Serving to {export_embedder(model, out / 'serving', overwrite=args.overwrite)}")
    return report


def _export(args: argparse.Namespace) -> None:
    from keras_contrastive.export import export_embedder
    from keras_contrastive.loading import load_model

    model = load_model(args.model)
    target = export_embedder(model, args.out, version=args.version, overwrite=args.overwrite)
    print(f"exported {args.model} to {target}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `keras-contrastive` console script."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ info and warnings
    try:
        if args.command == "train":
            _train(args)
        elif args.command == "export":
            _export(args)
    except (ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"keras-contrastive: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
