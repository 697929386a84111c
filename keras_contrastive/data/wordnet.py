"""WordNet 3.0 read from its own data files: glosses paired with words, and a gloss-to-word retrieval set.

The four files `data.noun`, `data.verb`, `data.adj` and `data.adv` (Debian's
`wordnet-base` puts them in `/usr/share/wordnet`) are parsed here directly,
without nltk. Each synset (a sense shared by one or more words) gives its
lemmas and its gloss: the definition, without the quoted usage examples.
"""

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
from keras_contrastive.validation import check_choice

DEFAULT_DIR = "/usr/share/wordnet"
#: The data file of each part of speech, in the order synsets are listed.
DATA_FILES = {"n": "data.noun", "v": "data.verb", "a": "data.adj", "r": "data.adv"}
SPLITS = ("train", "test", "all")
PAIRS = ("lemma", "synonym")

# An adjective's syntactic marker: attributive "(a)", predicative "(p)", postnominal "(ip)".
_ADJECTIVE_MARKER = re.compile(r"\((?:a|p|ip)\)$")
# Where the definition ends and the quoted examples begin.
_EXAMPLES = re.compile(r';\s*"')


@dataclasses.dataclass(frozen=True)
class Synset:
    """One WordNet synset: a sense and the words that express it.

    Args:
        pos: WordNet's synset type: `"n"` noun, `"v"` verb, `"a"` adjective,
            `"s"` adjective satellite (also in `data.adj`), `"r"` adverb.
        offset: The synset's byte offset in its data file, its id there
            (e.g. 2084071 for the noun "dog").
        lemmas: The words, in WordNet's order, with spaces for underscores
            and without adjective markers such as `"(p)"`.
        gloss: The definition, without the quoted usage examples.
    """

    pos: str
    offset: int
    lemmas: tuple[str, ...]
    gloss: str


@dataclasses.dataclass(frozen=True)
class ReverseDictionary:
    """A gloss-to-word retrieval set: find a definition's words among all words of the split.

    Args:
        queries: The glosses, one per synset of the split.
        candidates: The distinct lemmas of those synsets, sorted.
        answers: For each query, the sorted indices into `candidates` of its
            synset's lemmas; any of them is a correct answer (Recall@k counts a
            query as found when one of them ranks in the top k).
    """

    queries: list[str]
    candidates: list[str]
    answers: list[list[int]]


def clean_lemma(word: str) -> str:
    """A lemma as it is written: underscores as spaces, no adjective marker.

    Example:
    >>> clean_lemma("ready_to_hand(p)")
    'ready to hand'
    """
    return _ADJECTIVE_MARKER.sub("", word).replace("_", " ")


def parse_synset_line(line: str) -> Synset:
    """Parses one synset line of a WordNet data file.

    The line holds the offset, the lexicographer file number, the synset
    type, the word count (two hex digits), that many `word lex_id` pairs, the
    pointer count and pointers (and for verbs, frames), then `| gloss`.

    Args:
        line: The line, without the licence header's leading two spaces.

    Returns:
        The `Synset`.

    Raises:
        ValueError: If the line does not have that layout.

    Example:
    >>> parse_synset_line("02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 000 | a member of the genus Canis").lemmas
    ('dog', 'domestic dog', 'Canis familiaris')
    """
    fields_part, separator, gloss_part = line.partition(" | ")
    fields = fields_part.split()
    try:
        offset, pos, count = int(fields[0]), fields[2], int(fields[3], 16)
        words = fields[4:4 + 2 * count:2]
    except (IndexError, ValueError) as error:
        raise ValueError(f"Not a WordNet synset line ({error}): {line[:80]!r}") from None
    if not separator or len(words) != count or count == 0:
        raise ValueError(f"Not a WordNet synset line: {line[:80]!r}")
    lemmas = tuple(dict.fromkeys(clean_lemma(word) for word in words))
    definition = _EXAMPLES.split(gloss_part, maxsplit=1)[0].strip().rstrip(";").strip()
    return Synset(pos=pos, offset=offset, lemmas=lemmas, gloss=definition)


