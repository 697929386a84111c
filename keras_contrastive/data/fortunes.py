"""The quotations of the `fortune` program (Debian's `fortunes` package), one string each."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_contrastive.data.holdout import holdout_split
from keras_contrastive.data.splits import parse_local_split

DEFAULT_DIR = "/usr/share/games/fortunes"
SPLITS = ("train", "test", "all")
# Files beside the quotations: strfile's index (.dat) and the UTF-8 aliases (.u8, symbolic links).
_INDEX_SUFFIXES = (".dat", ".u8")
# A character struck over by the next one (old underlining and bold: "_\bA"), and other control characters.
_OVERSTRIKE = re.compile(r".\x08")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclasses.dataclass(frozen=True)
class Fortune:
    """One quotation.

    Args:
        category: The file it comes from, e.g. `"computers"`.
        text: The quotation on one line (see `clean_fortune`).
    """

    category: str
    text: str


def clean_fortune(text: str) -> str:
    """A quotation on one line: its lines joined by single spaces, overstrikes and control characters removed.

    Example:
    >>> clean_fortune("A quote\\n\\tover two lines.\\n\\t\\t-- Someone\\n")
    'A quote over two lines. -- Someone'
    """
    return " ".join(_CONTROL.sub("", _OVERSTRIKE.sub("", text)).split())


def fortune_files(path: str | os.PathLike | None = None) -> list[Path]:
    """The quotation files of a fortune directory, sorted.

    Args:
        path: The directory; else `/usr/share/games/fortunes`.

    Returns:
        Its regular files except the `.dat` indexes and `.u8` aliases;
        subdirectories (such as the offensive `off/`) are not read.

    Raises:
        FileNotFoundError: If there is none; the message says which Debian
            package installs them.
    """
    directory = Path(DEFAULT_DIR if path is None else path)
    files = sorted(
        entry for entry in directory.iterdir()
        if entry.is_file() and not entry.is_symlink() and not entry.name.endswith(_INDEX_SUFFIXES)
    ) if directory.is_dir() else []
    if not files:
        raise FileNotFoundError(
            f"No fortune files in {directory}. Install them with 'apt-get install fortunes' (they go to "
            f"{DEFAULT_DIR}), or pass path= a directory of fortune files (quotations separated by lines "
            "holding only '%')."
        )
    return files


def read_fortune_file(file_path: str | os.PathLike) -> list[str]:
    """The cleaned quotations of one fortune file, in its order, empty ones left out.

    Quotations are separated by lines holding only `%`. The file is read as
    UTF-8 (Debian's are), with undecodable bytes replaced.
    """
    quotes, lines = [], []
    with open(file_path, encoding="utf-8", errors="replace") as text:
        for line in [*text, "%"]:
            if line.rstrip("\r\n") == "%":
                quote = clean_fortune("\n".join(lines))
                if quote:
                    quotes.append(quote)
                lines = []
            else:
                lines.append(line)
    return quotes


@functools.lru_cache(maxsize=4)
def _read(directory: str | None) -> tuple[Fortune, ...]:
    """Every distinct quotation of a directory, its first occurrence kept, read once per process."""
    seen, fortunes = set(), []
    for file_path in fortune_files(directory):
        for quote in read_fortune_file(file_path):
            if quote not in seen:
                seen.add(quote)
                fortunes.append(Fortune(category=file_path.name, text=quote))
    return tuple(fortunes)


def fortune_quotes(
    path: str | os.PathLike | None = None,
    split: str = "all",
    test_fraction: float = 0.1,
    seed: int = 0,
) -> list[Fortune]:
    """The quotations of a fortune directory, with their categories.

    A quotation in several files is kept once (its first file, in sorted
    order), so that no quotation is in both parts of the split.

    Args:
        path: The directory; else `/usr/share/games/fortunes` (Debian's `fortunes`).
        split: `"all"`, or `"train"` / `"test"`: the two parts of
            `holdout_split`, stratified by category; each optionally
            `"train[:N]"` for its first N quotations.
        test_fraction: The share held out as `"test"`.
        seed: Seed of which quotations are held out.

    Returns:
        A list of `Fortune`, file by file (sorted) in each file's order.

    Raises:
        FileNotFoundError: Without fortune files (`apt-get install fortunes`).
        ValueError: For an unknown split or a bad `test_fraction`.
    """
    name, stop = parse_local_split(split, SPLITS)
    fortunes = _read(None if path is None else os.fspath(path))
    if name != "all":
        categories = np.unique([fortune.category for fortune in fortunes], return_inverse=True)[1]
        train, test = holdout_split(len(fortunes), test_fraction, labels=categories, seed=seed)
        fortunes = [fortunes[index] for index in (train if name == "train" else test)]
    return list(fortunes[:stop])


def fortunes(
    split: str = "train",
    test_fraction: float = 0.1,
    seed: int = 0,
    path: str | os.PathLike | None = None,
) -> tf.data.Dataset:
    """The fortune quotations as a `tf.data.Dataset` of strings, e.g. for unsupervised text contrastive learning.

    Each quotation is one string: its lines joined by single spaces (an
    attribution line such as `-- Mark Twain` stays at its end), duplicates
    across files kept once. Debian's `fortunes` (1.99.1) gives 15,100 of them
    in 43 categories (13,592 train, 1,508 test); the offensive ones (`off/`)
    are not read. The `ascii-art` category's 11 pictures come out as a line of
    symbols.

    Args:
        split: `"train"`, `"test"` or `"all"`, as in `fortune_quotes`.
        test_fraction: The share held out as `"test"`.
        seed: Seed of which quotations are held out.
        path: A directory of fortune files; else `/usr/share/games/fortunes`.

    Returns:
        A `tf.data.Dataset` of scalar `tf.string` quotations.

    Raises:
        As `fortune_quotes`.

    Example:
    >>> quotes = kc.data.fortunes("train")
    >>> next(iter(quotes)).numpy().decode()
    """
    texts = [fortune.text for fortune in fortune_quotes(path, split, test_fraction, seed)]
    return tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string, shape=[len(texts)]))
