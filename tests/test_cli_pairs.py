"""`keras-contrastive train --pairs FILE`, then `index` and `search --text`: a user's captioned pictures, end to end."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from keras_contrastive.cli import main

COLOURS = {"red": (220, 30, 30), "green": (30, 180, 60), "blue": (40, 60, 220), "yellow": (230, 210, 40)}
SHAPES = ("square", "stripes")
PER_PAIR = 5


def write_pictures(root, rng):
    """PNGs of each colour and shape with a CSV of their captions ("a red square", ...)."""
    rows = []
    for colour, rgb in COLOURS.items():
        for shape in SHAPES:
            for i in range(PER_PAIR):
                side = int(rng.integers(12, 30))
                pixels = np.full((side, side, 3), 255, np.uint8)
                if shape == "square":
                    pixels[side // 4 : 3 * side // 4, side // 4 : 3 * side // 4] = rgb
                else:
                    pixels[::3] = rgb
                name = f"{colour}_{shape}_{i}.png"
                Image.fromarray(pixels).save(root / name)
                rows.append((name, f"a {colour} {shape}"))
    with open(root / "captions.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["file", "caption"])
        writer.writerows(rows)
    return root


@pytest.fixture(scope="module")
def pictures(tmp_path_factory, module_rng):
    return write_pictures(tmp_path_factory.mktemp("captioned"), module_rng)


@pytest.fixture(scope="module")
def trained(pictures, tmp_path_factory):
    out = tmp_path_factory.mktemp("clip_run")
    assert main(["train", "--pairs", str(pictures / "captions.csv"), "--image-size", "16", "--epochs", "2",
                 "--batch-size", "8", "--out", str(out), "--overwrite"]) == 0
    return out


def test_train_on_captioned_pictures_trains_clip_and_reports_retrieval_beside_the_random_init(trained, capsys):
    report = json.loads((trained / "metrics.json").read_text())
    assert report["method"]["max_logit_scale"] == 100.0 and report["method"]["learn_temperature"] is True  # CLIP
    assert report["train_examples"] == 32 and report["image_size"] == 16  # 20% of the 40 pictures held out
    assert set(report["accuracy"]) == {"trained", "random_init"}
    for scores in report["accuracy"].values():
        # No classes, so no zero-shot; Recall@10 becomes Recall@(distinct held-out captions) below 10 of them.
        k = max(int(key.rsplit("@", 1)[1]) for key in scores)
        assert 2 <= k <= 8 and set(scores) == {f"{direction}_recall@{at}" for at in (1, k)
                                               for direction in ("image_to_text", "text_to_image")}
        assert all(0.0 <= value <= 1.0 for value in scores.values())
    assert report["optimizer_steps"] == 2 * (32 // 8)


def test_index_and_search_by_text_or_image_answer_from_the_captioned_pictures(trained, pictures, tmp_path, capsys):
    search_dir = tmp_path / "search"
    assert main(["index", str(trained / "model.keras"), "--data", str(pictures), "--out", str(search_dir),
                 "--k", "3"]) == 0
    assert "by image or text" in capsys.readouterr().out
    grid = tmp_path / "grid.png"
    assert main(["search", str(search_dir / "1"), "--text", "a red square", "a blue stripes", "--grid", str(grid),
                 "--data", str(pictures)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "a red square" and printed[4] == "a blue stripes"
    found = [line.split()[-1] for line in printed[1:4] + printed[5:8]]
    assert len(found) == 6 and all(name.endswith(".png") and (pictures / name).exists() for name in found)
    assert grid.stat().st_size > 1000
    # Image queries still search the same index.
    assert main(["search", str(search_dir / "1"), str(pictures / found[0])]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[-1] == found[0]
    assert main(["search", str(search_dir / "1")]) == 2
    assert "query IMAGE files or --text QUERY" in capsys.readouterr().err

