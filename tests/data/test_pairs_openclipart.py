"""kc.data.openclipart_pairs: clip art captioned by its SVG's text, on a hand-made tree and on Debian's openclipart."""

import importlib
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_contrastive.data.openclipart_pairs import (
    DEFAULT_DIR, clean_keywords, clipart_caption, openclipart_captions, openclipart_collection, openclipart_pairs,
    png_pixels, read_svg_text,
)
from tests.real_data import real_data

# The namespaces declared on the root, not on the metadata; the publisher's and creator's titles are not the picture's.
SVG = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:cc="http://web.resource.org/cc/">
  <metadata>
    <rdf:RDF><cc:Work rdf:about="">
      <dc:title>{title}</dc:title>
      <dc:description>{description}</dc:description>
      <dc:subject><rdf:Bag>{keywords}</rdf:Bag></dc:subject>
      <dc:publisher><cc:Agent><dc:title>Open Clip Art Library</dc:title></cc:Agent></dc:publisher>
      <dc:creator><cc:Agent><dc:title>Someone</dc:title></cc:Agent></dc:creator>
    </cc:Work></rdf:RDF>
  </metadata>
  <path d="M 0 0 L 10 10"/>
</svg>
"""


def write_svg(path, title="", description="", keywords=()):
    path.parent.mkdir(parents=True, exist_ok=True)
    items = "".join(f"<rdf:li>{keyword}</rdf:li>" for keyword in keywords)
    path.write_text(SVG.format(title=title, description=description, keywords=items), encoding="utf-8")


def write_png(path, color, size=(12, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGBA", size, color).save(path)


@pytest.fixture
def tree(tmp_path):
    """png/ and svg/ trees: 3 captioned pictures in 2 categories, one PNG without SVG, one SVG without text."""
    root = tmp_path / "openclipart"
    pictures = {
        "animals/cat.png": ("Cat", "A cat &amp; its tail", ["", "animal", "hash(0x85a831c)", "unsorted"]),
        "animals/birds/owl.png": ("", "", ["bird", "night_bird"]),
        "signs_and_symbols/stop.png": ("Stop", "Stop", ["hash", "sign"]),
        "signs_and_symbols/blank.png": ("", "HASH(0x8677e2c)", ["", "unsorted"]),
    }
    for relative, (title, description, keywords) in pictures.items():
        write_png(root / "png" / relative, (200, 10, 10, 255))
        write_svg((root / "svg" / relative).with_suffix(".svg"), title, description, keywords)
    write_png(root / "png" / "animals" / "no_svg.png", (0, 0, 255, 128))
    return root


def test_caption_joins_title_description_and_keywords():
    assert clipart_caption("Full Moon", ("moon", "space"), "As seen from Earth") == (
        "Full Moon. As seen from Earth. Keywords: moon, space.")
    assert clipart_caption("Hello!", (), "") == "Hello!"
    assert clipart_caption("", ("bird",), "") == "Keywords: bird."
    assert clipart_caption("", (), "") == ""


def test_keywords_lose_empty_unsorted_and_perl_references():
    assert clean_keywords(["", "hash", "signs_and_symbols", "HASH(0x8589f20)", "unsorted", "sign", "Sign"]) == (
        "signs and symbols", "sign")
    assert clean_keywords(["hash", "potato"], title="Hash Browns") == ("hash", "potato")


def test_reads_only_the_works_own_text(tree):
    svg = tree / "svg"
    assert read_svg_text(svg / "animals" / "cat.svg") == ("Cat", ("animal",), "A cat & its tail")
    assert read_svg_text(svg / "signs_and_symbols" / "stop.svg") == ("Stop", ("sign",), "")  # description = title
    assert read_svg_text(svg / "signs_and_symbols" / "blank.svg") == ("", (), "")
    (svg / "plain.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><path d="M 0 0"/></svg>')
    assert read_svg_text(svg / "plain.svg") == ("", (), "")
    # Prefixes declared for other names, an entity of the file's DTD and the metadata after 64 KB: all of it is parsed.
    late = SVG.format(title="&who; Owl", description="", keywords="<rdf:li>bird</rdf:li>")
    late = late.replace("<metadata>", "<path d='" + "M 0 0 " * 12000 + "'/><metadata>")
    late = late.replace('xmlns:dc="http://purl.org/dc/elements/1.1/"', 'xmlns:d="http://purl.org/dc/elements/1.1/"')
    late = late.replace("dc:", "d:").replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                                             '<!DOCTYPE svg [<!ENTITY who "Night">]>')
    (svg / "late.svg").write_text(late)
    assert read_svg_text(svg / "late.svg") == ("Night Owl", ("bird",), "")


def test_collection_drops_pictures_without_svg_or_text(tree):
    collection = openclipart_collection(tree)
    assert [p.path.split("/png/")[1] for p in collection.pictures] == [
        "animals/birds/owl.png", "animals/cat.png", "signs_and_symbols/stop.png"]
    assert collection.class_names == ("animals", "signs and symbols")
    assert collection.labels.tolist() == [0, 0, 1]
    assert [path.split("/png/")[1] for path in collection.without_svg] == ["animals/no_svg.png"]
    assert [path.split("/png/")[1] for path in collection.without_text] == ["signs_and_symbols/blank.png"]
    assert collection.pictures[0].caption == "Keywords: bird, night bird."
    assert collection.pictures[1].caption == "Cat. A cat & its tail. Keywords: animal."


def test_pictures_too_large_to_decode_are_left_out(tree, monkeypatch):
    assert png_pixels(tree / "png" / "animals" / "cat.png") == 12 * 8
    assert png_pixels(tree / "svg" / "animals" / "cat.svg") is None
    write_png(tree / "png" / "animals" / "poster.png", (0, 0, 0, 255), size=(20, 10))
    write_svg(tree / "svg" / "animals" / "poster.svg", title="Poster")
    monkeypatch.setattr(importlib.import_module("keras_contrastive.data.openclipart_pairs"), "MAX_PIXELS", 199)
    collection = openclipart_collection(tree)
    assert [path.split("/png/")[1] for path in collection.too_large] == ["animals/poster.png"]
    assert len(collection.pictures) == 3


def test_pairs_give_resized_images_captions_and_labels(tree):
    pairs = openclipart_pairs("all", image_size=(4, 6), with_labels=True, path=tree)
    assert pairs.element_spec == (tf.TensorSpec((4, 6, 3), tf.uint8), tf.TensorSpec((), tf.string),
                                  tf.TensorSpec((), tf.int64))
    elements = list(pairs.as_numpy_iterator())
    assert [caption.decode() for _, caption, _ in elements] == pairs.captions
    assert [int(label) for _, _, label in elements] == [0, 0, 1]
    assert pairs.class_names == ["animals", "signs and symbols"]
    np.testing.assert_array_equal(elements[0][0], np.broadcast_to([200, 10, 10], (4, 6, 3)))
    train, test = openclipart_pairs("train", path=tree), openclipart_pairs("test", path=tree)
    assert sorted(train.file_paths + test.file_paths) == sorted(pairs.file_paths)
    assert len(test.file_paths) == 1 and test.element_spec[0].shape == (64, 64, 3)


def test_missing_trees_name_the_debian_packages(tree, tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install openclipart-png openclipart-svg"):
        openclipart_collection(tmp_path / "nowhere")
    (tmp_path / "only_png" / "png").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="only_png/svg.*openclipart-svg puts them in /usr/share/openclipart"):
        openclipart_collection(tmp_path / "only_png")
    with pytest.raises(ValueError, match="Valid splits: train, test, all"):
        openclipart_pairs("validation", path=tree)


@pytest.fixture(scope="module")
def real():
    """Debian's openclipart read once for the module (about 1 s); skip locally without it, fail under CI."""
    started = time.perf_counter()
    collection = real_data(openclipart_collection)
    print(f"openclipart scan: {time.perf_counter() - started:.2f} s")
    return collection


