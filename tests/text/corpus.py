"""A small random corpus for the text tests: sentences over a fixed list of words."""

import numpy as np

#: 180 distinct lower-case words.
WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ro", "su", "ti", "vo") for b in
         ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "z", "ch", "sh", "th", "ng", "rk")]

#: Strings every text encoder must embed: empty, blank, 10,000 words, non-ASCII, punctuation only.
EDGE_STRINGS = ["", "   ", " ".join(["kab"] * 10_000), "Ünïcödé 日本語 🙂", "?!.,"]


def sentences(rng: np.random.Generator, count: int, low: int = 3, high: int = 12) -> list[str]:
    """`count` sentences of `low` to `high` words drawn from WORDS (Zipf-like: early words commoner)."""
    weights = 1.0 / np.arange(1, len(WORDS) + 1)
    weights /= weights.sum()
    return [" ".join(rng.choice(WORDS, size=rng.integers(low, high + 1), p=weights)) for _ in range(count)]
