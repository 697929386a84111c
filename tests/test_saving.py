import os

import pytest

import keras_contrastive as kc
from keras_contrastive.saving import atomic_path


def model():
    return kc.ContrastiveModel(kc.encoders.small_cnn((8, 8, 1), widths=(4,)), kc.methods.SimCLR(projection_dim=8))


def test_save_model_on_a_full_disk_keeps_the_previous_model(tmp_path, monkeypatch):
    path = tmp_path / "model.keras"
    kc.save_model(model(), path)
    before = path.read_bytes()

    def full_disk(self, filepath, **kwargs):
        with open(filepath, "wb") as file:
            file.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device", str(filepath))

    monkeypatch.setattr(kc.ContrastiveModel, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        kc.save_model(model(), path)
    monkeypatch.undo()
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["model.keras"]
    assert isinstance(kc.load_model(path), kc.ContrastiveModel)


def test_save_model_wants_a_keras_file_and_load_model_names_a_savedmodel_folder(tmp_path):
    with pytest.raises(ValueError, match=r"must end in \.keras"):
        kc.save_model(model(), tmp_path / "model.h5")
    exported = kc.export.export_embedder(model(), tmp_path / "serving")
    with pytest.raises(ValueError, match=r"is a SavedModel export \(for TF Serving\), not a \.keras model: load it with tf.saved_model.load"):
        kc.load_model(exported)


def test_a_saved_file_gets_the_permissions_of_the_umask_not_the_temporary_files(tmp_path):
    previous = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "metrics.json") as temporary:
            temporary.write_text("{}")
        os.umask(0o077)
        with atomic_path(tmp_path / "private.json") as temporary:
            temporary.write_text("{}")
    finally:
        os.umask(previous)
    assert (tmp_path / "metrics.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private.json").stat().st_mode & 0o777 == 0o600
