"""A user's own image-caption pairs: a folder of images and a CSV or JSON-lines file of their captions.

Two formats of the captions file are read, told apart by its extension:

- CSV (`.csv`, UTF-8, a byte-order mark allowed): a header line naming the
  columns, among them `file` and `caption` (any case; other columns are
  ignored), then one row per pair; quote a caption holding commas or line
  breaks, as spreadsheets do::

      file,caption
      cats/tabby.jpg,"A tabby cat asleep on a sofa, in the sun"
      dog.png,A dog catching a ball

- JSON lines (`.jsonl` or `.ndjson`, UTF-8): one JSON object per line with
  the string keys `"file"` and `"caption"` (other keys are ignored); blank
  lines are skipped::

      {"file": "cats/tabby.jpg", "caption": "A tabby cat asleep on a sofa"}

A `file` is a path relative to the image folder (or absolute), of an image
`decode_image` reads (`IMAGE_EXTENSIONS`). An image may have several
captions, one row each. Captions are stripped of surrounding whitespace and
must not be empty.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_contrastive.data.decode import IMAGE_EXTENSIONS
from keras_contrastive.data.files import from_files
from keras_contrastive.data.holdout import holdout_split
from keras_contrastive.data.splits import parse_local_split

#: The captions file formats, by extension (matched case-insensitively).
CAPTION_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
SPLITS = ("train", "test", "all")
COLUMNS = ("file", "caption")
# Missing image files named in the error before "and N more".
_SHOWN_MISSING = 5


def _csv_rows(file_path: Path):
    """`(line, file, caption)` per CSV row; the line is where the row starts."""
    with open(file_path, encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{file_path} is empty: expected a header line naming the columns file and caption.")
        names = [name.strip().lower() for name in header]
        missing = [column for column in COLUMNS if column not in names]
        if missing:
            raise ValueError(
                f"{file_path}, line 1: the header has no {' or '.join(repr(column) for column in missing)} column "
                f"(it has {', '.join(repr(name) for name in header)}). The first line must name the columns, "
                "e.g. 'file,caption'."
            )
        file_column, caption_column = names.index("file"), names.index("caption")
        previous_end = reader.line_num
        for row in reader:
            line, previous_end = previous_end + 1, reader.line_num
            if not row:
                continue
            if len(row) <= max(file_column, caption_column):
                raise ValueError(
                    f"{file_path}, line {line}: the row has {len(row)} field(s), too few for the "
                    f"{'file' if len(row) <= file_column else 'caption'} column "
                    f"(column {max(file_column, caption_column) + 1})."
                )
            yield line, row[file_column], row[caption_column]


def _jsonl_rows(file_path: Path):
    """`(line, file, caption)` per JSON-lines object."""
    with open(file_path, encoding="utf-8-sig") as text:
        for line, content in enumerate(text, 1):
            if not content.strip():
                continue
            try:
                record = json.loads(content)
            except json.JSONDecodeError as error:
                raise ValueError(f"{file_path}, line {line}: not valid JSON ({error.msg}).") from None
            if not isinstance(record, dict):
                raise ValueError(f"{file_path}, line {line}: expected a JSON object "
                                 f'{{"file": ..., "caption": ...}}, got {type(record).__name__}.')
            for key in COLUMNS:
                if key not in record:
                    raise ValueError(f"{file_path}, line {line}: no {key!r} key (it has "
                                     f"{', '.join(repr(name) for name in record) or 'none'}).")
                if not isinstance(record[key], str):
                    raise ValueError(f"{file_path}, line {line}: the {key!r} must be a string, got {record[key]!r}.")
            yield line, record["file"], record["caption"]


def read_captions(
    captions_file: str | os.PathLike, image_directory: str | os.PathLike | None = None
) -> list[tuple[str, str]]:
    """The `(image path, caption)` pairs of a captions file, checked: every image exists, every caption is text.

    Args:
        captions_file: A `.csv` file (header with `file` and `caption`
            columns) or a `.jsonl` / `.ndjson` file (`{"file": ..., "caption":
            ...}` per line); see the module's description.
        image_directory: The folder the `file`s are relative to; else the
            captions file's folder.

    Returns:
        The pairs in the file's order, each path joined to `image_directory`.

    Raises:
        FileNotFoundError: If the captions file or the image folder is
            missing, or some image files are (the message gives their
            count and the first ones, each with its line).
        ValueError: For an unknown extension of the captions file; a
            missing column or key, invalid JSON, an empty file name or
            caption, or a file that is no image by its extension (the
            message names the captions file and line); or no pairs.

    Example:
    >>> kc.data.read_captions("captions.csv", "pictures/")[0]
    ('pictures/cats/tabby.jpg', 'A tabby cat asleep on a sofa, in the sun')
    """
    file_path = Path(captions_file)
    kind = CAPTION_FORMATS.get(file_path.suffix.lower())
    if kind is None:
        raise ValueError(
            f"{file_path}: unknown captions file extension {file_path.suffix or '(none)'!r}. Give a .csv file (a "
            "header line with the columns file and caption) or a .jsonl / .ndjson file (one "
            '{"file": ..., "caption": ...} per line).'
        )
    if not file_path.is_file():
        raise FileNotFoundError(f"No captions file {file_path}.")
    directory = file_path.parent if image_directory is None else Path(image_directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"The image folder {directory} of {file_path} is not a folder.")
    pairs, missing = [], []
    for line, name, caption in (_csv_rows if kind == "csv" else _jsonl_rows)(file_path):
        name, caption = name.strip(), caption.strip()
        if not name:
            raise ValueError(f"{file_path}, line {line}: the file is empty.")
        if not caption:
            raise ValueError(f"{file_path}, line {line}: the caption of {name!r} is empty.")
        if not name.lower().endswith(IMAGE_EXTENSIONS):
            raise ValueError(f"{file_path}, line {line}: {name!r} is not an image file by its extension; "
                             f"expected one of {', '.join(IMAGE_EXTENSIONS)}.")
        image_path = os.path.join(directory, name)
        if not os.path.isfile(image_path):
            missing.append(f"line {line}: {image_path}")
        pairs.append((image_path, caption))
    if missing:
        more = f" and {len(missing) - _SHOWN_MISSING} more" if len(missing) > _SHOWN_MISSING else ""
        raise FileNotFoundError(
            f"{file_path}: {len(missing)} image file(s) not found in {directory}: "
            f"{'; '.join(missing[:_SHOWN_MISSING])}{more}."
        )
    if not pairs:
        raise ValueError(f"{file_path} holds no captions, only {'its header' if kind == 'csv' else 'blank lines'}.")
    return pairs


def caption_pairs(
    captions_file: str | os.PathLike,
    image_directory: str | os.PathLike | None = None,
    image_size: int | tuple[int, int] = 64,
    split: str = "all",
    test_fraction: float = 0.2,
    seed: int = 0,
    cache: str | None = None,
    verbose: bool = True,
) -> tf.data.Dataset:
    """A user's own images and captions as a `tf.data.Dataset` of `(image, caption)` pairs.

    The pairs are read and checked by `read_captions`; the images are then
    decoded and resized by `from_files` (any format and mode, transparency on
    white), whose validation pass leaves out the files that fail to decode,
    with one warning. The held-out split is by image: all captions of an
    image fall on the same side.

    The result has the attributes `captions` and `file_paths` (in its order,
    an image once per caption) and `skipped_files` (the undecodable ones).

    Args:
        captions_file: The `.csv` or `.jsonl` / `.ndjson` captions file (see
            `read_captions`).
        image_directory: The folder the files are relative to; else the
            captions file's folder.
        image_size: Output size, an int for a square or `(height, width)`.
        split: `"all"`, or `"train"` / `"test"`: the images of
            `holdout_split` (`test_fraction` of the distinct images held out,
            by `seed`); each optionally `"train[:N]"` for its first N pairs.
        test_fraction: The share of images held out as `"test"`.
        seed: Seed of which images are held out.
        cache: As in `from_files`: None, `"memory"` or a file path prefix.
        verbose: Show the validation pass's progress bar.

    Returns:
        A `tf.data.Dataset` of `(uint8 image (H, W, 3), string caption)`, in
        the captions file's order.

    Raises:
        As `read_captions`; ValueError for an unknown split, a bad
        `image_size`, or when no image can be decoded.

    Example:
    >>> pairs = kc.data.caption_pairs("pictures/captions.csv", image_size=64)
    >>> image, caption = next(iter(pairs))
    """
    name, stop = parse_local_split(split, SPLITS)
    pairs = read_captions(captions_file, image_directory)
    if name != "all":
        files, image_of_pair = np.unique([path for path, _ in pairs], return_inverse=True)
        train, test = holdout_split(len(files), test_fraction, seed=seed)
        chosen = set((train if name == "train" else test).tolist())
        pairs = [pair for pair, image in zip(pairs, image_of_pair) if image in chosen]
    pairs = pairs[:stop]
    if not pairs:
        raise ValueError(f"split={split!r} of {captions_file} holds no pairs.")
    paths, captions = [path for path, _ in pairs], [caption for _, caption in pairs]
    images = from_files(paths, image_size, labels=np.arange(len(pairs)), cache=cache, verbose=verbose)
    skipped = set(images.skipped_files)  # a file is skipped at every row it is on
    kept = [index for index, path in enumerate(paths) if path not in skipped]
    table = tf.constant(captions, tf.string, shape=[len(captions)])

    def with_caption(image, index):
        return image, tf.gather(table, index)

    dataset = images.map(with_caption, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    dataset.captions = [captions[index] for index in kept]
    dataset.file_paths = [paths[index] for index in kept]
    dataset.skipped_files = images.skipped_files
    return dataset

