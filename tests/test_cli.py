import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_contrastive as kc
from keras_contrastive.cli import _parser, main


def test_train_on_digits_saves_the_model_and_reports_the_three_encoders(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--dataset", "digits", "--epochs", "2", "--batch-size", "64",
                 "--train-subset", "512", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    for name in ("trained", "random_init", "raw_pixels"):
        assert name in printed
    report = json.loads((out / "metrics.json").read_text())
    assert report["train_examples"] == 512 and report["settings"]["epochs"] == 2
    for scores in report["accuracy"].values():
        assert 0.0 <= scores["knn_accuracy"] <= 1.0 and 0.0 <= scores["linear_probe_accuracy"] <= 1.0
    assert report["accuracy"]["raw_pixels"]["knn_accuracy"] > 0.9  # digits are easy in pixel space
    assert (out / "model.keras").stat().st_size > 0
    assert not list(out.glob("*.partial*"))
    assert (out / "serving" / "1" / "saved_model.pb").exists()


def one_epoch_on_digits(out, *flags) -> dict:
    """`train` for one epoch of batch 64 on 256 digits with more `flags`; its metrics.json, once it succeeded."""
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--batch-size", "64", "--train-subset", "256",
                 *flags, "--out", str(out)]) == 0
    return json.loads((out / "metrics.json").read_text())


def test_train_with_lars_uses_simclrs_learning_rate_rule(tmp_path, capsys):
    report = one_epoch_on_digits(tmp_path / "run", "--optimizer", "lars")
    assert report["optimizer"] == "lars" and report["optimizer_steps"] == 256 // 64
    assert report["settings"]["learning_rate"] == pytest.approx(0.3 * 64 / 256)
    assert report["final_loss"] == report["final_loss"]  # finite, not NaN


def test_pool_grid_widens_small_cnns_embedding_and_is_recorded(tmp_path, capsys):
    out = tmp_path / "run"
    assert one_epoch_on_digits(out, "--pool-grid", "2")["settings"]["pool_grid"] == 2
    # digits' 8x8 pictures end in a 2x2 map of 128 channels: its average, then each of the four cells
    assert kc.load_model(out / "model.keras").encoder.output_shape == (None, 128 * 5)


def test_whitening_is_fitted_to_the_training_images_saved_and_served(tmp_path, capsys):
    out = tmp_path / "run"
    assert one_epoch_on_digits(out, "--whitening", "0.05")["settings"]["whitening"] == 0.05
    encoder = kc.load_model(out / "model.keras").encoder
    whitening = encoder.layers[-1]
    assert isinstance(whitening, kc.layers.Whitening) and whitening.epsilon == 0.05
    assert int(whitening.count.numpy()) == 256
    images, _ = kc.data.load_numpy("digits", "train[:256]")
    np.testing.assert_allclose(encoder.predict(images, verbose=0).mean(axis=0), 0.0, atol=1e-3)  # centred on them
    served = tf.saved_model.load(str(out / "serving" / "1")).signatures["serving_default"]
    embedding = served(images=tf.constant(images[:8]))["embedding"].numpy()
    expected = encoder.predict(images[:8], verbose=0)
    np.testing.assert_allclose(embedding, expected / np.linalg.norm(expected, axis=1, keepdims=True), atol=1e-4)


