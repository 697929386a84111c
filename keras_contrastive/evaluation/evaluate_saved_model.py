"""Evaluating a saved model on a named data set: what `keras-contrastive evaluate` runs."""

from __future__ import annotations

import os
from pathlib import Path

from keras_contrastive.augment.simclr import simclr
from keras_contrastive.data.load import load_numpy
from keras_contrastive.evaluation.evaluation_report import write_evaluation_report
from keras_contrastive.loading import load_model

#: The history file `keras-contrastive train` writes beside the model.
HISTORY_FILE_NAME = "history.json"


def evaluate_saved_model(
    model_path: str | os.PathLike,
    dataset: str,
    out_dir: str | os.PathLike,
    data_dir: str | None = None,
    k: int = 200,
    temperature: float | None = 0.1,
    probe_epochs: int = 30,
    train_subset: int | None = None,
    test_subset: int | None = None,
    history_file: str | os.PathLike | None = None,
    seed: int = 0,
) -> dict:
    """Loads a `.keras` model and a data set by name, and writes the evaluation report.

    See `write_evaluation_report` for what is measured and drawn. Alignment
    uses two views of SimCLR's default augmentation for the image size. The
    training curves are drawn from `history_file`, or from the `history.json`
    that `keras-contrastive train` writes beside the model when present.

    Args:
        model_path: A `.keras` file saved by `ContrastiveModel.save` or `train`.
        dataset: A name `kc.data.load_numpy` knows, e.g. `"fashion_mnist"`.
        out_dir: Directory for `report.json` and the PNGs.
        data_dir: As in `kc.data.load_numpy`.
        k: kNN neighbours.
        temperature: kNN vote temperature, or None for a majority vote.
        probe_epochs: Epochs of the linear probe.
        train_subset: Use only the first N training images.
        test_subset: Use only the first N test images.
        history_file: A JSON written by `save_training_history`.
        seed: Seed of the probe, the samples and t-SNE.

    Returns:
        The report written to `out_dir/report.json`, naming the model and data set.

    Raises:
        FileNotFoundError: No model file at `model_path`.
        ValueError: A damaged model file, an unknown data set, or images of
            another shape than the encoder takes.

    Example:
    >>> evaluate_saved_model("runs/fm/model.keras", "fashion_mnist", "runs/fm/eval")
    """
    model = load_model(model_path)
    encoder = getattr(model, "encoder", model)
    train = load_numpy(dataset, f"train[:{train_subset}]" if train_subset else "train", data_dir=data_dir)
    test = load_numpy(dataset, f"test[:{test_subset}]" if test_subset else "test", data_dir=data_dir)
    expected = tuple(encoder.input_shape[1:])
    if tuple(train[0].shape[1:]) != expected:
        raise ValueError(
            f"The model takes images of shape {expected}, but {dataset!r} has images of shape "
            f"{tuple(train[0].shape[1:])}."
        )
    if history_file is None and (Path(model_path).parent / HISTORY_FILE_NAME).is_file():
        history_file = Path(model_path).parent / HISTORY_FILE_NAME
    return write_evaluation_report(
        model, train, test, out_dir, k=k, temperature=temperature, probe_epochs=probe_epochs,
        augment=simclr(expected[0], channels=expected[2], seed=seed), history_file=history_file, seed=seed,
        metadata={"model": str(model_path), "dataset": dataset},
    )
