import json

import pytest

import keras_contrastive as kc
from keras_contrastive.cli import main


def test_train_on_digits_saves_the_model_and_reports_the_three_encoders(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--dataset", "digits", "--epochs", "2", "--batch-size", "64",
                 "--train-subset", "512", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    for name in ("trained", "random_init", "raw_pixels"):
        assert name in printed
    report = json.loads((out / "metrics.json").read_text())
    assert report["train_images"] == 512 and report["settings"]["epochs"] == 2
    for scores in report["accuracy"].values():
        assert 0.0 <= scores["knn_accuracy"] <= 1.0 and 0.0 <= scores["linear_probe_accuracy"] <= 1.0
    assert report["accuracy"]["raw_pixels"]["knn_accuracy"] > 0.9  # digits are easy in pixel space
    assert (out / "model.keras").stat().st_size > 0
    assert not list(out.glob("*.partial*"))
    assert (out / "serving" / "1" / "saved_model.pb").exists()


def test_export_command_writes_the_next_version(tmp_path, capsys):
    model = kc.ContrastiveModel(kc.encoders.small_cnn((8, 8, 1), widths=(8,)), kc.methods.SimCLR())
    model.save(tmp_path / "m.keras")
    assert main(["export", str(tmp_path / "m.keras"), "--out", str(tmp_path / "serving")]) == 0
    assert main(["export", str(tmp_path / "m.keras"), "--out", str(tmp_path / "serving")]) == 0
    assert sorted(p.name for p in (tmp_path / "serving").iterdir()) == ["1", "2"]
    assert "serving/2" in capsys.readouterr().out


def test_export_of_a_missing_model_file_is_a_clear_error(tmp_path, capsys):
    assert main(["export", str(tmp_path / "none.keras"), "--out", str(tmp_path / "s")]) == 2
    assert "No model file at" in capsys.readouterr().err


def test_existing_model_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.keras").write_bytes(b"precious")
    code = main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(out)])
    assert code == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "model.keras").read_bytes() == b"precious"


@pytest.mark.parametrize(
    "arguments, message",
    [(["--method", "nope"], "Unknown method 'nope'"), (["--temperature", "0"], "temperature must be a positive")],
)
def test_bad_settings_get_a_clear_error(tmp_path, capsys, arguments, message):
    code = main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path / "x"), *arguments])
    assert code == 2
    assert message in capsys.readouterr().err
