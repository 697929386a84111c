"""Openclipart's clip art paired with the text of its SVG: titles, keywords and descriptions as captions.

Debian's `openclipart-png` and `openclipart-svg` hold the same pictures (8,121
in 0.18) at the same relative paths under `/usr/share/openclipart/png` and
`/usr/share/openclipart/svg`. Each SVG's `<metadata>` describes the picture in
RDF: its `cc:Work` has a `dc:title`, `dc:subject` keywords (an `rdf:Bag` of
`rdf:li`) and sometimes a `dc:description`. Only the work's own elements are
read: the `dc:title`s nested in `dc:publisher`, `dc:creator` and `dc:rights`
name people and the library, not the picture.

Keywords are cleaned of what the library's old export left in them: empty
ones, `"unsorted"`, and the Perl references `"hash(0x8589f20)"` and `"hash"`
that stand for lost keywords (about 1,900 files; `"hash"` is kept when the
title says it, as in "Hash Browns"). A description that is such a reference
(`"HASH(0x862bbb8)"`) or repeats the title is left out.

The PNGs larger than `MAX_PIXELS` (by their header) are left out too: 19 of
Debian's, from 22 to 623 million pixels, each taking seconds and gigabytes to
decode (TensorFlow fails on the two largest, whose RGBA pixels pass 2 GB).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import struct
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_contrastive.data.captioned_images import captioned_images
from keras_contrastive.data.decode import image_size_pair, load_image
from keras_contrastive.data.holdout import holdout_split
from keras_contrastive.data.index import index_directory
from keras_contrastive.data.splits import parse_local_split

DEFAULT_DIR = "/usr/share/openclipart"
SPLITS = ("train", "test", "all")
#: Larger pictures are left out (4096 x 4096; the largest of Debian's kept ones has 8.7 million pixels).
MAX_PIXELS = 4096 * 4096

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_DC = "http://purl.org/dc/elements/1.1/"
_CC = "http://web.resource.org/cc/"
# The metadata element is parsed on its own (the rest of an SVG can be 1 MB of paths), inside an element
# declaring the prefixes it uses; its own declarations, when it has them, take precedence.
_WRAPPER = f'<metadata-of-svg xmlns:rdf="{_RDF}" xmlns:dc="{_DC}" xmlns:cc="{_CC}">'.encode()
_METADATA = re.compile(rb"<(?:[\w.-]+:)?metadata[\s>].*?</(?:[\w.-]+:)?metadata\s*>", re.DOTALL)
_PERL_REFERENCE = re.compile(r"hash\(0x[0-9a-f]+\)", re.IGNORECASE)
_DROPPED_KEYWORDS = ("", "unsorted")
_SENTENCE_END = (".", "!", "?", "…")
# The metadata is read from an SVG's start (Debian's end within 6 KB), the whole file when it is not there.
_HEAD_BYTES = 1 << 16
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclasses.dataclass(frozen=True)
class ClipArt:
    """One openclipart picture and its text.

    Args:
        path: The PNG file.
        category: Its class: the top-level folder, underscores as spaces
            (`"signs and symbols"`).
        title: The work's `dc:title` (may be empty).
        keywords: Its cleaned `dc:subject` keywords, in the file's order,
            underscores as spaces, each once (may be empty).
        description: Its `dc:description` (may be empty).
    """

    path: str
    category: str
    title: str
    keywords: tuple[str, ...]
    description: str

    @property
    def caption(self) -> str:
        """`clipart_caption` of the title, description and keywords."""
        return clipart_caption(self.title, self.keywords, self.description)


@dataclasses.dataclass(frozen=True)
class ClipArtCollection:
    """Every captioned picture of an openclipart tree, and those left out.

    Args:
        pictures: The pictures with some text, sorted by PNG path.
        class_names: The sorted categories (22 in Debian's openclipart);
            a picture's class id is its category's index here.
        without_svg: The PNG files that have no SVG beside them.
        without_text: The PNG files whose SVG gives no title, keyword or
            description.
        too_large: The captioned PNG files of more than `MAX_PIXELS` pixels.
    """

    pictures: tuple[ClipArt, ...]
    class_names: tuple[str, ...]
    without_svg: tuple[str, ...]
    without_text: tuple[str, ...]
    too_large: tuple[str, ...]

    @property
    def labels(self) -> np.ndarray:
        """The int64 class id of each picture."""
        ids = {name: index for index, name in enumerate(self.class_names)}
        return np.array([ids[picture.category] for picture in self.pictures], np.int64)


def _sentence(text: str) -> str:
    return text if text.endswith(_SENTENCE_END) else text + "."


def clipart_caption(title: str, keywords: tuple[str, ...] | list[str] = (), description: str = "") -> str:
    """The caption of a picture: its title, then its description, then its keywords.

    The format is `"<title>. <description>. Keywords: <k1>, <k2>, ..."`: each
    part that is present, the title and description ending with a full stop
    unless they end in `. ! ? …` already; the keywords after `"Keywords: "`,
    separated by commas. A picture with a title only is captioned
    `"<title>."`.

    Args:
        title: The title, or `""`.
        keywords: The keywords (cleaned, as in `ClipArt.keywords`).
        description: The description, or `""`.

    Returns:
        The caption; `""` when every part is empty.

    Example:
    >>> clipart_caption("Full Moon", ("moon", "astronomy"), "The full moon as it looks from Earth.")
    'Full Moon. The full moon as it looks from Earth. Keywords: moon, astronomy.'
    """
    parts = [_sentence(text) for text in (title, description) if text]
    if keywords:
        parts.append(f"Keywords: {', '.join(keywords)}.")
    return " ".join(parts)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _element_text(element: ElementTree.Element | None) -> str:
    """An element's own text, else its first `rdf:li`'s (a title or description given as an `rdf:Alt`)."""
    if element is None:
        return ""
    text = _clean(element.text)
    if not text:
        first = element.find(f".//{{{_RDF}}}li")
        text = _clean(first.text) if first is not None else ""
    return text


def clean_keywords(keywords: list[str], title: str = "") -> tuple[str, ...]:
    """Keywords without the empty ones, `"unsorted"` and the export's Perl references, each once.

    Underscores become spaces; `"hash"` is kept only when the title holds it.

    Args:
        keywords: The `rdf:li` texts of a `dc:subject`, in the file's order.
        title: The picture's title.

    Returns:
        The kept keywords, in their order, each once (compared ignoring case).

    Example:
    >>> clean_keywords(["", "hash", "signs_and_symbols", "hash(0x8589f20)", "unsorted", "sign", "Sign"])
    ('signs and symbols', 'sign')
    """
    cleaned, seen = [], set()
    for keyword in keywords:
        keyword = _clean(keyword.replace("_", " "))
        key = keyword.lower()
        if key in _DROPPED_KEYWORDS or _PERL_REFERENCE.fullmatch(key) or key in seen:
            continue
        if key == "hash" and "hash" not in title.lower():
            continue
        seen.add(key)
        cleaned.append(keyword)
    return tuple(cleaned)


def read_svg_text(svg_path: str | os.PathLike) -> tuple[str, tuple[str, ...], str]:
    """The title, cleaned keywords and description of an SVG's `cc:Work`.

    Args:
        svg_path: The SVG file.

    Returns:
        `(title, keywords, description)`, whitespace collapsed; empty parts
        when the file has no such metadata or it cannot be parsed.

    Example:
    >>> read_svg_text("/usr/share/openclipart/svg/science/astronomy/full_moon_dan_gerhards_01.svg")[:2]
    ('Full Moon', ('moon', 'astronomy', 'space'))
    """
    with open(svg_path, "rb") as file:
        content = file.read(_HEAD_BYTES)
        match = _METADATA.search(content)
        if match is None:
            content += file.read()
            match = _METADATA.search(content)
        work = None
        if match is not None:
            try:
                metadata = ElementTree.fromstring(_WRAPPER + match.group() + b"</metadata-of-svg>")
                work = metadata.find(f".//{{{_CC}}}Work")
            except ElementTree.ParseError:  # prefixes or entities declared elsewhere in the file: parse all of it
                try:
                    work = ElementTree.fromstring(content + file.read()).find(f".//{{{_CC}}}Work")
                except ElementTree.ParseError:
                    work = None
    if work is None:
        return "", (), ""
    title = _element_text(work.find(f"{{{_DC}}}title"))
    subject = work.find(f"{{{_DC}}}subject")
    keywords = [] if subject is None else [item.text or "" for item in subject.iter(f"{{{_RDF}}}li")]
    if subject is not None and not keywords and _clean(subject.text):
        keywords = _clean(subject.text).split(",")
    description = _element_text(work.find(f"{{{_DC}}}description"))
    if _PERL_REFERENCE.fullmatch(description) or description.lower() == title.lower():
        description = ""
    return title, clean_keywords(keywords, title), description


def png_pixels(path: str | os.PathLike) -> int | None:
    """A PNG's width times height, read from its header; None for a file that is no PNG.

    Args:
        path: The file.

    Returns:
        The number of pixels, without decoding the file.

    Example:
    >>> png_pixels("/usr/share/openclipart/png/signs_and_symbols/stop_sign_miguel_s_nchez_.png")
    623403000
    """
    with open(path, "rb") as file:
        header = file.read(24)
    if len(header) < 24 or not header.startswith(_PNG_SIGNATURE) or header[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", header[16:24])
    return width * height


def _directories(path: str | os.PathLike | None) -> tuple[Path, Path]:
    root = Path(DEFAULT_DIR if path is None else path)
    png, svg = root / "png", root / "svg"
    for directory, package in ((png, "openclipart-png"), (svg, "openclipart-svg")):
        if not directory.is_dir():
            raise FileNotFoundError(
                f"No openclipart pictures in {directory}. Install them with 'apt-get install openclipart-png "
                f"openclipart-svg' ({package} puts them in {Path(DEFAULT_DIR) / directory.name}), or pass path= a "
                "folder holding png/ and svg/ trees of the same relative paths."
            )
    return png, svg


@functools.lru_cache(maxsize=2)
def _collection(root: str | None) -> ClipArtCollection:
    png_root, svg_root = _directories(root)
    paths, _, _ = index_directory(png_root, labels=None)
    prefix = os.path.join(png_root, "")
    pictures, without_svg, without_text, too_large = [], [], [], []
    for path in paths:  # os.path rather than pathlib: twice as fast over 8,121 files
        relative = path[len(prefix):]
        svg_path = os.path.join(svg_root, os.path.splitext(relative)[0] + ".svg")
        if not os.path.isfile(svg_path):
            without_svg.append(path)
            continue
        title, keywords, description = read_svg_text(svg_path)
        if not (title or keywords or description):
            without_text.append(path)
            continue
        if (png_pixels(path) or 0) > MAX_PIXELS:
            too_large.append(path)
            continue
        category = relative.split(os.sep, 1)[0].replace("_", " ")
        pictures.append(ClipArt(path, category, title, keywords, description))
    class_names = tuple(sorted({picture.category for picture in pictures}))
    return ClipArtCollection(tuple(pictures), class_names, tuple(without_svg), tuple(without_text), tuple(too_large))


def openclipart_collection(path: str | os.PathLike | None = None) -> ClipArtCollection:
    """Every openclipart PNG with its SVG's text, read once per process (1 to 2 s for Debian's 8,121).

    Debian's openclipart 0.18 gives 8,097 captioned pictures: every PNG has
    its SVG, 5 (`without_text`) have neither a title nor a keyword nor a
    description, and 19 are larger than `MAX_PIXELS` (`too_large`). Their
    captions are short (a median of 60 characters) and often repeated: icon
    themes share one title ("Lemon SVG theme"), so 3,202 of them differ.

    Args:
        path: A folder holding `png/` and `svg/`; else `/usr/share/openclipart`.

    Returns:
        A `ClipArtCollection`.

    Raises:
        FileNotFoundError: If `png/` or `svg/` is missing; the message says
            which Debian packages install them.

    Example:
    >>> collection = kc.data.openclipart_collection()
    >>> collection.pictures[0].caption, collection.class_names[:2]
    """
    return _collection(None if path is None else os.fspath(path))


def openclipart_captions(
    split: str = "all", test_fraction: float = 0.2, seed: int = 0, path: str | os.PathLike | None = None
) -> list[ClipArt]:
    """The captioned pictures of a split, in PNG path order.

    Args:
        split: `"all"`, or `"train"` / `"test"`: the two parts of
            `holdout_split`, stratified by category (`test_fraction` of each
            category held out); each optionally `"train[:N]"` for its first N.
        test_fraction: The share held out as `"test"`.
        seed: Seed of which pictures are held out.
        path: As in `openclipart_collection`.

    Returns:
        A list of `ClipArt`.

    Raises:
        FileNotFoundError: As `openclipart_collection`.
        ValueError: For an unknown split or a bad `test_fraction`.

    Example:
    >>> [picture.caption for picture in kc.data.openclipart_captions("test[:3]")]
    """
    name, stop = parse_local_split(split, SPLITS)
    collection = openclipart_collection(path)
    pictures = collection.pictures
    if name != "all":
        train, test = holdout_split(len(pictures), test_fraction, labels=collection.labels, seed=seed)
        pictures = tuple(pictures[index] for index in (train if name == "train" else test))
    return list(pictures[:stop])


def openclipart_pairs(
    split: str = "train",
    image_size: int | tuple[int, int] = 64,
    with_labels: bool = False,
    test_fraction: float = 0.2,
    seed: int = 0,
    path: str | os.PathLike | None = None,
) -> tf.data.Dataset:
    """Openclipart's pictures and captions as a `tf.data.Dataset`, for image-text contrastive learning.

    Each PNG is read, decoded (transparency on white) and resized to
    `image_size` inside `tf.data` by `load_image`; only the paths and
    captions are held in memory. The elements follow the PNG paths' order,
    so categories come one after another: shuffle with a buffer as large as
    the set (`dataset.shuffle(len(dataset.captions))`). Debian's files give
    6,477 training and 1,620 held-out pairs in 22 classes (`test_fraction`
    0.2, seed 0). Decoding the full-size PNGs is the slow part (7 ms of CPU a
    picture on average; the 1,620 held-out ones took 20 s on a busy 2-core
    machine): keep the resized images after the first epoch with
    `dataset.cache()`.

    The result has the attributes `class_names` (the 22 categories, for
    zero-shot prompts), `captions` and `file_paths` (in its order) and
    `labels` (int64 class ids).

    Args:
        split: `"train"`, `"test"` or `"all"`, as in `openclipart_captions`.
        image_size: Output size, an int for a square or `(height, width)`.
        with_labels: Yield `(image, caption, label)` with an int64 class id.
        test_fraction: The share of each category held out as `"test"`.
        seed: Seed of which pictures are held out.
        path: A folder holding `png/` and `svg/`; else `/usr/share/openclipart`.

    Returns:
        A `tf.data.Dataset` of `(uint8 image (H, W, 3), string caption)`, or
        `(image, caption, int64 label)` with `with_labels`.

    Raises:
        As `openclipart_captions`; ValueError for a bad `image_size`.

    Example:
    >>> pairs = kc.data.openclipart_pairs("train", image_size=64)
    >>> image, caption = next(iter(pairs))
    """
    size = image_size_pair(image_size)
    pictures = openclipart_captions(split, test_fraction, seed, path)
    class_names = list(openclipart_collection(path).class_names)
    file_paths = [picture.path for picture in pictures]
    captions = [picture.caption for picture in pictures]
    labels = np.array([class_names.index(picture.category) for picture in pictures], np.int64)
    dataset = captioned_images(file_paths, captions, labels, class_names, lambda path: load_image(path, size),
                               with_labels)
    dataset.file_paths = file_paths
    return dataset