def test_real_collection_counts_and_known_picture(real):
    assert len(real.pictures) == 8097 and not real.without_svg
    assert len(real.without_text) == 5 and len(real.too_large) == 19
    assert f"{DEFAULT_DIR}/png/office/reunion_02.png" in real.without_text
    assert f"{DEFAULT_DIR}/png/signs_and_symbols/stop_sign_miguel_s_nchez_.png" in real.too_large
    assert len(real.class_names) == 22 and {"animals", "signs and symbols", "unsorted"} <= set(real.class_names)
    moon = next(p for p in real.pictures if p.path.endswith("science/astronomy/full_moon_dan_gerhards_01.png"))
    assert (moon.category, moon.title, moon.keywords) == ("science", "Full Moon", ("moon", "astronomy", "space"))
    assert moon.caption.startswith("Full Moon. The full moon as it looks from Earth.")
    assert moon.caption.endswith("Keywords: moon, astronomy, space.")


def test_real_captions_are_clean(real):
    assert all(p.caption and p.caption == p.caption.strip() and "\n" not in p.caption for p in real.pictures)
    keywords = {keyword.lower() for p in real.pictures for keyword in p.keywords}
    assert not keywords & {"", "unsorted"} and not any(keyword.startswith("hash(") for keyword in keywords)
    descriptions = [p for p in real.pictures if p.description]
    assert not any(p.description.startswith("HASH(") or p.description == p.title for p in descriptions)
    assert sum(bool(p.title) for p in real.pictures) == 8040
    assert sum(bool(p.description) for p in real.pictures) == 1357


def test_real_split_holds_out_a_fifth_of_each_category(real):
    train, test = openclipart_captions("train"), openclipart_captions("test")
    assert (len(train), len(test)) == (6477, 1620)
    assert not {p.path for p in train} & {p.path for p in test}
    for name in real.class_names:
        count = sum(p.category == name for p in real.pictures)
        held_out = sum(p.category == name for p in test)
        assert held_out == max(1, round(0.2 * count)), name
    assert openclipart_captions("test", seed=1) != test


def test_real_pairs_decode_to_images(real):
    pairs = openclipart_pairs("test[:3]", image_size=32, with_labels=True)
    elements = list(pairs.as_numpy_iterator())
    assert len(elements) == 3 and pairs.class_names == list(real.class_names)
    for (image, caption, label), expected in zip(elements, openclipart_captions("test[:3]")):
        assert image.shape == (32, 32, 3) and image.dtype == np.uint8 and image.min() < image.max()
        assert caption.decode() == expected.caption and real.class_names[label] == expected.category
