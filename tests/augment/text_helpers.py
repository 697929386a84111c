"""Strings whose words name their positions, so a view can be read back as the indices it kept."""

import numpy as np


def numbered(rng: np.random.Generator, count: int, low: int = 1, high: int = 15) -> tuple[list[str], np.ndarray]:
    """`count` strings "w0 w1 ... w{n-1}" of `low` to `high` words, and their word counts."""
    lengths = rng.integers(low, high + 1, size=count)
    return [" ".join(f"w{i}" for i in range(n)) for n in lengths], lengths


def kept_indices(views) -> list[list[int]]:
    """The word indices each view kept, in the order it kept them."""
    return [[int(word[1:]) for word in view.decode().split()] for view in np.asarray(views)]
