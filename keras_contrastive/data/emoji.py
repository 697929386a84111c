"""The emoji of Noto Color Emoji as pictures, captioned by their Unicode names and labelled by their groups.

Two Debian packages are read, nothing is downloaded or written:

- `unicode-data`'s `emoji-test.txt` (`/usr/share/unicode/emoji`) lists every
  emoji sequence with its name ("grinning face with big eyes") under a
  `# group:` and a `# subgroup:`. Only the fully-qualified sequences are
  kept (each emoji once; `component` lines such as the bare skin tones are
  left out, and the "Component" group has nothing else);
- `fonts-noto-color-emoji`'s `NotoColorEmoji.ttf` holds each emoji as a
  136x128 PNG (a palette with transparency) in its `CBDT` table, under a
  glyph name. A sequence's glyph is found as a text renderer would: one code
  point through the `cmap`, several through the `GSUB` ligatures of their
  glyphs; tried with the variation selector U+FE0F first, then without it,
  as the font draws 1,049 emoji only without it (`"☺️"` U+263A U+FE0F,
  keycaps, and ZWJ sequences such as "heart on fire").

Reading both takes about half a second (the font is 11 MB), once per process.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_contrastive.data.captioned_images import captioned_images
from keras_contrastive.data.decode import decode_image, image_size_pair, resize_image
from keras_contrastive.data.holdout import holdout_split
from keras_contrastive.data.splits import parse_local_split

DEFAULT_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
DEFAULT_EMOJI_TEST = "/usr/share/unicode/emoji/emoji-test.txt"
SPLITS = ("train", "test", "all")
#: The groups of emoji-test.txt, in its order, without "Component": the class names.
EMOJI_GROUPS = (
    "Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places", "Activities",
    "Objects", "Symbols", "Flags",
)

_VARIATION_SELECTOR = 0xFE0F
_SKIN_TONES = range(0x1F3FB, 0x1F400)
# "1F600 ; fully-qualified # 😀 E1.0 grinning face": code points, status, the emoji, its version, its name.
_LINE = re.compile(r"(?P<points>[0-9A-F ]+?)\s*;\s*(?P<status>[\w-]+)\s*#\s*\S+\s+E\d+\.\d+\s+(?P<name>.+)")
_LIGATURE_LOOKUP, _EXTENSION_LOOKUP = 4, 7


@dataclasses.dataclass(frozen=True)
class Emoji:
    """One emoji and its picture.

    Args:
        text: The emoji itself, its code point sequence as a string.
        name: Its Unicode CLDR name, e.g. `"grinning face"` or
            `"waving hand: medium skin tone"`: the caption.
        group: Its group, one of `EMOJI_GROUPS`: the class.
        subgroup: Its subgroup, e.g. `"face-smiling"`.
        png: The font's PNG of it (136x128 in Noto Color Emoji, a palette with transparency).
    """

    text: str
    name: str
    group: str
    subgroup: str
    png: bytes = dataclasses.field(repr=False)

    @property
    def has_skin_tone(self) -> bool:
        """Whether it holds a skin-tone modifier (U+1F3FB..U+1F3FF)."""
        return any(ord(character) in _SKIN_TONES for character in self.text)


def read_emoji_test(path: str | os.PathLike | None = None) -> list[tuple[str, str, str, str]]:
    """The fully-qualified emoji of an `emoji-test.txt`, in its order.

    Args:
        path: The file; else `/usr/share/unicode/emoji/emoji-test.txt`.

    Returns:
        `(text, name, group, subgroup)` per emoji, except the "Component" group.

    Raises:
        FileNotFoundError: If the file is missing; the message says which
            Debian package installs it.

    Example:
    >>> read_emoji_test()[0]
    ('😀', 'grinning face', 'Smileys & Emotion', 'face-smiling')
    """
    file_path = Path(DEFAULT_EMOJI_TEST if path is None else path)
    if not file_path.is_file():
        raise FileNotFoundError(
            f"No emoji list at {file_path}. Install it with 'apt-get install unicode-data' (it puts emoji-test.txt "
            f"in {Path(DEFAULT_EMOJI_TEST).parent}), or pass emoji_test_path= a copy of Unicode's emoji-test.txt."
        )
    emoji, group, subgroup = [], "", ""
    with open(file_path, encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("# group:"):
                group = line.split(":", 1)[1].strip()
            elif line.startswith("# subgroup:"):
                subgroup = line.split(":", 1)[1].strip()
            elif not line.startswith("#") and (match := _LINE.match(line)):
                if match["status"] == "fully-qualified" and group != "Component":
                    text = "".join(chr(int(point, 16)) for point in match["points"].split())
                    emoji.append((text, match["name"].strip(), group, subgroup))
    return emoji


def _font_tables(font_path: Path):
    """The font's PNG strike (glyph name -> bitmap), its cmap and its ligatures (glyph names -> glyph name)."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError as error:
        raise ImportError(
            "The emoji pictures are read from Noto Color Emoji with fontTools: pip install keras-contrastive[pairs] "
            "(or pip install fonttools)."
        ) from error
    font = TTFont(os.fspath(font_path), lazy=True)
    if "CBDT" not in font:
        raise ValueError(f"{font_path} has no CBDT table of colour bitmaps; give Noto Color Emoji's CBDT font.")
    strike = max(font["CBDT"].strikeData, key=len)
    ligatures = {}
    lookups = font["GSUB"].table.LookupList.Lookup if "GSUB" in font else []
    for lookup in lookups:
        for table in lookup.SubTable:
            kind = lookup.LookupType
            if kind == _EXTENSION_LOOKUP:
                kind, table = table.ExtensionLookupType, table.ExtSubTable
            if kind != _LIGATURE_LOOKUP:
                continue
            for first, entries in table.ligatures.items():
                for ligature in entries:
                    ligatures.setdefault((first, *ligature.Component), ligature.LigGlyph)
    return strike, font.getBestCmap(), ligatures


