import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.callbacks.training_checkpoint import PROGRESS_FILE


def views(rng, batches=3, batch=8):
    images = rng.uniform(0, 255, size=(batches * batch, 8, 8, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((images, np.flip(images, axis=1).copy())).batch(batch)


def model():
    model = kc.ContrastiveModel(kc.encoders.small_cnn((8, 8, 1), widths=(4,)), kc.methods.MoCo(projection_dim=8, queue_size=32))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


def fit(model, data, checkpoint, epochs):
    return model.fit(data, epochs=epochs, initial_epoch=checkpoint.resume_epoch, callbacks=[checkpoint], verbose=0)


def test_a_resumed_run_ends_where_an_unbroken_one_does_with_the_whole_history(tmp_path, rng, seed):
    data = views(rng)
    keras.utils.set_random_seed(seed)
    unbroken = model()
    fit(unbroken, data, kc.callbacks.TrainingCheckpoint(tmp_path / "a"), epochs=4)

    keras.utils.set_random_seed(seed)
    first = model()
    fit(first, data, kc.callbacks.TrainingCheckpoint(tmp_path / "b", settings={"run": 1}), epochs=2)
    resumed = model()  # a fresh process would build the same model
    checkpoint = kc.callbacks.TrainingCheckpoint(tmp_path / "b", settings={"run": 1})
    assert checkpoint.resume_epoch == 2
    fit(resumed, data, checkpoint, epochs=4)
    assert int(resumed.optimizer.iterations.numpy()) == int(unbroken.optimizer.iterations.numpy()) == 12
    assert int(resumed.method.steps.numpy()) == 12  # the method's state came back too
    for a, b in zip(unbroken.weights, resumed.weights):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-5, err_msg=a.path)
    metrics, epochs = checkpoint.training_history()
    assert len(metrics["loss"]) == 4 and epochs["loss"] == [1, 2, 3, 4]
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["epoch-4.weights.h5", PROGRESS_FILE]


def test_a_checkpoint_from_another_run_is_refused_naming_the_differences(tmp_path, rng):
    fit(model(), views(rng), kc.callbacks.TrainingCheckpoint(tmp_path, settings={"dataset": "digits", "epochs": 2}), 1)
    with pytest.raises(ValueError, match=r"other settings \(dataset: 'digits' in the checkpoint, 'fashion_mnist' now\)"):
        kc.callbacks.TrainingCheckpoint(tmp_path, settings={"dataset": "fashion_mnist", "epochs": 2})


def test_a_write_that_fails_halfway_leaves_the_previous_checkpoint_whole(tmp_path, rng, monkeypatch):
    """A full disk (or a kill) while the next checkpoint is written: the last whole one is what a rerun resumes."""
    data = views(rng)
    fit(model(), data, kc.callbacks.TrainingCheckpoint(tmp_path), epochs=1)
    progress = (tmp_path / PROGRESS_FILE).read_text()

    def full_disk(self, filepath, **kwargs):
        with open(filepath, "wb") as file:
            file.write(b"\x89HDF\r\n")  # a few bytes of the file, then the disk is full
        raise OSError(28, "No space left on device", str(filepath))

    monkeypatch.setattr(keras.Model, "save_weights", full_disk)
    checkpoint = kc.callbacks.TrainingCheckpoint(tmp_path)
    with pytest.raises(OSError, match="No space left"):
        fit(model(), data, checkpoint, epochs=3)
    monkeypatch.undo()
    assert (tmp_path / PROGRESS_FILE).read_text() == progress
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-1.weights.h5", PROGRESS_FILE]  # no partial file
    again = kc.callbacks.TrainingCheckpoint(tmp_path)
    assert again.resume_epoch == 1
    fit(model(), data, again, epochs=2)  # resumes and finishes


def test_a_damaged_checkpoint_says_which_file_and_what_to_do(tmp_path, rng):
    fit(model(), views(rng), kc.callbacks.TrainingCheckpoint(tmp_path), epochs=1)
    (tmp_path / "epoch-1.weights.h5").write_bytes(b"")
    checkpoint = kc.callbacks.TrainingCheckpoint(tmp_path)
    with pytest.raises(ValueError, match=r"Could not restore the checkpoint .*epoch-1.weights.h5 .*delete"):
        fit(model(), views(rng), checkpoint, epochs=2)
    (tmp_path / PROGRESS_FILE).write_text("{not json")
    with pytest.raises(ValueError, match=f"{PROGRESS_FILE} is damaged"):
        kc.callbacks.TrainingCheckpoint(tmp_path)
    (tmp_path / PROGRESS_FILE).write_text(json.dumps({"epoch": 1, "weights": "gone.weights.h5"}))
    with pytest.raises(ValueError, match="which is missing"):
        kc.callbacks.TrainingCheckpoint(tmp_path)
