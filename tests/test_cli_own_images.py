"""`keras-contrastive train --data DIR`, `index` and `search`: a user's folder of pictures, end to end."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from keras_contrastive.cli import _encoder, main

SIZE = 16
PER_CLASS = 12


def write_folder(root, rng):
    """Two classes of PNGs of different sizes and modes: horizontal stripes (RGBA) and vertical (RGB)."""
    for name, axis, mode in (("horizontal", 0, "RGBA"), ("vertical", 1, "RGB")):
        (root / name / "nested").mkdir(parents=True)
        for i in range(PER_CLASS):
            side = int(rng.integers(12, 40))
            stripes = (np.arange(side) // 3 % 2 == 0)
            mask = stripes[:, None] if axis == 0 else stripes[None, :]
            colour = rng.integers(0, 200, 3)
            pixels = np.where(np.broadcast_to(mask, (side, side))[..., None], colour, 255).astype(np.uint8)
            if mode == "RGBA":
                pixels = np.dstack([pixels, np.full((side, side), 255, np.uint8)])
            folder = root / name / ("nested" if i % 3 == 0 else "")
            Image.fromarray(pixels, mode).save(folder / f"{name}_{i}.png")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory, module_rng):
    return write_folder(tmp_path_factory.mktemp("pictures"), module_rng)


@pytest.fixture(scope="module")
def trained(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--data", str(folder), "--image-size", str(SIZE), "--epochs", "2", "--batch-size", "8",
                 "--test-fraction", "0.25", "--out", str(out), "--overwrite"])
    assert code == 0
    return out


def test_train_on_a_folder_holds_out_a_share_of_each_class_and_reports_the_encoders(trained):
    report = json.loads((trained / "metrics.json").read_text())
    assert report["class_names"] == ["horizontal", "vertical"]
    assert report["train_examples"] == 2 * (PER_CLASS - 3)  # 25% of each class's 12 held out
    assert report["image_size"] == SIZE and report["channels"] == 3
    assert set(report["accuracy"]) == {"trained", "random_init", "raw_pixels"}
    assert (trained / "serving" / "1" / "saved_model.pb").exists()


def test_index_and_search_find_a_query_file_first_and_draw_the_grid(trained, folder, tmp_path, capsys):
    search_dir = tmp_path / "search"
    assert main(["index", str(trained / "model.keras"), "--data", str(folder), "--out", str(search_dir),
                 "--k", "4"]) == 0
    assert "exported a search over 24 images" in capsys.readouterr().out
    queries = [folder / "vertical" / "vertical_1.png", folder / "horizontal" / "nested" / "horizontal_3.png"]
    grid = tmp_path / "grid.png"
    assert main(["search", str(search_dir / "1"), *map(str, queries), "--k", "3", "--grid", str(grid),
                 "--data", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    for query in queries:
        at = lines.index(str(query))
        ranks = [line.split() for line in lines[at + 1: at + 4]]
        assert [int(rank) for rank, _, _ in ranks] == [1, 2, 3]
        assert ranks[0][2] == query.relative_to(folder).as_posix()  # an indexed file is its own best match
        assert float(ranks[0][1]) == pytest.approx(1.0, abs=1e-4)
        scores = [float(score) for _, score, _ in ranks]
        assert scores == sorted(scores, reverse=True)
    drawn = np.array(Image.open(grid))
    assert drawn.shape[:2] == (2 * (96 + 18), 4 * 96)  # two rows of the query and its 3 results


def test_search_errors_name_what_was_expected(trained, folder, tmp_path, capsys):
    assert main(["search", str(trained / "serving" / "1"), str(folder / "vertical" / "vertical_1.png")]) == 2
    assert "no search signature" in capsys.readouterr().err
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    search_dir = tmp_path / "search"
    assert main(["index", str(trained / "model.keras"), "--data", str(folder), "--out", str(search_dir)]) == 0
    assert main(["search", str(search_dir / "1"), str(folder / "vertical" / "vertical_1.png"), str(bad)]) == 2
    assert f"Cannot read {bad} as an image" in capsys.readouterr().err
    assert main(["search", str(search_dir / "1"), str(folder / "vertical" / "vertical_1.png"),
                 "--grid", str(tmp_path / "g.png")]) == 2
    assert "--data DIR" in capsys.readouterr().err


@pytest.mark.parametrize("arguments, message", [
    (["--encoder", "NoSuchNet"], "NoSuchNet"),
    (["--encoder", "./no/such/preset"], "no such keras-hub preset directory"),
    (["--encoder", "small_cnn", "--weights", "w.h5"], "--weights goes with a keras.applications"),
    (["--strategy", "multi_worker"], "needs TF_CONFIG"),
])
def test_bad_own_data_settings_get_one_line(folder, tmp_path, capsys, monkeypatch, arguments, message):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(["train", "--data", str(folder), "--image-size", str(SIZE), "--epochs", "1", "--batch-size", "8",
                 "--out", str(tmp_path / "x"), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_image_size_with_a_catalogued_dataset_is_refused(tmp_path, capsys):
    assert main(["train", "--dataset", "digits", "--image-size", "32", "--out", str(tmp_path / "x")]) == 2
    assert "--image-size goes with --data" in capsys.readouterr().err


def test_encoder_names_a_keras_applications_architecture_or_a_keras_hub_preset(tmp_path):
    import keras_hub

    application = _encoder("MobileNetV3Small", (32, 32, 3), None)
    assert application.get_layer("MobileNetV3Small").count_params() > 0 and application.output.shape == (None, 576)
    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64], stackwise_num_blocks=[1],
        stackwise_num_strides=[1], block_type="basic_block")
    backbone.save_to_preset(str(tmp_path / "preset"))
    hub = _encoder(str(tmp_path / "preset"), (16, 16, 3), None)
    np.testing.assert_array_equal(hub.get_layer(backbone.name).get_weights()[0], backbone.get_weights()[0])


MIRRORED = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from keras_contrastive.cli import _encoder, main
sys.exit(main(sys.argv[1:]))
"""


def test_a_folder_without_classes_trains_on_two_mirrored_replicas_and_is_not_evaluated(folder, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in sorted(folder.rglob("*.png")):
        (flat / path.name).symlink_to(path)
    out = tmp_path / "run"
    run = subprocess.run([sys.executable, "-c", MIRRORED, "train", "--data", str(flat), "--labels", "none",
                          "--image-size", str(SIZE), "--epochs", "1", "--batch-size", "8", "--strategy", "mirrored",
                          "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "on 2 replicas (mirrored)" in run.stdout and "no kNN or linear-probe evaluation" in run.stdout
    report = json.loads((out / "metrics.json").read_text())
    assert report["replicas"] == 2 and report["accuracy"] is None
    assert report["train_examples"] == 19 and report["optimizer_steps"] == 2  # 24 files, 5 held out; batch 8
    assert (out / "serving" / "1" / "saved_model.pb").exists()
