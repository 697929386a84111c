"""Word-similarity benchmarks, SimLex-999 and WordSim-353, from the copies gensim's wheel ships."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import tensorflow as tf

from keras_contrastive.data.splits import parse_local_split
from keras_contrastive.validation import check_choice

#: The benchmarks and their file in `gensim/test/test_data`.
BENCHMARKS = {"simlex999": "simlex999.txt", "wordsim353": "wordsim353.tsv"}
SPLITS = ("test", "all")


def benchmark_path(name: str) -> Path:
    """Where gensim's wheel keeps a benchmark's file, found without importing gensim (slow).

    Args:
        name: `"simlex999"` or `"wordsim353"`.

    Returns:
        The path of the file.

    Raises:
        ValueError: For an unknown name.
        ImportError: If gensim is not installed (`pip install gensim`).
        FileNotFoundError: If the installed gensim lacks the file.
    """
    check_choice(name, "name", tuple(BENCHMARKS))
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"The {name} word pairs are read from the copy gensim's wheel ships, and gensim is not installed: "
            "pip install gensim (or keras-contrastive[text]); or pass path= the file."
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "test" / "test_data" / BENCHMARKS[name]
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"gensim is installed in {', '.join(spec.submodule_search_locations)} but without "
        f"test/test_data/{BENCHMARKS[name]}; reinstall it from its wheel (pip install --force-reinstall gensim) "
        "or pass path= the file."
    )


def read_word_pairs(file_path: str | os.PathLike) -> list[tuple[str, str, float]]:
    """The `(word_a, word_b, score)` rows of a tab-separated word-similarity file.

    Lines starting with `#` and blank lines are skipped. A header row (one
    whose third field is not a number) is allowed; the score is then taken
    from its `SimLex999` column when it has one (the original SimLex-999
    file), else from the third column.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: For a row without two words and a numeric score; the
            message names the file and line.
    """
    file_path = Path(file_path)
    if not file_path.is_file():
        raise FileNotFoundError(
            f"No word-similarity file at {file_path}: expected tab-separated 'word1, word2, score' rows "
            "(gensim's wheel ships simlex999.txt and wordsim353.tsv: pip install gensim)."
        )
    rows, column = [], 2
    with open(file_path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.rstrip("\r\n").split("\t")
            if not rows and column == 2 and len(fields) >= 3 and not _is_number(fields[2]):
                column = fields.index("SimLex999") if "SimLex999" in fields else 2
                continue
            if len(fields) <= column or not _is_number(fields[column]) or not fields[0] or not fields[1]:
                raise ValueError(
                    f"{file_path}, line {number}: expected two words and a score separated by tabs, got {line!r}."
                )
            rows.append((fields[0], fields[1], float(fields[column])))
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def word_similarity(
    name: str, split: str = "test", path: str | os.PathLike | None = None
) -> tf.data.Dataset:
    """A word-similarity benchmark: word pairs with a human similarity score.

    Rank correlation (Spearman) between an encoder's cosine similarities of
    the two words and the scores measures how well it places words.
    SimLex-999 scores similarity proper (synonyms high, merely related words
    low) on 999 pairs; WordSim-353 scores relatedness on 353. Both are on a
    0-10 scale. They are evaluation sets only: the one split is `"test"`
    (`"all"` is the same).

    Args:
        name: `"simlex999"` or `"wordsim353"`.
        split: `"test"` or `"all"`, optionally `"test[:N]"` for the first N pairs.
        path: The tab-separated file; else the copy in gensim's wheel
            (`gensim/test/test_data`), found without importing gensim.

    Returns:
        A `tf.data.Dataset` of `(word_a, word_b, score)`: two scalar
        `tf.string` and a scalar `float32`, in the file's order.

    Raises:
        ValueError: For an unknown name or split, or a malformed file.
        ImportError: Without gensim and without `path` (`pip install gensim`).
        FileNotFoundError: If the file is missing.

    Example:
    >>> pairs = kc.data.word_similarity("simlex999")
    >>> next(iter(pairs))  # (b'old', b'new', 1.58)
    """
    check_choice(name, "name", tuple(BENCHMARKS))
    try:
        _, stop = parse_local_split(split, SPLITS)
    except ValueError as error:
        raise ValueError(f"{name} is an evaluation set with no training part. {error}") from None
    rows = read_word_pairs(benchmark_path(name) if path is None else path)[:stop]
    return tf.data.Dataset.from_tensor_slices((
        tf.constant([row[0] for row in rows], tf.string, shape=[len(rows)]),
        tf.constant([row[1] for row in rows], tf.string, shape=[len(rows)]),
        tf.constant([row[2] for row in rows], tf.float32, shape=[len(rows)]),
    ))
