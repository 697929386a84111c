"""kc.data.emoji_pairs: Noto Color Emoji's pictures captioned by their Unicode names (hand-made and Debian's files)."""

import collections
import importlib
import io
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_contrastive.data.emoji import (
    EMOJI_GROUPS, emoji_captions, emoji_glyphs, emoji_pairs, read_emoji_test,
)
from tests.real_data import real_data

emoji_module = importlib.import_module("keras_contrastive.data.emoji")

EMOJI_TEST = """\
# emoji-test.txt
# Version: 15.0

# group: Smileys & Emotion

# subgroup: face-smiling
1F600                                                  ; fully-qualified     # 😀 E1.0 grinning face
263A FE0F                                              ; fully-qualified     # ☺️ E0.6 smiling face
263A                                                   ; unqualified         # ☺ E0.6 smiling face

# group: Component

# subgroup: skin-tone
1F3FB                                                  ; component           # 🏻 E1.0 light skin tone

# group: Symbols

# subgroup: keycap
0023 FE0F 20E3                                         ; fully-qualified     # #️⃣ E0.6 keycap: #
0023 20E3                                              ; unqualified         # #⃣ E0.6 keycap: #

#EOF
"""


def test_reads_fully_qualified_emoji_without_components(tmp_path):
    (tmp_path / "emoji-test.txt").write_text(EMOJI_TEST, encoding="utf-8")
    assert read_emoji_test(tmp_path / "emoji-test.txt") == [
        ("\U0001F600", "grinning face", "Smileys & Emotion", "face-smiling"),
        ("\u263A\uFE0F", "smiling face", "Smileys & Emotion", "face-smiling"),
        ("#\uFE0F\u20E3", "keycap: #", "Symbols", "keycap"),
    ]


def test_glyphs_are_found_through_cmap_and_ligatures_with_or_without_fe0f():
    cmap = {0x1F600: "u1F600", 0x23: "numbersign", 0x20E3: "uni20E3", 0x263A: "uni263A", 0xFE0F: "uniFE0F"}
    ligatures = {("numbersign", "uni20E3"): "keycap_hash"}
    strike = {"u1F600": None, "keycap_hash": None, "uni263A": None}
    glyph = emoji_module._glyph_name
    assert glyph("\U0001F600", cmap, ligatures, strike) == "u1F600"
    assert glyph("#\uFE0F\u20E3", cmap, ligatures, strike) == "keycap_hash"
    assert glyph("\u263A\uFE0F", cmap, ligatures, strike) == "uni263A"
    assert glyph("\U0001F601", cmap, ligatures, strike) is None


def test_missing_files_and_fonttools_say_what_to_install(tmp_path, monkeypatch):
    (tmp_path / "emoji-test.txt").write_text(EMOJI_TEST, encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="apt-get install unicode-data"):
        emoji_glyphs(emoji_test_path=tmp_path / "nowhere.txt")
    with pytest.raises(FileNotFoundError, match="apt-get install fonts-noto-color-emoji"):
        emoji_glyphs(font_path=tmp_path / "nowhere.ttf", emoji_test_path=tmp_path / "emoji-test.txt")
    (tmp_path / "font.ttf").write_bytes(b"not a font")
    monkeypatch.setitem(sys.modules, "fontTools.ttLib", None)
    with pytest.raises(ImportError, match=r"pip install keras-contrastive\[pairs\]"):
        emoji_glyphs(font_path=tmp_path / "font.ttf", emoji_test_path=tmp_path / "emoji-test.txt")
    with pytest.raises(ValueError, match="Valid splits: train, test, all"):
        emoji_pairs("validation", emoji_test_path=tmp_path / "emoji-test.txt")


@pytest.fixture(scope="module")
def glyphs():
    """Every emoji of Debian's emoji-test.txt with its Noto Color Emoji picture, read once (about 0.5 s)."""
    started = time.perf_counter()
    found = real_data(emoji_glyphs)
    print(f"emoji extraction: {time.perf_counter() - started:.2f} s")
    return found


def test_real_emoji_counts_by_group(glyphs):
    counts = collections.Counter(item.group for item in glyphs)
    assert len(glyphs) == 3655 and tuple(counts) == EMOJI_GROUPS
    assert counts["Smileys & Emotion"] == 166 and counts["People & Body"] == 2148 and counts["Flags"] == 269
    assert sum(item.has_skin_tone for item in glyphs) == 1785
    assert len({item.text for item in glyphs}) == len(glyphs)
    assert all(item.name and item.png.startswith(b"\x89PNG\r\n\x1a\n") for item in glyphs)


def test_real_emoji_know_their_names_and_pictures(glyphs):
    by_name = {item.name: item for item in glyphs}
    grinning = glyphs[0]
    assert (grinning.text, grinning.name, grinning.group, grinning.subgroup) == (
        "\U0001F600", "grinning face", "Smileys & Emotion", "face-smiling")
    assert by_name["flag: Japan"].group == "Flags" and by_name["keycap: #"].group == "Symbols"
    assert by_name["waving hand: medium skin tone"].text == "\U0001F44B\U0001F3FD"
    picture = Image.open(io.BytesIO(by_name["red apple"].png))
    assert picture.size == (136, 128) and "transparency" in picture.info  # palette PNGs, transparent around
    assert by_name["red apple"].png != by_name["green apple"].png


def test_real_split_holds_out_a_fifth_of_each_group(glyphs):
    train, test = emoji_captions("train"), emoji_captions("test")
    assert (len(train), len(test)) == (2923, 732) and not {e.text for e in train} & {e.text for e in test}
    held_out = collections.Counter(item.group for item in test)
    for group, count in collections.Counter(item.group for item in glyphs).items():
        assert held_out[group] == round(0.2 * count), group
    assert len(emoji_captions(skin_tones=False)) == 1870


def test_real_pairs_decode_on_white(glyphs):
    pairs = emoji_pairs("all[:2]", image_size=(24, 32), with_labels=True)
    assert pairs.element_spec == (tf.TensorSpec((24, 32, 3), tf.uint8), tf.TensorSpec((), tf.string),
                                  tf.TensorSpec((), tf.int64))
    (image, caption, label), _ = list(pairs.as_numpy_iterator())
    assert caption == b"grinning face" and label == 0 and pairs.class_names[label] == "Smileys & Emotion"
    np.testing.assert_array_equal(image[0, 0], [255, 255, 255])  # the transparent corner
    assert image.min() < 100 and pairs.emoji[:1] == ["\U0001F600"]
    test = emoji_pairs("test[:1]")
    assert test.element_spec[0].shape == (64, 64, 3) and test.captions[0] == emoji_captions("test")[0].name
