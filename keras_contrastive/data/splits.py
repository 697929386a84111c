"""Validation of split strings."""

import re

_LOCAL_SPLIT = re.compile(r"(?P<name>\w+)(?:\[:(?P<stop>\d+)\])?")
_TFDS_SPLIT_SEPARATOR = re.compile(r"\s*\+\s*")


def parse_local_split(
    split: str, valid_splits: tuple[str, ...]
) -> tuple[str, int | None]:
    """Parses a split of a locally stored dataset: `"train"` or `"train[:N]"`.

    Args:
        split: The split string.
        valid_splits: The split names of the dataset.

    Returns:
        A tuple `(name, stop)`: the split name and the number of leading
        examples to keep, or `None` to keep all of them.

    Raises:
        ValueError: If the split is not one of `valid_splits`, optionally
            followed by `[:N]` with a non-negative integer `N`.

    Example:

    >>> parse_local_split("train[:1000]", ("train", "test"))
    ('train', 1000)
    """
    match = _LOCAL_SPLIT.fullmatch(split)
    if match is None or match["name"] not in valid_splits:
        raise ValueError(
            f"Unknown split {split!r}. Valid splits: {', '.join(valid_splits)}"
            f", each optionally limited to its first N examples, e.g. "
            f"'{valid_splits[0]}[:1000]'."
        )
    stop = match["stop"]
    return match["name"], None if stop is None else int(stop)


def check_tfds_split(split: str, valid_splits: tuple[str, ...]) -> None:
    """Checks the split names in a TFDS split string such as `"train[:10%]"`.

    Only the names are checked (before TFDS tries a download); slicing
    syntax is left to TFDS. TFDS's `"all"` is accepted too.

    Args:
        split: The TFDS split string, possibly joined with `+`.
        valid_splits: The split names of the dataset.

    Raises:
        ValueError: If a name is not one of `valid_splits` or `"all"`.

    Example:

    >>> check_tfds_split("train[:10%]+test", ("train", "test"))
    """
    for part in _TFDS_SPLIT_SEPARATOR.split(split.strip()):
        name = part.split("[", 1)[0]
        if name not in (*valid_splits, "all"):
            raise ValueError(
                f"Unknown split {name!r} in {split!r}. Valid splits: "
                f"{', '.join(valid_splits)} (or 'all'), optionally sliced "
                "as in 'train[:10%]' and joined with '+'."
            )
