"""`load_pairs`: the image-caption sets by name, as `tf.data` sets of `(image, caption)` (and labels)."""

from __future__ import annotations

import dataclasses
from typing import Callable

import tensorflow as tf

from keras_contrastive.data.loader_options import check_loader_options

from keras_contrastive.data.emoji import DEFAULT_EMOJI_TEST, DEFAULT_FONT, EMOJI_GROUPS, emoji_pairs
from keras_contrastive.data.emoji import SPLITS as EMOJI_SPLITS
from keras_contrastive.data.openclipart_pairs import DEFAULT_DIR as OPENCLIPART_DIR
from keras_contrastive.data.openclipart_pairs import SPLITS as OPENCLIPART_SPLITS
from keras_contrastive.data.openclipart_pairs import openclipart_collection, openclipart_pairs


@dataclasses.dataclass(frozen=True)
class PairDatasetInfo:
    """What an image-caption set of `load_pairs` holds and where it is read from.

    Args:
        splits: The split names it accepts.
        num_classes: The number of classes of its labels (`with_labels=True`).
        elements: What a caption and a label are.
        source: Where it is read from, and what installs it.
    """

    splits: tuple[str, ...]
    num_classes: int
    elements: str
    source: str


PAIR_DATASETS: dict[str, PairDatasetInfo] = {
    "openclipart": PairDatasetInfo(
        splits=OPENCLIPART_SPLITS,
        num_classes=22,
        elements="clip art; caption: its SVG's title, description and keywords; label: its top-level category",
        source=f"{OPENCLIPART_DIR}/png and /svg (apt-get install openclipart-png openclipart-svg)",
    ),
    "emoji": PairDatasetInfo(
        splits=EMOJI_SPLITS,
        num_classes=len(EMOJI_GROUPS),
        elements="an emoji's picture; caption: its Unicode name; label: its emoji-test.txt group",
        source=(f"{DEFAULT_FONT} (apt-get install fonts-noto-color-emoji) and {DEFAULT_EMOJI_TEST} "
                "(apt-get install unicode-data), read with fontTools (pip install keras-contrastive[pairs])"),
    ),
}

_LOADERS: dict[str, Callable[..., tf.data.Dataset]] = {"openclipart": openclipart_pairs, "emoji": emoji_pairs}


def _openclipart_class_names(path=None) -> list[str]:
    return list(openclipart_collection(path).class_names)


def _emoji_class_names() -> list[str]:
    return list(EMOJI_GROUPS)


_CLASS_NAMES: dict[str, Callable[..., list[str]]] = {
    "openclipart": _openclipart_class_names, "emoji": _emoji_class_names,
}


def _check(name: str, function: Callable, options: dict, caller: str, fixed: tuple[str, ...] = ()) -> None:
    """ValueError for an unknown name, TypeError for an option `function` does not take."""
    if name not in PAIR_DATASETS:
        raise ValueError(
            f"Unknown image-caption dataset {name!r}. Known ones: {', '.join(sorted(PAIR_DATASETS))}. For your own "
            "images and captions, use kc.data.caption_pairs(captions_file, image_directory)."
        )
    check_loader_options(function, options, caller, name, fixed)


def load_pairs(
    name: str,
    split: str = "train",
    image_size: int | tuple[int, int] = 64,
    with_labels: bool = False,
    **options,
) -> tf.data.Dataset:
    """Loads an image-caption set split as a `tf.data.Dataset`, from local files only (no download).

    | name | loader | pairs (train / test) | classes |
    | --- | --- | --- | --- |
    | `"openclipart"` | `openclipart_pairs` | 6,477 / 1,620 | 22 top-level categories |
    | `"emoji"` | `emoji_pairs` | 2,923 / 732 | 9 emoji groups |

    The `"test"` split holds out a fixed 20% of each class (`holdout_split`,
    seed 0), so zero-shot classification by `class_names` and retrieval can
    be measured on pairs never trained on. The result has the attributes
    `class_names` (for zero-shot prompts, also `pair_class_names(name)`),
    `captions` and `labels`, in its order (class by class: shuffle with a
    buffer as large as the set).

    For a folder of your own images and a captions file, use
    `kc.data.caption_pairs(captions_file, image_directory, image_size)`.

    Args:
        name: One of `PAIR_DATASETS`.
        split: `"train"`, `"test"` or `"all"`, optionally `"train[:N]"`.
        image_size: Output size, an int for a square or `(height, width)`.
        with_labels: Yield `(image, caption, label)` with an int64 class id.
        **options: Keyword arguments of the loader: `test_fraction=`,
            `seed=`, and `path=` for `"openclipart"`; `skin_tones=False`,
            `font_path=` and `emoji_test_path=` for `"emoji"`.

    Returns:
        A `tf.data.Dataset` of `(uint8 image (H, W, 3), string caption)`, or
        `(image, caption, int64 label)` with `with_labels`.

    Raises:
        ValueError: For an unknown name or split; the message lists the
            known ones.
        TypeError: For an option the loader does not take; the message
            lists the ones it does.
        FileNotFoundError: If the set's files are missing; the message
            says which `apt-get install` puts them there.
        ImportError: For `"emoji"` without fontTools
            (`pip install keras-contrastive[pairs]`).

    Example:
    >>> pairs = kc.data.load_pairs("emoji", "train", image_size=32)
    >>> test = kc.data.load_pairs("openclipart", "test", with_labels=True)
    >>> prompts = [f"a picture of {name}" for name in test.class_names]
    """
    _check(name, _LOADERS.get(name, load_pairs), options, "load_pairs",
           fixed=("split", "image_size", "with_labels"))
    return _LOADERS[name](split=split, image_size=image_size, with_labels=with_labels, **options)


def pair_class_names(name: str, **options) -> list[str]:
    """The class names of an image-caption set: its labels' names, in id order, for zero-shot prompts.

    Args:
        name: One of `PAIR_DATASETS`.
        **options: `path=` for `"openclipart"` (a folder of `png/` and `svg/`).

    Returns:
        `"openclipart"`: its 22 top-level folders, sorted, underscores as
        spaces (`"signs and symbols"`); `"emoji"`: `EMOJI_GROUPS`.

    Raises:
        ValueError: For an unknown name.
        TypeError: For an option it does not take.
        FileNotFoundError: Without openclipart's files.

    Example:
    >>> kc.data.pair_class_names("emoji")[:2]
    ['Smileys & Emotion', 'People & Body']
    """
    _check(name, _CLASS_NAMES.get(name, pair_class_names), options, "pair_class_names")
    return _CLASS_NAMES[name](**options)