def test_image_only_flags_are_refused_with_other_inputs(tmp_path, capsys):
    for flag, value in (("--whitening", "0.01"), ("--pool-grid", "2")):
        assert main(["train", "--text", "fortunes", flag, value, "--out", str(tmp_path / "x")]) == 2
        assert f"{flag} goes with images" in capsys.readouterr().err


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
    [(["--method", "nope"], "Unknown method 'nope'"), (["--crop-scale", "1.5"], "scale must satisfy 0 < low <= high <= 1")],
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
    epochs, steps_per_epoch = 6, 640 // 64
    out = tmp_path / "run"
    metadata = out / "checkpoint" / "progress.json"
    process = subprocess.Popen(_train_command(out, "--epochs", str(epochs)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while _checkpointed_epoch(metadata) < 2:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint after 2 epochs within 5 minutes"
        time.sleep(0.05)
    # Keras writes the epoch's weights, then this metadata: the checkpoint is whole. Killed now, the
    # run is somewhere in the next epoch (or just past the checkpoint), never at its end.
    assert process.poll() is None, "the run finished before it could be killed"
    process.kill()  # SIGKILL: no clean-up of any kind
    process.wait()
    killed_at = json.loads(metadata.read_text())["epoch"]
    assert 2 <= killed_at < epochs and not (out / "model.keras").exists()

    # The resumed run also shows what a user's shell sees: with the crop boxes' shape unknown, TF's graph
    # cost model logged a PredictCost warning for CropAndResize 8 times per epoch, unless
    # TF_CPP_MIN_LOG_LEVEL was set before the process started (as the tests' conftest sets it).
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    resumed = subprocess.run(_train_command(out, "--epochs", str(epochs)),
                             capture_output=True, text=True, timeout=600, env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "PredictCost" not in resumed.stderr
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
    assert not (out / "checkpoint").exists()  # removed once the model, metrics and export are in place
    history = json.loads((out / "history.json").read_text())
    assert len(history["metrics"]["loss"]) == epochs  # the epochs before the kill too


@pytest.mark.parametrize(
    "arguments, message",
    [(["--epochs", "0"], "--epochs: expected a positive whole number, got '0'"),
     (["--train-subset", "-5"], "--train-subset: expected a positive whole number, got '-5'"),
     (["--pool-grid", "-1"], "--pool-grid: expected a whole number of at least 0, got '-1'"),
     (["--whitening", "-1"], "--whitening: expected a number >= 0 or off, got '-1'")],
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


def _killing(target, *arguments):
    """A CLI run in a fresh process that dies by SIGKILL when `target` (a dotted name under kc) is called."""
    module, _, name = target.rpartition(".")
    script = (
        "import os, signal, sys\n"
        "import keras_contrastive as kc\n"
        "from keras_contrastive.cli import main\n"
        "def die(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"setattr(kc{'.' + module if module else ''}, {name!r}, die)\n"
        f"sys.exit(main({list(arguments)!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)


DIGITS_RUN = ["train", "--dataset", "digits", "--epochs", "2", "--batch-size", "64", "--train-subset", "256"]


def test_a_run_killed_after_training_is_finished_by_the_same_command_not_retrained(tmp_path):
    """Killed between fit and saving the model, then again during the evaluation: each rerun goes on from there."""
    out = tmp_path / "run"
    killed = _killing("save_model", *DIGITS_RUN, "--out", str(out))
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (out / "checkpoint" / "progress.json").exists()
    # The same command resumes after the last epoch, trains no more, and is killed while evaluating.
    killed = _killing("evaluation.compare_with_baselines", *DIGITS_RUN, "--out", str(out))
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert "resuming from the checkpoint after epoch 2" in killed.stdout and "Epoch 1/2" not in killed.stdout
    assert (out / "model.keras").exists() and (out / "checkpoint" / "progress.json").exists()
    rerun = subprocess.run([sys.executable, "-m", "keras_contrastive.cli", *DIGITS_RUN, "--out", str(out)],
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "finishing the run" in rerun.stdout and "Epoch 1/2" not in rerun.stdout
    report = json.loads((out / "metrics.json").read_text())
    assert report["optimizer_steps"] == 2 * (256 // 64) and not (out / "checkpoint").exists()
    assert (out / "serving" / "1" / "saved_model.pb").exists()


def test_a_checkpoint_of_another_run_is_refused_naming_what_differs(tmp_path, capsys):
    out = tmp_path / "run"
    killed = _killing("save_model", *DIGITS_RUN, "--method", "moco", "--out", str(out))
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert main([*DIGITS_RUN, "--method", "simclr", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "from a run with other settings" in error and "method: 'moco' in the checkpoint, 'simclr' now" in error
    assert not (out / "model.keras").exists()


def test_training_that_turns_nan_exits_with_one_line_and_saves_nothing(tmp_path, capsys, monkeypatch):
    real_load = kc.data.load

    def with_a_nan_pixel(name, split, **kwargs):
        data = real_load(name, split, **kwargs)
        if not split.startswith("train"):
            return data
        return data.map(lambda image, label: (tf.tensor_scatter_nd_update(
            tf.cast(image, tf.float32), [[3, 3, 0]], [float("nan")]), label))

    monkeypatch.setattr(kc.data, "load", with_a_nan_pixel)
    out = tmp_path / "run"
    assert main([*DIGITS_RUN, "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "Training stopped at optimizer step 1 (epoch 1, batch 1): the loss is nan" in error[0]
    assert not (out / "model.keras").exists() and not (out / "metrics.json").exists()
    assert not (out / "serving").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1e-3"])
def test_a_learning_rate_that_is_not_a_positive_number_is_refused(tmp_path, capsys, value):
    with pytest.raises(SystemExit):
        main([*DIGITS_RUN, f"--learning-rate={value}", "--out", str(tmp_path / "x")])
    assert f"--learning-rate: expected a positive number, got '{value}'" in capsys.readouterr().err


def test_a_permission_error_is_one_line_naming_the_path(tmp_path, capsys, monkeypatch):
    def denied(model, path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(kc, "save_model", denied)
    assert main([*DIGITS_RUN, "--epochs", "1", "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "Permission denied" in error[0] and "model.keras" in error[0]
    assert "Check the permissions of that path" in error[0]


def test_the_command_line_offers_the_packages_precisions():
    train = _parser()._subparsers._group_actions[0].choices["train"]
    (precision,) = [action for action in train._actions if action.dest == "precision"]
    assert tuple(precision.choices) == kc.PRECISIONS and precision.default == "float32"


def test_train_under_mixed_bfloat16_says_so_and_saves_a_bfloat16_encoder_that_embeds_in_float32(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--dataset", "digits", "--epochs", "1", "--batch-size", "64", "--train-subset", "256",
                 "--precision", "mixed_bfloat16", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "precision: mixed_bfloat16" in printed
    assert json.loads((out / "metrics.json").read_text())["precision"] == "mixed_bfloat16"
    model = kc.load_model(out / "model.keras")
    convolutions = [layer for layer in model.encoder.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convolutions and all(layer.compute_dtype == "bfloat16" for layer in convolutions)
    images = np.random.default_rng(0).integers(0, 17, (2, 8, 8, 1), dtype="uint8")
    embedding = kc.evaluation.embed(model.encoder, images)
    assert embedding.dtype == np.float32 and np.isfinite(embedding).all()
    served = tf.saved_model.load(str(out / "serving" / "1")).signatures["serving_default"]
    exported = served(images=tf.constant(images))["embedding"]
    assert exported.dtype == tf.float32
    np.testing.assert_allclose(exported.numpy(), embedding / np.linalg.norm(embedding, axis=1, keepdims=True), atol=2e-2)
    assert keras.mixed_precision.dtype_policy().name == "float32"
