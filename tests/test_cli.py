import json
import os
import subprocess
import sys
import time

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


def test_train_with_lars_uses_simclrs_learning_rate_rule(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--dataset", "digits", "--epochs", "1", "--batch-size", "64",
                 "--train-subset", "256", "--optimizer", "lars", "--out", str(out)])
    assert code == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["optimizer"] == "lars" and report["optimizer_steps"] == 256 // 64
    assert report["settings"]["learning_rate"] == pytest.approx(0.3 * 64 / 256)
    assert report["final_loss"] == report["final_loss"]  # finite, not NaN


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


def _train_command(out, *extra):
    return [sys.executable, "-m", "keras_contrastive.cli", "train", "--dataset", "digits",
            "--method", "moco", "--batch-size", "64", "--train-subset", "640", "--out", str(out), *extra]


def _checkpointed_epoch(metadata) -> int:
    try:
        return json.loads(metadata.read_text())["epoch"]
    except (FileNotFoundError, ValueError, KeyError):  # not yet written, or half-written
        return 0


def test_a_run_killed_mid_epoch_resumes_and_ends_after_the_same_steps(tmp_path):
    epochs, steps_per_epoch = 8, 640 // 64
    out = tmp_path / "run"
    metadata = out / "backup" / "training_metadata.json"
    process = subprocess.Popen(_train_command(out, "--epochs", str(epochs)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while _checkpointed_epoch(metadata) < 3:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint after 3 epochs within 5 minutes"
        time.sleep(0.05)
    # Keras writes the epoch's weights, then this metadata: the checkpoint is whole. Killed now, the
    # run is somewhere in the next epoch (or just past the checkpoint), never at its end.
    assert process.poll() is None, "the run finished before it could be killed"
    process.kill()  # SIGKILL: no clean-up of any kind
    process.wait()
    killed_at = json.loads(metadata.read_text())["epoch"]
    assert 3 <= killed_at < epochs and not (out / "model.keras").exists()

    resumed = subprocess.run(_train_command(out, "--epochs", str(epochs)),
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming from the checkpoint after epoch {killed_at}" in resumed.stdout
    assert f"Epoch {killed_at + 1}/{epochs}" in resumed.stdout
    assert f"Epoch {killed_at}/{epochs}" not in resumed.stdout
    report = json.loads((out / "metrics.json").read_text())
    assert report["resumed_after_epoch"] == killed_at
    # An unbroken run takes epochs * steps_per_epoch optimizer steps.
    assert report["optimizer_steps"] == epochs * steps_per_epoch
    # The method's own state came back too: its step counter and queue pointer
    # continued from the checkpoint instead of starting again from zero.
    method = kc.load_model(out / "model.keras").method
    assert int(method.steps.numpy()) == epochs * steps_per_epoch
    assert int(method.queue.pointer.numpy()) == epochs * steps_per_epoch * 64 % method.queue_size
    assert not (out / "backup").exists()  # removed once training finished


def test_a_training_run_logs_no_cost_model_warnings(tmp_path):
    # With the crop boxes' shape unknown, TF's graph cost model logged a
    # PredictCost warning for CropAndResize 8 times per epoch into the output,
    # unless TF_CPP_MIN_LOG_LEVEL was set before the process started (as the
    # tests' conftest sets it, and a user's shell does not).
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    run = subprocess.run([sys.executable, "-m", "keras_contrastive.cli", "train", "--dataset", "digits",
                          "--epochs", "1", "--batch-size", "64", "--train-subset", "256",
                          "--out", str(tmp_path / "run")],
                         capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "PredictCost" not in run.stderr


@pytest.mark.parametrize(
    "arguments, message",
    [(["--epochs", "0"], "--epochs: expected a positive whole number, got '0'"),
     (["--train-subset", "-5"], "--train-subset: expected a positive whole number, got '-5'")],
)
def test_counts_that_are_not_positive_are_refused_by_name(tmp_path, capsys, arguments, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--dataset", "digits", "--out", str(tmp_path / "x"), *arguments])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_out_pointing_at_a_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "file").write_text("not a directory")
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path / "file")]) == 2
    assert "is a file; give a directory" in capsys.readouterr().err