def _glyph_name(text: str, cmap: dict, ligatures: dict, strike: dict) -> str | None:
    points = [ord(character) for character in text]
    for sequence in (points, [point for point in points if point != _VARIATION_SELECTOR]):
        if not sequence or any(point not in cmap for point in sequence):
            continue
        names = tuple(cmap[point] for point in sequence)
        name = names[0] if len(names) == 1 else ligatures.get(names)
        if name is not None and name in strike:
            return name
    return None


@functools.lru_cache(maxsize=2)
def _glyphs(font_path: str | None, emoji_test_path: str | None) -> tuple[Emoji, ...]:
    listed = read_emoji_test(emoji_test_path)
    path = Path(DEFAULT_FONT if font_path is None else font_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No emoji font at {path}. Install it with 'apt-get install fonts-noto-color-emoji' (it puts "
            f"NotoColorEmoji.ttf in {Path(DEFAULT_FONT).parent}), or pass font_path= a CBDT colour emoji font."
        )
    strike, cmap, ligatures = _font_tables(path)
    found, missing = [], []
    for text, name, group, subgroup in listed:
        glyph = _glyph_name(text, cmap, ligatures, strike)
        if glyph is None:
            missing.append(name)
        else:
            found.append(Emoji(text, name, group, subgroup, strike[glyph].imageData))
    if missing:
        warnings.warn(
            f"{path} has no picture of {len(missing)} of the {len(listed)} emoji of "
            f"{emoji_test_path or DEFAULT_EMOJI_TEST} "
            f"(an older font than the list?); they are left out: {', '.join(missing[:5])}"
            f"{', ...' if len(missing) > 5 else ''}.",
            stacklevel=3,
        )
    return tuple(found)


def emoji_glyphs(
    font_path: str | os.PathLike | None = None, emoji_test_path: str | os.PathLike | None = None
) -> list[Emoji]:
    """Every fully-qualified emoji of `emoji-test.txt` that the font draws, in the list's order.

    Debian 12's `unicode-data` 15.0 and `fonts-noto-color-emoji` 2.042 give
    all 3,655: 166 Smileys & Emotion, 2,148 People & Body (1,785 emoji of all
    groups are skin-tone variants), 152 Animals & Nature, 133 Food & Drink,
    218 Travel & Places, 85 Activities, 261 Objects, 223 Symbols, 269 Flags.
    A few share one picture (flag: Norway, Svalbard & Jan Mayen and Bouvet
    Island; the skin tones of "snowboarder"). An emoji the font lacks is left
    out with a warning. Read once per process.

    Args:
        font_path: A CBDT colour emoji font; else Noto Color Emoji
            (`/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf`).
        emoji_test_path: An `emoji-test.txt`; else
            `/usr/share/unicode/emoji/emoji-test.txt`.

    Returns:
        A list of `Emoji`.

    Raises:
        FileNotFoundError: If the font or the list is missing; the message
            says which Debian package installs it.
        ImportError: Without fontTools (`pip install keras-contrastive[pairs]`).

    Example:
    >>> grinning = kc.data.emoji_glyphs()[0]
    >>> grinning.name, grinning.group
    ('grinning face', 'Smileys & Emotion')
    """
    return list(_glyphs(None if font_path is None else os.fspath(font_path),
                        None if emoji_test_path is None else os.fspath(emoji_test_path)))


def emoji_captions(
    split: str = "all",
    test_fraction: float = 0.2,
    seed: int = 0,
    skin_tones: bool = True,
    font_path: str | os.PathLike | None = None,
    emoji_test_path: str | os.PathLike | None = None,
) -> list[Emoji]:
    """The emoji of a split, in `emoji-test.txt`'s order.

    Args:
        split: `"all"`, or `"train"` / `"test"`: the two parts of
            `holdout_split`, stratified by group; each optionally
            `"train[:N]"` for its first N.
        test_fraction: The share of each group held out as `"test"`.
        seed: Seed of which emoji are held out.
        skin_tones: Keep the skin-tone variants; False leaves 1,870 emoji,
            363 of them People & Body (instead of 2,148 of 3,655).
        font_path: As in `emoji_glyphs`.
        emoji_test_path: As in `emoji_glyphs`.

    Returns:
        A list of `Emoji`.

    Raises:
        As `emoji_glyphs`; ValueError for an unknown split or a bad `test_fraction`.

    Example:
    >>> [emoji.name for emoji in kc.data.emoji_captions("test[:3]")]
    """
    name, stop = parse_local_split(split, SPLITS)
    emoji = [item for item in emoji_glyphs(font_path, emoji_test_path) if skin_tones or not item.has_skin_tone]
    if name != "all":
        labels = np.array([EMOJI_GROUPS.index(item.group) for item in emoji], np.int64)
        train, test = holdout_split(len(emoji), test_fraction, labels=labels, seed=seed)
        emoji = [emoji[index] for index in (train if name == "train" else test)]
    return emoji[:stop]


def emoji_pairs(
    split: str = "train",
    image_size: int | tuple[int, int] = 64,
    with_labels: bool = False,
    test_fraction: float = 0.2,
    seed: int = 0,
    skin_tones: bool = True,
    font_path: str | os.PathLike | None = None,
    emoji_test_path: str | os.PathLike | None = None,
) -> tf.data.Dataset:
    """Emoji pictures and their names as a `tf.data.Dataset`, for image-text contrastive learning.

    The PNGs (about 10 MB for all) are held in memory and decoded inside
    `tf.data` by `decode_image` (transparency on white), then resized to
    `image_size` (the 136x128 pictures are squeezed by 6% across to a
    square). The elements follow `emoji-test.txt`'s order, group by group:
    shuffle with a buffer as large as the set. With every skin tone, 2,923
    training and 732 held-out pairs (`test_fraction` 0.2, seed 0).

    The result has the attributes `class_names` (`EMOJI_GROUPS`, for
    zero-shot prompts), `captions` and `emoji` (the characters, in its order)
    and `labels` (int64 group ids).

    Args:
        split: `"train"`, `"test"` or `"all"`, as in `emoji_captions`.
        image_size: Output size, an int for a square or `(height, width)`.
        with_labels: Yield `(image, caption, label)` with an int64 group id.
        test_fraction: The share of each group held out as `"test"`.
        seed: Seed of which emoji are held out.
        skin_tones: Keep the skin-tone variants (see `emoji_captions`).
        font_path: As in `emoji_glyphs`.
        emoji_test_path: As in `emoji_glyphs`.

    Returns:
        A `tf.data.Dataset` of `(uint8 image (H, W, 3), string caption)`, or
        `(image, caption, int64 label)` with `with_labels`.

    Raises:
        As `emoji_captions`; ValueError for a bad `image_size`.

    Example:
    >>> pairs = kc.data.emoji_pairs("train", image_size=32)
    >>> image, caption = next(iter(pairs))  # caption b'grinning face'
    """
    size = image_size_pair(image_size)
    emoji = emoji_captions(split, test_fraction, seed, skin_tones, font_path, emoji_test_path)
    captions = [item.name for item in emoji]
    labels = np.array([EMOJI_GROUPS.index(item.group) for item in emoji], np.int64)
    dataset = captioned_images([item.png for item in emoji], captions, labels, EMOJI_GROUPS,
                               lambda png: resize_image(decode_image(png, channels=3), size), with_labels)
    dataset.emoji = [item.text for item in emoji]
    return dataset