def wordnet_dir(path: str | os.PathLike | None = None) -> Path:
    """The directory holding WordNet's data files, checked.

    Args:
        path: An explicit directory; else `/usr/share/wordnet`.

    Returns:
        The directory.

    Raises:
        FileNotFoundError: If a data file is missing; the message names them
            and the Debian package that installs them.
    """
    directory = Path(DEFAULT_DIR if path is None else path)
    missing = [name for name in DATA_FILES.values() if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"WordNet's data files are not in {directory}: missing {', '.join(missing)}. "
            f"Install them with 'apt-get install wordnet-base' (they go to {DEFAULT_DIR}), or pass path= a "
            "directory holding data.noun, data.verb, data.adj and data.adv of WordNet 3.0."
        )
    return directory


@functools.lru_cache(maxsize=4)
def _parse(directory: str) -> tuple[Synset, ...]:
    """Every synset of the four data files, parsed once per process and directory."""
    synsets = []
    for name in DATA_FILES.values():
        file_path = Path(directory) / name
        with open(file_path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if line.startswith("  ") or not line.strip():
                    continue  # the licence header
                try:
                    synsets.append(parse_synset_line(line))
                except ValueError as error:
                    raise ValueError(f"{file_path}, line {number}: {error}") from None
    return tuple(synsets)


def _split_synsets(
    split: str, test_fraction: float, seed: int, path: str | os.PathLike | None
) -> list[Synset]:
    """The synsets of a split (all, or a seeded held-out part stratified by part of speech), sliced by `[:N]`."""
    name, stop = parse_local_split(split, SPLITS)
    synsets = _parse(str(wordnet_dir(path)))
    if name != "all":
        file_pos = np.array([list(DATA_FILES).index("a" if s.pos == "s" else s.pos) for s in synsets])
        train, test = holdout_split(len(synsets), test_fraction, labels=file_pos, seed=seed)
        synsets = [synsets[index] for index in (train if name == "train" else test)]
    return list(synsets[:stop])


def wordnet_synsets(
    path: str | os.PathLike | None = None,
    split: str = "all",
    test_fraction: float = 0.1,
    seed: int = 0,
) -> list[Synset]:
    """WordNet's synsets, parsed from its data files (cached in the process).

    Args:
        path: A directory holding `data.noun`, `data.verb`, `data.adj` and
            `data.adv`; else `/usr/share/wordnet` (Debian's `wordnet-base`).
        split: `"all"` (every synset, in file order: nouns, verbs,
            adjectives, adverbs), or `"train"` / `"test"`, the two parts of
            `holdout_split` over the synsets, stratified by part of speech;
            each optionally limited to its first N synsets, e.g. `"test[:100]"`.
        test_fraction: The share of synsets held out as `"test"`.
        seed: Seed of which synsets are held out.

    Returns:
        A list of `Synset`: 117,659 of them in WordNet 3.0.

    Raises:
        FileNotFoundError: If the data files are missing (`apt-get install wordnet-base`).
        ValueError: For an unknown split or a bad `test_fraction`.

    Example:
    >>> synsets = kc.data.wordnet_synsets()
    >>> next(s for s in synsets if s.lemmas[0] == "dog")
    Synset(pos='n', offset=2084071, lemmas=('dog', 'domestic dog', 'Canis familiaris'), gloss='a member of the genus Canis (probably descended from the common wolf) that has been domesticated by man since prehistoric times; occurs in many breeds')
    """
    return _split_synsets(split, test_fraction, seed, path)


def wordnet_pairs(
    split: str = "train",
    pairs: str = "lemma",
    test_fraction: float = 0.1,
    seed: int = 0,
    path: str | os.PathLike | None = None,
) -> tf.data.Dataset:
    """Positive text pairs from WordNet, for contrastive training of a text encoder.

    The split is by synset: a `"test"` synset, with its gloss and all its
    pairs, is never in `"train"` (its words may be, through their other
    senses). Which synsets are held out depends only on `seed`.

    Args:
        split: `"train"`, `"test"` or `"all"` (of synsets, as in
            `wordnet_synsets`), optionally `"train[:N]"` for the pairs of its
            first N synsets.
        pairs: `"lemma"`: `(gloss, lemma)` for each synset and each of its
            lemmas, a definition and a word it defines. `"synonym"`:
            `(lemma, other lemma)` for each two lemmas of one synset, each
            unordered pair once in WordNet's order (synsets with one lemma
            give none). Glosses of different synsets are never paired: two
            senses that share a word are not synonyms.
        test_fraction: The share of synsets held out as `"test"`.
        seed: Seed of which synsets are held out.
        path: The WordNet directory, as in `wordnet_synsets`.

    Returns:
        A `tf.data.Dataset` of `(text_a, text_b)` scalar `tf.string` pairs,
        synset by synset in file order.

    Raises:
        FileNotFoundError: If the data files are missing (`apt-get install wordnet-base`).
        ValueError: For an unknown split or `pairs`, or a bad `test_fraction`.

    Example:
    >>> dataset = kc.data.wordnet_pairs("train", pairs="lemma")
    >>> gloss, word = next(iter(dataset))
    """
    check_choice(pairs, "pairs", PAIRS)
    synsets = _split_synsets(split, test_fraction, seed, path)
    if pairs == "lemma":
        text_a = [synset.gloss for synset in synsets for _ in synset.lemmas]
        text_b = [lemma for synset in synsets for lemma in synset.lemmas]
    else:
        pairs_of = [
            (first, second)
            for synset in synsets
            for index, first in enumerate(synset.lemmas)
            for second in synset.lemmas[index + 1:]
        ]
        text_a = [first for first, _ in pairs_of]
        text_b = [second for _, second in pairs_of]
    return tf.data.Dataset.from_tensor_slices(
        (tf.constant(text_a, tf.string, shape=[len(text_a)]), tf.constant(text_b, tf.string, shape=[len(text_b)]))
    )


def wordnet_reverse_dictionary(
    split: str = "test",
    test_fraction: float = 0.1,
    seed: int = 0,
    path: str | os.PathLike | None = None,
) -> ReverseDictionary:
    """A reverse-dictionary task: find each gloss's words among all the split's words.

    Embed `queries` and `candidates` with the text encoder, rank the
    candidates of each query by similarity, and count a query as found at k
    when one of its `answers` is in the top k (Recall@k). With the default
    `split="test"` and the same `test_fraction` and `seed` as
    `wordnet_pairs`, no query was seen in training.

    Args:
        split: `"test"`, `"train"` or `"all"`, optionally `"test[:N]"` for its
            first N synsets.
        test_fraction: As in `wordnet_pairs`.
        seed: As in `wordnet_pairs`.
        path: The WordNet directory, as in `wordnet_synsets`.

    Returns:
        A `ReverseDictionary`: one query per synset, its candidates the
        distinct lemmas of those synsets.

    Raises:
        As `wordnet_pairs`.

    Example:
    >>> task = kc.data.wordnet_reverse_dictionary()
    >>> [task.candidates[i] for i in task.answers[0]]  # the words of task.queries[0]
    """
    synsets = _split_synsets(split, test_fraction, seed, path)
    candidates = sorted({lemma for synset in synsets for lemma in synset.lemmas})
    position = {lemma: index for index, lemma in enumerate(candidates)}
    return ReverseDictionary(
        queries=[synset.gloss for synset in synsets],
        candidates=candidates,
        answers=[sorted(position[lemma] for lemma in synset.lemmas) for synset in synsets],
    )
