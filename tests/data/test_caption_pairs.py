"""kc.data.caption_pairs: a user's folder of images with a CSV or JSON-lines file of captions."""

import json
import warnings

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_contrastive.data.caption_pairs import caption_pairs, read_captions

COLORS = {"red.png": (255, 0, 0), "cats/green.jpg": (0, 255, 0), "blue.gif": (0, 0, 255), "gray.bmp": (90, 90, 90)}


@pytest.fixture
def folder(tmp_path):
    """A folder of four small images in four formats, one in a subfolder."""
    for name, color in COLORS.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.new("RGB", (10, 6), color).save(tmp_path / name)
    return tmp_path


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_quoted_captions_gives_pairs_in_order(folder):
    captions = write_csv(folder / "captions.csv", (
        "\ufeffid,File,Caption\n"
        '1,red.png,"A red square, bright"\n'
        "\n"
        '2,cats/green.jpg,"Green\nover two lines"\n'
        "3,red.png,  Another caption of red  \n"
    ))
    assert read_captions(captions) == [
        (str(folder / "red.png"), "A red square, bright"),
        (str(folder / "cats/green.jpg"), "Green\nover two lines"),
        (str(folder / "red.png"), "Another caption of red"),
    ]
    pairs = caption_pairs(captions, image_size=(4, 5), verbose=False)
    assert pairs.element_spec == (tf.TensorSpec((4, 5, 3), tf.uint8), tf.TensorSpec((), tf.string))
    elements = list(pairs.as_numpy_iterator())
    assert [caption.decode() for _, caption in elements] == pairs.captions
    assert pairs.captions == ["A red square, bright", "Green\nover two lines", "Another caption of red"]
    np.testing.assert_array_equal(elements[0][0], np.broadcast_to([255, 0, 0], (4, 5, 3)))
    assert abs(elements[1][0].astype(int) - [0, 255, 0]).max() <= 3  # JPEG


def test_jsonl_with_an_image_directory_elsewhere(folder, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("captions") / "captions.jsonl"
    lines = [{"file": "blue.gif", "caption": "blue", "source": "me"},
             {"file": str(folder / "gray.bmp"), "caption": "gray"}]
    elsewhere.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    assert read_captions(elsewhere, folder) == [(str(folder / "blue.gif"), "blue"), (str(folder / "gray.bmp"), "gray")]
    with pytest.raises(FileNotFoundError, match=r"captions.jsonl: 1 image file\(s\) not found .*line 1: .*blue.gif"):
        read_captions(elsewhere)  # the images are not beside the captions file


def test_split_keeps_every_caption_of_an_image_together(folder):
    rows = [f"{name},caption {index} of {name}" for index in range(3) for name in COLORS]
    captions = write_csv(folder / "captions.csv", "file,caption\n" + "\n".join(rows) + "\n")
    train = caption_pairs(captions, split="train", image_size=4, verbose=False)
    test = caption_pairs(captions, split="test", image_size=4, verbose=False)
    assert len(set(test.file_paths)) == 1 and len(test.captions) == 3 and len(set(train.file_paths)) == 3
    assert not set(train.file_paths) & set(test.file_paths) and len(train.captions) == 9
    assert caption_pairs(captions, split="train[:2]", image_size=4, verbose=False).captions == train.captions[:2]


def test_undecodable_images_are_skipped_with_captions_kept_aligned(folder):
    (folder / "broken.png").write_bytes(b"not a png")
    captions = write_csv(folder / "captions.csv", "file,caption\nbroken.png,broken\nred.png,red\nblue.gif,blue\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pairs = caption_pairs(captions, image_size=2, verbose=False)
    assert any("Skipped 1 of 3 files" in str(warning.message) for warning in caught)
    assert pairs.captions == ["red", "blue"] and pairs.skipped_files == [str(folder / "broken.png")]
    assert [caption for _, caption in pairs.as_numpy_iterator()] == [b"red", b"blue"]


@pytest.mark.parametrize("text, message", [
    ("red.png,a caption\n", r"captions.csv, line 1: the header has no 'file' or 'caption' column \(it has 'red.png', "),
    ("file,text\nred.png,red\n", r"line 1: the header has no 'caption' column \(it has 'file', 'text'\)"),
    ("file,caption\nred.png,red\nblue.gif,  \n", r"captions.csv, line 3: the caption of 'blue.gif' is empty"),
    ("file,caption\nred.png\n", r"line 2: the row has 1 field\(s\), too few for the caption column"),
    ("file,caption\n,red\n", r"line 2: the file is empty"),
    ("file,caption\nnotes.txt,red\n", r"line 2: 'notes.txt' is not an image file by its extension; expected one of"),
    ("file,caption\n", r"holds no captions, only its header"),
    ("", r"captions.csv is empty: expected a header line"),
])
def test_csv_errors_name_the_file_and_line(folder, text, message):
    with pytest.raises(ValueError, match=message):
        read_captions(write_csv(folder / "captions.csv", text))


def test_missing_images_are_listed_with_their_lines(folder):
    rows = "".join(f"missing_{index}.png,caption\n" for index in range(7))
    captions = write_csv(folder / "captions.csv", "file,caption\nred.png,red\n" + rows)
    with pytest.raises(FileNotFoundError, match=r"7 image file\(s\) not found in .*line 3: .*missing_0.png; .* 2 more"):
        caption_pairs(captions, verbose=False)


@pytest.mark.parametrize("line, message", [
    ('{"file": "red.png"', r"captions.jsonl, line 2: not valid JSON"),
    ('["red.png", "red"]', r"line 2: expected a JSON object .* got list"),
    ('{"file": "red.png", "text": "red"}', r"line 2: no 'caption' key \(it has 'file', 'text'\)"),
    ('{"file": "red.png", "caption": 3}', r"line 2: the 'caption' must be a string, got 3"),
])
def test_jsonl_errors_name_the_file_and_line(folder, line, message):
    captions = folder / "captions.jsonl"
    captions.write_text('{"file": "red.png", "caption": "red"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_captions(captions)


def test_unknown_extension_and_missing_files(folder):
    (folder / "captions.txt").write_text("red.png\tred\n")
    with pytest.raises(ValueError, match=r"captions.txt: unknown captions file extension '.txt'. Give a .csv file"):
        read_captions(folder / "captions.txt")
    with pytest.raises(FileNotFoundError, match="No captions file"):
        read_captions(folder / "nowhere.csv")
    write_csv(folder / "captions.csv", "file,caption\nred.png,red\n")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        read_captions(folder / "captions.csv", folder / "nowhere")
    with pytest.raises(ValueError, match="Valid splits: train, test, all"):
        caption_pairs(folder / "captions.csv", split="validation")
