"""TrainingCheckpoint: resumable training whose checkpoints are written whole or not at all."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras

from keras_contrastive.saving import atomic_path

#: The file that names the checkpoint to resume from; replacing it is the commit.
PROGRESS_FILE = "progress.json"


class TrainingCheckpoint(keras.callbacks.Callback):
    """Saves what a run needs to resume at every epoch's end, and restores it when `fit` starts.

    Each epoch writes the model's weights (encoder, heads, the method's state
    such as queues, momentum networks and step counts, and the optimizer's
    state) to `epoch-<N>.weights.h5`, then `progress.json`, which names that
    file and holds the epoch, the run's `settings` and every epoch's logs so
    far. Both are written under a temporary name and renamed, and the
    progress file is renamed last: a process killed at any moment, or a full
    disk, leaves the previous checkpoint whole, and a rerun resumes from it.
    Older weights files are removed once the new progress file is in place.

    Pass `resume_epoch` as `fit`'s `initial_epoch`, so the resumed run ends
    after as many epochs (and optimizer steps) as an unbroken one.

    Args:
        directory: Where the checkpoint lives (created when first written).
        settings: A JSON-serialisable description of the run (data set,
            method, encoder, schedule). A checkpoint recorded with other
            settings is refused, naming the differences, instead of being
            resumed into the wrong run.

    Attributes:
        resume_epoch: Epochs the checkpoint found holds (0 without one).
        epoch_logs: One dict of logs per epoch trained so far, those before a
            resume included (see `training_history`).

    Raises:
        ValueError: when the checkpoint found is from a run with other
            settings, or is damaged (naming the file).

    Example:
    >>> checkpoint = TrainingCheckpoint("runs/fm/checkpoint", settings={"dataset": "fashion_mnist"})
    >>> model.fit(views, epochs=5, initial_epoch=checkpoint.resume_epoch, callbacks=[checkpoint])
    """

    def __init__(self, directory: str | os.PathLike, settings: dict | None = None):
        super().__init__()
        self.directory = Path(directory)
        self.settings = json.loads(json.dumps(settings or {}))  # as they read back from the file
        self._progress = self._read_progress()
        if self._progress is not None:
            differences = _differences(self._progress.get("settings", {}), self.settings)
            if differences:
                raise ValueError(
                    f"The checkpoint in {self.directory} is from a run with other settings ("
                    + "; ".join(differences)
                    + "). Use another output directory, or delete that checkpoint to start this run afresh."
                )
        self.resume_epoch = int(self._progress["epoch"]) if self._progress else 0
        self.epoch_logs = list((self._progress or {}).get("epoch_logs", []))

    def training_history(self) -> tuple[dict, dict]:
        """`(metrics, epochs)`: each metric's values and the 1-based epochs they belong to.

        The two arguments of `kc.evaluation.save_training_history` and
        `kc.plots.plot_training_curves`; a metric logged only on some epochs
        (`knn_accuracy`, say) keeps its own epochs.
        """
        metrics, epochs = {}, {}
        for number, logs in enumerate(self.epoch_logs, start=1):
            for name, value in logs.items():
                metrics.setdefault(name, []).append(value)
                epochs.setdefault(name, []).append(number)
        return metrics, epochs

    def _read_progress(self) -> dict | None:
        path = self.directory / PROGRESS_FILE
        if not path.exists():
            return None
        try:
            progress = json.loads(path.read_text())
            weights = self.directory / progress["weights"]
            int(progress["epoch"])
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path} is damaged ({error}); delete {self.directory} to start afresh.") from error
        if not weights.is_file():
            raise ValueError(f"{path} names {weights}, which is missing; delete {self.directory} to start afresh.")
        return progress

    def on_train_begin(self, logs=None):
        if self._progress is None:
            return
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        weights = self.directory / self._progress["weights"]
        try:
            self.model.load_weights(weights)
        except Exception as error:  # h5py and Keras raise several kinds for a damaged file
            raise ValueError(
                f"Could not restore the checkpoint {weights} ({error}); delete {self.directory} to start afresh."
            ) from error

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs = self.epoch_logs[:epoch] + [{name: float(value) for name, value in (logs or {}).items()}]
        weights_name = f"epoch-{epoch + 1}.weights.h5"
        with atomic_path(self.directory / weights_name, suffix=".weights.h5") as temporary:
            self.model.save_weights(temporary)
        progress = {"epoch": epoch + 1, "weights": weights_name, "settings": self.settings,
                    "epoch_logs": self.epoch_logs}
        with atomic_path(self.directory / PROGRESS_FILE) as temporary:
            temporary.write_text(json.dumps(progress, allow_nan=False))
        for old in self.directory.glob("epoch-*.weights.h5"):
            if old.name != weights_name:
                old.unlink(missing_ok=True)


def _differences(recorded: dict, current: dict) -> list[str]:
    """What differs between two settings dicts, in words."""
    return [
        f"{key}: {recorded.get(key)!r} in the checkpoint, {current.get(key)!r} now"
        for key in sorted(set(recorded) | set(current))
        if recorded.get(key) != current.get(key)
    ]
