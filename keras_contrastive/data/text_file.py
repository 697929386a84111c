"""`text_file`: a user's own texts, one per line, or given pairs separated by tabs."""

from __future__ import annotations

import os
from pathlib import Path

import tensorflow as tf


def text_file(path: str | os.PathLike) -> tf.data.Dataset:
    """The non-empty lines of a UTF-8 text file: sentences, or pairs when the lines hold tabs.

    - A line without a tab is one text (a sentence, a paragraph): the file is
      a dataset of strings, for unsupervised SimCSE or text views.
    - Lines of `anchor<TAB>positive` or `anchor<TAB>positive<TAB>hard negative`
      are given pairs: the file is a dataset of 2- or 3-tuples of strings,
      for `make_pairs` and supervised SimCSE. Every line must then have the
      same number of fields.

    Args:
        path: The file.

    Returns:
        A `tf.data.Dataset` of strings or of tuples of strings, of known size.

    Raises:
        FileNotFoundError: if there is no such file.
        ValueError: for a file that is not UTF-8, holds no text, or mixes
            lines of different numbers of fields (naming the first such line).

    Example:
    >>> sentences = kc.data.text_file("my_corpus.txt")
    >>> pairs = kc.data.text_file("questions_and_answers.tsv")    # (question, answer)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No text file at {path}: expected a UTF-8 file of one text (or tab-separated pair) per line.")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise ValueError(f"{path} is not UTF-8 text (line {line} is not); save it as UTF-8.") from None
    rows = [(number, line.split("\t")) for number, line in enumerate(lines, start=1) if line.strip()]
    if not rows:
        raise ValueError(f"{path} holds no text: expected one text (or tab-separated pair) per line.")
    fields = len(rows[0][1])
    if fields > 3:
        raise ValueError(
            f"{path} line {rows[0][0]} has {fields} tab-separated fields; expected a text, or anchor<TAB>positive "
            "with an optional third field, the hard negative."
        )
    for number, parts in rows:
        if len(parts) != fields:
            raise ValueError(
                f"{path} line {number} has {len(parts)} tab-separated field(s), line {rows[0][0]} has {fields}: "
                "every line must be a single text, or every line a pair (and hard negative)."
            )
    if fields == 1:
        return tf.data.Dataset.from_tensor_slices([parts[0].strip() for _, parts in rows])
    columns = tuple([parts[i].strip() for _, parts in rows] for i in range(fields))
    return tf.data.Dataset.from_tensor_slices(columns)
