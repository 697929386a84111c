import zipfile

import numpy as np
import pytest

import keras_contrastive as kc


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = kc.ContrastiveModel(kc.encoders.small_cnn((8, 8, 1), widths=(8,)), kc.methods.SimCLR())
    path = tmp_path_factory.mktemp("saved") / "model.keras"
    model.save(path)
    return model, path


def test_loads_an_intact_file_with_the_same_embeddings(saved):
    model, path = saved
    images = np.random.default_rng(0).uniform(0, 255, size=(4, 8, 8, 1)).astype("float32")
    again = kc.load_model(path)
    assert isinstance(again, kc.ContrastiveModel)
    np.testing.assert_array_equal(again.predict(images, verbose=0), model.predict(images, verbose=0))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file at"):
        kc.load_model(tmp_path / "none.keras")


def test_truncated_file(saved, tmp_path):
    truncated = tmp_path / "truncated.keras"
    data = saved[1].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a complete .keras file"):
        kc.load_model(truncated)


def test_file_corrupted_inside(saved, tmp_path):
    data = bytearray(saved[1].read_bytes())
    with zipfile.ZipFile(saved[1]) as archive:
        weights = archive.getinfo("model.weights.h5")
    # Flip bytes inside the stored weights: the archive stays readable, the checksum fails.
    start = weights.header_offset + 30 + len(weights.filename) + len(weights.extra) + 100
    for i in range(start, start + 16):
        data[i] ^= 0xFF
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="fails its checksum"):
        kc.load_model(corrupt)


def test_zip_that_is_not_a_model(tmp_path):
    path = tmp_path / "other.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="not a Keras model"):
        kc.load_model(path)
